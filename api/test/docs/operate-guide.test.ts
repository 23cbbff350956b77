import { describe, expect, test } from 'bun:test'
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { EnvSchema } from '../../src/config'
import { createHarness } from '../helpers'

const ROOT = path.resolve(import.meta.dir, '../../..')
const guide = () => readFileSync(path.join(ROOT, 'docs/operate.md'), 'utf8')

describe('docs/operate.md', () => {
  test('documents every environment variable the service reads', () => {
    const text = guide()
    expect(Object.keys(EnvSchema.shape).filter((v) => !text.includes(`\`${v}\``))).toEqual([])
  })

  test('names every metric GET /metrics exposes', async () => {
    const h = await createHarness()
    try {
      const r = await h.get('/metrics')
      const names = [...r.text.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]!)
      expect(names).toContain('notify_outbox_depth')
      const text = guide()
      expect(names.filter((n) => !text.includes(`\`${n}`))).toEqual([])
    } finally {
      await h.close()
    }
  }, 30_000)
})
