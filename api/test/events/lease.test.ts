import { afterAll, beforeAll, expect, test } from 'bun:test'
import { createHarness, eventually, type Harness } from '../helpers'
import { Receiver } from './receiver'

/**
 * A delivery's lease outlasts its attempt: an endpoint that answers just inside WEBHOOK_TIMEOUT_MS gets
 * the delivery once, not a second copy claimed again when a shorter lease ran out mid-attempt.
 */
const ADMIN = 'l'.repeat(40)
let h: Harness
let rx: Receiver

beforeAll(async () => {
  // a 1 s lease (the shape of the default 60 s lease against an allowed 60 s deadline) and a 3 s deadline
  h = await createHarness({ listen: true, env: { ADMIN_TOKEN: ADMIN }, webhooks: { leaseSec: 1, timeoutMs: 3000, intervalMs: 50, retryDelaysMs: [100] } })
  rx = new Receiver()
})
afterAll(async () => {
  await h.services.webhookSender.stop()
  rx.stop()
  await h.close()
})

test('an attempt longer than the configured lease is not claimed again mid-flight: one arrival, delivered', async () => {
  const r = await h.post('/webhooks/endpoints', { url: rx.url, events: ['order.created'] }, { authorization: `Bearer ${ADMIN}` })
  expect(r.status).toBe(201)
  rx.secrets.push(r.json.secret)
  // answered 200 after 1.8 s: past the configured lease, inside the deadline
  rx.answer = async () => {
    await Bun.sleep(1800)
    return 200
  }
  const shop = await h.post('/shops', { externalId: 'lease-1', name: 'Аренда' }, { authorization: `Bearer ${ADMIN}` })
  const o = await h.post(`/shops/${shop.json.id}/orders`, { number: 'L-1', total: 100, customerName: 'Анна' }, { authorization: `Bearer ${ADMIN}` })
  expect(o.status).toBe(201)
  h.services.webhookSender.start()
  const d = await eventually(
    async () => {
      const [row] = await h.sql<{ state: string; attempts: number }[]>`
        select d.state, d.attempts from webhook_deliveries d join platform_events e on e.id = d.event_id where e.type = 'order.created'`
      return row?.state === 'delivered' ? row : null
    },
    { message: 'order.created delivered', timeoutMs: 10_000 },
  )
  expect(d.attempts).toBe(1)
  expect(rx.of('order.created').length).toBe(1)
})
