/**
 * Minimal reproduction, without the service: postgres.js (3.4.9) on Bun, queries in flight while
 * PostgreSQL stops (`pg_ctl stop -m fast`). Observed outcomes (any of them in a given run):
 *  - the process dies with an uncaught `TypeError: null is not an object (evaluating 'socket.write')`
 *    at nextWrite (postgres/src/connection.js:255), thrown from a setImmediate, so no try/catch helps;
 *  - queries that never settle (no error, no result) after the server is back.
 * Upstream: porsager/postgres#1066, #1154, #1208 (fix proposals #1168, #1176, #1209).
 *
 *   bun chaos/repro/pg-stop-crash.ts            # prints CRASH / HUNG counts, exit 1 when either happened
 *   bun chaos/repro/pg-stop-crash.ts --service  # the same with the service's pool settings (api/src/db/client.ts)
 *
 * Findings: the crash is the unguarded `nextWrite` (fixed by patches/postgres@3.4.9.patch, applied on
 * install). The "hung" queries are not lost: they sit on a connection waiting out postgres.js' default
 * reconnect backoff, which grows with a retry counter shared by the pool up to 20 s. The service caps
 * it at 1 s; with `--service` no query waits more than a few seconds.
 */
import postgres from 'postgres'
import { Pg } from '../lib/pg'
import { createSql } from '../../api/src/platform/db/client'

const pg = await Pg.start()
let crashed: unknown = null
process.on('uncaughtException', (err) => {
  crashed ??= err
  console.log('UNCAUGHT', String(err))
})
const sql = process.argv.includes('--service')
  ? createSql(pg.url('postgres'), { max: 20 })
  : postgres(pg.url('postgres'), { max: 20, connect_timeout: 3, onnotice: () => {} })
let stop = false
const pending = new Map<number, number>()
let seq = 0
let ok = 0
let failed = 0
const loop = async () => {
  while (!stop) {
    const id = seq++
    pending.set(id, Date.now())
    try {
      await sql.begin(async (tx) => {
        await tx`select pg_sleep(0.002)`
        await tx`select ${'x'.repeat(10)}::text as v`
      })
      ok++
    } catch {
      failed++
      await Bun.sleep(20)
    } finally {
      pending.delete(id)
    }
  }
}
try {
  await sql`select 1`
  const loops = Array.from({ length: 50 }, loop)
  await Bun.sleep(1000)
  for (let round = 0; round < 3 && !crashed; round++) {
    await pg.stop()
    await Bun.sleep(1000)
    await pg.start()
    await Bun.sleep(2000)
  }
  stop = true
  await Promise.race([Promise.all(loops), Bun.sleep(8000)])
  const hung = [...pending.values()].filter((t) => Date.now() - t > 5000).length
  console.log(`ok ${ok} · failed cleanly ${failed} · CRASH ${crashed ? String(crashed) : 'no'} · HUNG queries (>5 s, unsettled) ${hung}`)
  process.exitCode = crashed || hung ? 1 : 0
} finally {
  await sql.end({ timeout: 1 }).catch(() => {})
  await pg.destroy()
  process.exit()
}
