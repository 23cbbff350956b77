import postgres from 'postgres'
import type { Sql } from '../../api/src/platform/db/client'
import path from 'node:path'
import { readStatus } from '../../api/src/connect/status-read'
import { freePort, load, round, sampleOrder, spawnProc, summary, waitHealthy } from '../lib'
import { sql, pg, log, row, results, runDir, startService, AUTH, QUICK, STATUS_ROWS, STATUS_SHOPS } from './context'
import { elysiaCost } from './elysia-cost'

// =====================================================================================
// 3. Status with 1,000,000 send-log rows
// =====================================================================================
export async function status() {
  log(`status: generating ${STATUS_ROWS.toLocaleString()} orders and send-log rows over ${STATUS_SHOPS} shops`)
  const g0 = performance.now()
  const [range] = await sql<{ lo: string; hi: string }[]>`
    with s as (insert into shops (name) select 'Bench status ' || g from generate_series(1, ${STATUS_SHOPS}) g returning id)
    select min(id) as lo, max(id) as hi from s`
  const lo = Number(range!.lo)
  await sql`
    insert into orders (shop_id, number, total, customer_name, created_at)
    select ${lo} + (g % ${STATUS_SHOPS}), 'L' || g, (g % 5000) + 100, 'Покупатель', now() - ((g::bigint * 7919) % (30 * 86400)) * interval '1 second'
    from generate_series(0, ${STATUS_ROWS - 1}) g`
  // Spread over 30 days (about a quarter inside the 7-day window); 1 in 20 FAILED.
  await sql`
    insert into telegram_send_log (shop_id, order_id, message, status, error, attempts, sent_at, message_id, chat_id, created_at, updated_at)
    select shop_id, id, 'Заказ ' || number, case when id % 20 = 0 then 'FAILED' else 'SENT' end,
           case when id % 20 = 0 then 'Бот заблокирован или удалён из чата (403)' end, 1,
           case when id % 20 = 0 then null else created_at end, id, '42', created_at, created_at
    from orders where shop_id between ${lo} and ${lo + STATUS_SHOPS - 1}`
  await sql`vacuum analyze orders`.simple()
  await sql`vacuum analyze telegram_send_log`.simple()
  const genSec = (performance.now() - g0) / 1000
  log(`  generated in ${genSec.toFixed(1)} s`)
  const [{ n }] = (await sql`select count(*)::int as n from telegram_send_log`) as unknown as [{ n: number }]

  // one hot shop: 100,000 notifications inside the 7-day window (a peak week), next to the others
  const HOT_ROWS = QUICK ? 20_000 : 100_000
  const [hotShop] = await sql<{ id: string }[]>`insert into shops (name) values ('Bench hot shop') returning id`
  const hot = Number(hotShop!.id)
  await sql`
    insert into orders (shop_id, number, total, customer_name, created_at)
    select ${hot}, 'H' || g, (g % 5000) + 100, 'Покупатель', now() - ((g::bigint * 7919) % (7 * 86400 - 3600)) * interval '1 second'
    from generate_series(0, ${HOT_ROWS - 1}) g`
  await sql`
    insert into telegram_send_log (shop_id, order_id, message, status, error, attempts, sent_at, message_id, chat_id, created_at, updated_at)
    select shop_id, id, 'Заказ ' || number, case when id % 20 = 0 then 'FAILED' else 'SENT' end,
           case when id % 20 = 0 then 'Бот заблокирован или удалён из чата (403)' end, 1,
           case when id % 20 = 0 then null else created_at end, id, '42', created_at, created_at
    from orders where shop_id = ${hot}`
  await sql`vacuum analyze telegram_send_log`.simple()

  const shopAt = (i: number) => lo + ((i * 7919) % STATUS_SHOPS)
  const svc = await startService('status')
  const N = QUICK ? 500 : 2000
  const get = (i: number) => ({ url: `http://127.0.0.1:${svc.port}/shops/${shopAt(i)}/telegram/status`, init: { headers: AUTH } })
  await load({ total: 200, concurrency: 1, make: get })
  const http1 = await load({ total: N, concurrency: 1, make: get })
  const http16 = await load({ total: N, concurrency: 16, make: get })
  const getHot = () => ({ url: `http://127.0.0.1:${svc.port}/shops/${hot}/telegram/status`, init: { headers: AUTH } })
  await load({ total: 200, concurrency: 16, make: getHot })
  const hot16 = await load({ total: N, concurrency: 16, make: getHot })
  await svc.stop()
  // the goal's baseline: a bare insert (Bun.serve doing one INSERT) at the same concurrency, same moment
  const bport = freePort()
  const bare = spawnProc(['bun', 'bench/baseline-server.ts'], { DATABASE_URL: pg.url, PORT: String(bport) }, bport, path.join(runDir, 'status-baseline.log'))
  await waitHealthy(`http://127.0.0.1:${bport}/health`, performance.now(), 30_000, bare.proc)
  const insertAt = (i: number) => ({
    url: `http://127.0.0.1:${bport}/shops/${lo}/orders`,
    init: { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(sampleOrder(`SB-${i}`, '100.00')) },
  })
  await load({ total: 200, concurrency: 16, make: (i) => insertAt(-1 - i) })
  const bare16 = await load({ total: N, concurrency: 16, make: insertAt })
  await bare.stop()
  log(`  hot shop status c=16 p99 ${hot16.latencyMs.p99} ms; bare insert c=16 p99 ${bare16.latencyMs.p99} ms`)
  log('status: what Elysia costs per request (in-process, c=1)')
  const framework = await elysiaCost(hot, lo, QUICK ? 300 : 1000)
  log(
    `  status p50 ${framework.status.httpMs.p50} ms through Elysia vs ${framework.status.directMs.p50} ms direct; POST /orders ${framework.orders.httpMs.p50} vs ${framework.orders.directMs.p50} ms; /health ${framework.healthMs.p50} ms`,
  )
  // what the status did before the per-hour counters: count the hot shop's 7-day window row by row
  const windowCount = () => sql`
    select count(*) filter (where status = 'SENT') as sent, count(*) filter (where status = 'FAILED') as failed
    from telegram_send_log where shop_id = ${hot} and updated_at > now() - interval '7 days'`
  for (let i = 0; i < 20; i++) await windowCount()
  const counted: number[] = []
  for (let i = 0; i < 200; i++) {
    const t = performance.now()
    await windowCount()
    counted.push(performance.now() - t)
  }
  const countedSummary = summary(counted)

  // baseline: the very query of the status route, straight through postgres.js
  const direct: number[] = []
  for (let i = 0; i < 200; i++) await readStatus(sql, shopAt(i))
  const d0 = performance.now()
  for (let i = 0; i < N; i++) {
    const s = performance.now()
    await readStatus(sql, shopAt(i))
    direct.push(performance.now() - s)
  }
  const directPerSec = N / ((performance.now() - d0) / 1000)
  const directSummary = summary(direct)

  // the plan, from the text postgres.js actually sends
  let captured: { q: string; p: unknown[] } | null = null
  const dbg = postgres(pg.url, { max: 1, onnotice: () => {}, debug: (_c, q, p) => (captured = { q, p: p as unknown[] }) })
  await readStatus(dbg as unknown as Sql, shopAt(1))
  const c = captured as { q: string; p: unknown[] } | null
  const plan = c ? (await dbg.unsafe(`explain (analyze, buffers) ${c.q}`, c.p as never[])).map((r: any) => r['QUERY PLAN'] as string) : []
  await dbg.end()
  const usesIndex = plan.some((l) => /Index (Only )?Scan/.test(l)) && !plan.some((l) => /Seq Scan on telegram_send_log/.test(l))

  results.status = {
    sendLogRows: n,
    shops: STATUS_SHOPS,
    generateSec: round(genSec),
    http: { c1: http1, c16: http16 },
    hotShop: { windowRows: HOT_ROWS, c16: hot16, fullWindowCountC1: countedSummary },
    baselineDirect: { latencyMs: directSummary, perSec: round(directPerSec, 0) },
    plan,
    indexUsed: usesIndex,
    bareInsertC16: bare16,
    elysia: framework,
  }
  row('Status GET p50 (1M log rows, c=1)', http1.latencyMs.p50, directSummary.p50, 'ms', undefined, 2)
  row('Status GET p99 (1M log rows, c=1)', http1.latencyMs.p99, directSummary.p99, 'ms', '< 5 ms', 2)
  row('Status GET c=16 (baseline: query c=1)', http16.perSec, directPerSec, 'req/s', undefined, 0)
  row(
    `Hot shop status GET p99, c=16, ${HOT_ROWS.toLocaleString('en-US')} rows in 7 days (vs counting them, c=1)`,
    hot16.latencyMs.p99,
    countedSummary.p99,
    'ms',
    '< 5 ms',
    2,
  )
  row('Hot shop status GET c=16 throughput', hot16.perSec, http16.perSec, 'req/s', undefined, 0)
  row('Hot shop status GET p99, c=16 (vs a bare insert, c=16)', hot16.latencyMs.p99, bare16.latencyMs.p99, 'ms', '≤ 1×', 2)
  row(
    'Elysia per request, GET status p50 (through app.handle vs the service called)',
    framework.status.httpMs.p50,
    framework.status.directMs.p50,
    'ms',
    undefined,
    3,
  )
  row(
    'Elysia per request, POST orders p50 (through app.handle vs the service called)',
    framework.orders.httpMs.p50,
    framework.orders.directMs.p50,
    'ms',
    undefined,
    3,
  )
  log(`  status p50 ${http1.latencyMs.p50} ms p99 ${http1.latencyMs.p99} ms; direct query p99 ${directSummary.p99} ms; index used: ${usesIndex}`)
  log(
    `  hot shop (${HOT_ROWS} rows in the window) c=16: p50 ${hot16.latencyMs.p50} ms p99 ${hot16.latencyMs.p99} ms; counting the window: p99 ${countedSummary.p99} ms`,
  )
}
