import { describe, expect, test } from 'bun:test'
import path from 'node:path'
import { createSql } from '../../src/platform/db/client'
import { createHarness, freePort } from '../helpers'

const _ROOT = path.resolve(import.meta.dir, '../../..')

describe('database down', () => {
  test('a request while PostgreSQL is unreachable is a quick 503 with the error shape', async () => {
    const h = await createHarness()
    const services = h.services
    // Point a second app at a port where nothing listens.
    const { createApp } = await import('../../src/app')
    const { createServices } = await import('../../src/wiring')
    const dead = createSql(`postgres://u:p@127.0.0.1:${freePort()}/x`, { max: 1 })
    const app = createApp(
      createServices({
        config: h.config,
        sql: dead,
        client: services.client,
        cipher: { currentKeyId: 'none', encrypt: (s) => s, decrypt: (s) => s, sign: (s) => s },
        log: services.log,
      }),
    )
    try {
      const started = Date.now()
      const health = await app.handle(new Request('http://localhost/health'))
      expect(health.status).toBe(503)
      const r = await app.handle(new Request('http://localhost/shops/1/telegram/status'))
      expect(r.status).toBe(503)
      expect(await r.json()).toEqual({ error: 'database_unavailable', message: expect.any(String) })
      expect(Date.now() - started).toBeLessThan(5000)
    } finally {
      await dead.end({ timeout: 0 })
      await h.close()
    }
  })
})
