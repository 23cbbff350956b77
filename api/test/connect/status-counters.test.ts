import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import fc from 'fast-check'
import { sendLogSummary } from '../../src/connect'
import { createHarness, type Harness } from '../helpers'

/**
 * The status page's 7-day counts come from per-hour counters kept by a trigger; after any history of
 * inserts, retries, FAILED → SENT, resends and deletions over 9 days they equal a full count.
 */
let h: Harness
let shops: number[] = []
beforeAll(async () => {
  h = await createHarness()
  shops = [await h.shop('A'), await h.shop('B'), await h.shop('C')]
})
afterAll(() => h.close())

const fullCount = async (shopId: number) =>
  (
    await h.sql<{ sent: number; failed: number }[]>`
      select count(*) filter (where status = 'SENT')::int as sent, count(*) filter (where status = 'FAILED')::int as failed
      from telegram_send_log where shop_id = ${shopId} and updated_at >= now() - interval '7 days'`
  )[0]!

type Op =
  | { kind: 'insert'; shop: number; status: 'SENT' | 'FAILED'; hoursAgo: number }
  | { kind: 'retry'; pick: number; hoursAgo: number }
  | { kind: 'succeed'; pick: number; hoursAgo: number }
  | { kind: 'fail'; pick: number; hoursAgo: number }
  | { kind: 'delete'; pick: number }

const hoursAgo = fc.double({ min: 0, max: 9 * 24, noNaN: true })
const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({
    kind: fc.constant('insert' as const),
    shop: fc.integer({ min: 0, max: 2 }),
    status: fc.constantFrom('SENT' as const, 'FAILED' as const),
    hoursAgo,
  }),
  fc.record({ kind: fc.constant('retry' as const), pick: fc.nat(), hoursAgo }),
  fc.record({ kind: fc.constant('succeed' as const), pick: fc.nat(), hoursAgo }),
  fc.record({ kind: fc.constant('fail' as const), pick: fc.nat(), hoursAgo }),
  fc.record({ kind: fc.constant('delete' as const), pick: fc.nat() }),
)

describe('hot-shop status counters', () => {
  test('after a randomized history the counters-based 7-day counts equal a full count, for every shop', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 60 }), async (ops) => {
        for (const o of ops) {
          const at = (hrs: number) => new Date(Date.now() - hrs * 3600_000)
          if (o.kind === 'insert') {
            const shopId = shops[o.shop]!
            const [order] = await h.sql<
              { id: string }[]
            >`insert into orders (shop_id, number, total, customer_name) values (${shopId}, ${crypto.randomUUID()}, 1, 'x') returning id`
            await h.sql`insert into telegram_send_log (shop_id, order_id, message, status, updated_at) values (${shopId}, ${order!.id}, 'm', ${o.status}, ${at(o.hoursAgo)})`
            continue
          }
          const rows = await h.sql<{ id: string }[]>`select id from telegram_send_log where shop_id = any(${shops}) order by id`
          if (!rows.length) continue
          const id = rows[o.pick % rows.length]!.id
          if (o.kind === 'delete') await h.sql`delete from telegram_send_log where id = ${id}`
          else if (o.kind === 'retry')
            await h.sql`update telegram_send_log set attempts = attempts + 1, updated_at = ${at(o.hoursAgo)} where id = ${id} and status = 'FAILED'`
          else if (o.kind === 'succeed') await h.sql`update telegram_send_log set status = 'SENT', updated_at = ${at(o.hoursAgo)} where id = ${id}`
          else await h.sql`update telegram_send_log set status = 'FAILED', updated_at = ${at(o.hoursAgo)} where id = ${id} and status <> 'SENT'`
        }
        for (const shopId of shops) {
          const status = await sendLogSummary(h.sql, shopId)
          const full = await fullCount(shopId)
          expect({ sent: Number(status.sent_count), failed: Number(status.failed_count) }).toEqual(full)
        }
      }),
      { numRuns: 25 },
    )
  }, 60_000)
})
