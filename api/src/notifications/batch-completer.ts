import { isDatabaseUnavailable, type Sql } from '../platform/db/client'
import type { Logger } from '../platform/log'
import { NaturalBatches, type Waiting } from '../platform/batches'
import { finishSent, finishSentBatch, settleSentLog, type SentRecord } from './outbox'

type Sent = Waiting<SentRecord, void>

/** The longest batch (River's BatchCompleter flushes at about a hundred too). */
const MAX_BATCH = 100

/**
 * Finished new-order sends recorded in batches (DESIGN.md "Write in batches", as River's
 * BatchCompleter): every send finished while the previous batch was being written goes into ONE
 * statement (`finishSentBatch`): one round trip and one commit for tens of sends. Natural batching: a
 * lone send is written at once, with no timer.
 *
 * A caller is answered only once its batch has committed, so a crash loses no completion that was
 * acknowledged: an unrecorded send's lease expires and the row comes back, the duplicate bound of the
 * single-row path. A batch that fails as a whole is written again row by row with `finishSent`, whose
 * errors reach the caller as before; with the database away every caller hears it at once and keeps
 * retrying while its lease lasts (`Sender.recordSent`).
 *
 * Only a recipient's own new-order message comes here (the volume: intake and fan-out); edits,
 * reminders, summaries, status lines and people's private chats keep the single-row statement.
 */
export class BatchCompleter {
  private readonly batches = new NaturalBatches<SentRecord, void>((b) => this.write(b), MAX_BATCH)
  /** Batches written and the largest one (what the tests and the bench read). */
  readonly stats = { batches: 0, sends: 0, largest: 0 }

  constructor(private readonly deps: { sql: Sql; log?: Logger }) {}

  /** Whether `finish` takes this completion (otherwise call `finishSent`). */
  static takes(p: SentRecord): boolean {
    return p.kind === 'order' && !!p.chatRef && !p.privateChatRef && !p.isStatusLine
  }

  finish(p: SentRecord): Promise<void> {
    return this.batches.push(p)
  }

  private async write(batch: Sent[]): Promise<void> {
    const { sql, log } = this.deps
    // an outbox row finishes once per statement: a second completion of it waits for the next batch
    const seen = new Set<string>()
    const now: Sent[] = []
    const later: Sent[] = []
    for (const w of batch) {
      if (seen.has(w.item.id)) later.push(w)
      else {
        seen.add(w.item.id)
        now.push(w)
      }
    }
    this.batches.requeue(later)
    this.stats.batches++
    this.stats.sends += now.length
    this.stats.largest = Math.max(this.stats.largest, now.length)
    let unwritten: string[]
    try {
      unwritten = await finishSentBatch(
        sql,
        now.map((w) => w.item),
      )
    } catch (err) {
      if (isDatabaseUnavailable(err)) {
        for (const w of now) w.reject(err)
        return
      }
      log?.warn('completion_batch_failed', { sends: now.length, error: err })
      await Promise.all(now.map((w) => finishSent(sql, w.item).then(w.resolve, w.reject)))
      return
    }
    // an order with several recipients finished at once by two processes: look again under its lock
    const again = unwritten.map((orderId) => settleSentLog(sql, now.find((w) => w.item.orderId === orderId)!.item))
    try {
      await Promise.all(again)
    } catch (err) {
      for (const w of now) w.reject(err)
      return
    }
    for (const w of now) w.resolve()
  }
}
