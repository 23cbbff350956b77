import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from 'bun:test'
import { randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { Webhook } from 'standardwebhooks'
import { launchToken } from '../../../docs/examples/launch-token'
import { type PlatformEvent, webhookHandler } from '../../../docs/examples/webhook-receiver'
import { createHarness, type Harness } from '../helpers'

/** Real HTTP and a real database on a shared 2-core machine: 5 s is too short under load. */
setDefaultTimeout(30_000)

/**
 * docs/integrate.md shows the programs of docs/examples/ verbatim, and the TypeScript ones work: the
 * launch token opens an owner session on the real service, the receiver accepts what the Standard
 * Webhooks reference signer signs and nothing else. (PHP and Go: `bun docs/examples/check.ts`.)
 */
const ROOT = path.resolve(import.meta.dir, '../../..')
const EXAMPLES = ['launch-token.ts', 'launch-token.php', 'launch-token.go', 'webhook-receiver.ts', 'webhook-receiver.php', 'webhook-receiver.go']
const SECRET = randomBytes(32).toString('base64url')

describe('docs/integrate.md', () => {
  test('shows every example program exactly as it is in docs/examples/', () => {
    const guide = readFileSync(path.join(ROOT, 'docs/integrate.md'), 'utf8')
    const blocks = [...guide.matchAll(/```\w*\n([\s\S]*?)\n```/g)].map((m) => m[1])
    for (const name of EXAMPLES) expect(blocks, name).toContain(readFileSync(path.join(ROOT, 'docs/examples', name), 'utf8').trimEnd())
  })
})

describe('the TypeScript launch token example', () => {
  let h: Harness
  beforeAll(async () => {
    h = await createHarness({ env: { ADMIN_TOKEN: 'a'.repeat(32), PLATFORM_SECRET: SECRET } })
  }, 30_000)
  afterAll(() => h.close(), 30_000)

  test('opens an owner session for its shop, once, with the platform user in the audit trail', async () => {
    const token = await launchToken(SECRET, 1, { id: '17', name: 'Ольга' })
    const r = await h.post('/session', { launch: token })
    expect(r.status).toBe(201)
    expect(r.json.shopId).toBe(1)
    const [row] = await h.sql<{ subject: string; subject_name: string }[]>`select subject, subject_name from owner_sessions order by id desc limit 1`
    expect(row).toEqual({ subject: '17', subject_name: 'Ольга' })
    expect((await h.post('/session', { launch: token })).json.error).toBe('launch_reused')
    expect((await h.post('/session', { launch: await launchToken('w'.repeat(40), 1) })).status).toBe(401)
  })
})

describe('the TypeScript webhook receiver example', () => {
  const secret = `whsec_${randomBytes(24).toString('base64')}`
  const delivery = (id: string, body: string, opts: { key?: string; at?: Date } = {}) => {
    const at = opts.at ?? new Date()
    return new Request('http://receiver.test/webhooks', {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'webhook-id': id,
        'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
        'webhook-signature': new Webhook(opts.key ?? secret).sign(id, at, body),
      },
      body,
    })
  }
  const event = (id: string): PlatformEvent => ({
    id,
    type: 'order.status_changed',
    occurredAt: new Date().toISOString(),
    shopId: 1,
    data: { shopId: 1, orderId: 7, sequence: 2 },
  })

  test('handles a signed delivery once, even when it is retried with the same webhook-id', async () => {
    const got: PlatformEvent[] = []
    const handle = webhookHandler(secret, (e) => void got.push(e))
    const body = JSON.stringify(event('77'))
    expect((await handle(delivery('77', body))).status).toBe(204)
    expect((await handle(delivery('77', body))).status).toBe(204)
    expect(got.map((e) => e.id)).toEqual(['77'])
  })

  test('refuses a tampered body, another secret and a stale timestamp with 401, handling nothing', async () => {
    const got: PlatformEvent[] = []
    const handle = webhookHandler(secret, (e) => void got.push(e))
    const good = delivery('78', JSON.stringify(event('78')))
    const tampered = new Request(good, { body: JSON.stringify({ ...event('78'), type: 'order.created' }) })
    expect((await handle(tampered)).status).toBe(401)
    expect((await handle(delivery('79', JSON.stringify(event('79')), { key: `whsec_${randomBytes(24).toString('base64')}` }))).status).toBe(401)
    expect((await handle(delivery('80', JSON.stringify(event('80')), { at: new Date(Date.now() - 10 * 60_000) }))).status).toBe(401)
    expect(got).toEqual([])
  })
})
