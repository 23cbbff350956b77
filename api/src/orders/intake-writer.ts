import { isDatabaseUnavailable, type Sql } from '../platform/db/client'
import type { Logger } from '../platform/log'
import type { Pacing } from '../notifications'
import { NaturalBatches, type Waiting } from '../platform/batches'
import { findExistingOrder, insertOrderOnce, insertOrders, isUnknownShop, orderKey, type InsertResult, type NewOrder } from './repository'
import type { CreateOrderInput } from './schema'

/** The longest batch: one statement's arrays stay small enough to plan and send quickly. */
const MAX_BATCH = 256

/**
 * The per-process writer of new orders (DESIGN.md "Write in batches"). Concurrent `POST /orders`
 * hand their order here; the writer puts every order waiting at that moment into ONE statement
 * (`insertOrders`) and answers each request with its own row. Natural batching: a batch goes as soon
 * as the previous one has returned, so a lone request waits for nothing and a busy process writes tens
 * of orders per round trip and per commit.
 *
 * An order the batch did not create (a repeat, a conflicting number, an unknown shop) is answered by
 * reading what is stored (`findExistingOrder`). A batch that fails as a whole (a shop deleted between
 * the check and the insert, a value the database refuses) is written again order by order, so one bad
 * order never fails the others; with the database away every request hears it at once (503), not
 * after a second try each.
 */
export class IntakeWriter {
  private readonly batches = new NaturalBatches<NewOrder, InsertResult | null>((b) => this.writeBatch(b), MAX_BATCH)
  /** Batches written and the largest one (what the tests and the bench read). */
  readonly stats = { batches: 0, orders: 0, largest: 0 }

  constructor(private readonly deps: { sql: Sql; log: Logger; owner: string; leaseSec: number; pacing: Pacing }) {}

  /** Stores the order once per (shop, number): null when the shop does not exist. */
  write(shopId: number, input: CreateOrderInput): Promise<InsertResult | null> {
    return this.batches.push({ shopId, input })
  }

  private async writeBatch(batch: Waiting<NewOrder, InsertResult | null>[]): Promise<void> {
    const { sql, log, owner, leaseSec, pacing } = this.deps
    this.stats.batches++
    this.stats.orders += batch.length
    this.stats.largest = Math.max(this.stats.largest, batch.length)
    let created: Map<string, InsertResult>
    try {
      created = await insertOrders(
        sql,
        batch.map((w) => w.item),
        owner,
        leaseSec,
        pacing,
      )
    } catch (err) {
      if (batch.length === 1 && isUnknownShop(err)) return batch[0]!.resolve(null)
      if (batch.length === 1 || isDatabaseUnavailable(err)) {
        for (const w of batch) w.reject(err)
        return
      }
      // one bad order must not fail the others: each on its own
      log.warn('intake_batch_failed', { orders: batch.length, error: err })
      await Promise.all(batch.map((w) => insertOrderOnce(sql, w.item.shopId, w.item.input, owner, leaseSec, pacing).then(w.resolve, w.reject)))
      return
    }
    const answered = new Set<string>()
    await Promise.all(
      batch.map((w) => {
        const key = orderKey(w.item.shopId, w.item.input.number)
        const r = created.get(key)
        // the first request of a number gets the row it created; a second one in the same batch is a repeat
        if (r && !answered.has(key)) {
          answered.add(key)
          return w.resolve(r)
        }
        return findExistingOrder(sql, w.item.shopId, w.item.input.number).then(w.resolve, w.reject)
      }),
    )
  }
}
