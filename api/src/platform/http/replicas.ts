import type { Sql } from '../db/client'
import type { Logger } from '../log'
import { BackgroundLoop } from '../loop'

/** A replica not heard from for this long is counted out. */
const STALE_SEC = 15

/**
 * How many replicas serve right now, by heartbeat (`app_replicas`, sql/024). The per-shop rate
 * limits are token buckets in each process; dividing each budget by this count makes them one budget
 * across replicas, with no database round trip on the request path (a shared bucket in PostgreSQL
 * would put a hot shop's every request on one row lock). Until the first beat a process counts itself
 * alone. With a load balancer that spreads a shop's requests evenly this is exact; a shop pinned to one
 * replica gets 1/N of its budget (never more than the budget in total).
 */
export class ReplicaRegistry extends BackgroundLoop {
  private count = 1

  constructor(private readonly deps: { sql: Sql; log: Logger; id: string; intervalMs?: number }) {
    super()
  }

  /** This replica's fraction of every per-shop budget (1 / live replicas). */
  readonly share = (): number => 1 / this.count

  /** Says this replica is alive and reads how many are; also forgets replicas gone for an hour. */
  async beat(): Promise<number> {
    const { sql, id } = this.deps
    const [r] = await sql<{ n: number }[]>`
      with me as (insert into app_replicas (id) values (${id}) on conflict (id) do update set seen_at = now()),
      gone as (delete from app_replicas where seen_at < now() - interval '1 hour')
      select 1 + count(*)::int as n from app_replicas where id <> ${id} and seen_at > now() - make_interval(secs => ${STALE_SEC})`
    this.count = Math.max(1, r?.n ?? 1)
    return this.count
  }

  protected async run(): Promise<void> {
    while (this.running) {
      await this.beat().catch((error) => this.deps.log.warn('replica_heartbeat_failed', { error }))
      await this.sleep(this.deps.intervalMs ?? 5000)
    }
  }

  /** A replica stopping says so: the others take its share at their next beat. */
  protected async afterStop(): Promise<void> {
    await this.deps.sql`delete from app_replicas where id = ${this.deps.id}`.catch(() => {})
  }
}
