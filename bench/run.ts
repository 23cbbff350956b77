/**
 * `bun run bench`: every performance figure of issue 8 in one run, each beside a baseline measured in
 * the same run (the machine is noisy and shared). Prints a table and writes bench/results/<stamp>.json
 * and bench/results/latest.json. Not part of `bun test`.
 *
 * Sections: intake (vs bare insert and the contract floor), fan-out, peak day (per-class lag and 429s
 * under Telegram's limits), status, start-up.
 *
 * Processes: one embedded PostgreSQL for the whole run (temp dir); the service as real child processes
 * (`bun api/src/main.ts`); the baselines as child processes too; the fake Bot API and the load
 * generator live in this process, so they share the 2 cores with everything else (said in the output).
 */
import { randomBytes } from 'node:crypto'
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import postgres from 'postgres'
import { createSql, type Sql } from '../api/src/platform/db/client'
import { startEmbeddedPostgres, stopEmbeddedSync } from '../api/src/platform/db/embedded'
import { migrate, seed } from '../api/src/platform/db/migrate'
import { sendLogSummary } from '../api/src/connect/repository'
import { createTokenCipher } from '../api/src/platform/crypto'
import { FakeTelegram, makeToken, type Call, type FakeTelegramOptions } from '../api/test/fake-telegram'
import {
  ROOT,
  cleanupAll,
  cpuMeter,
  cpuSec,
  freePort,
  load,
  maxInWindow,
  onCleanup,
  pgCpuSec,
  round,
  rssMiB,
  rssSampler,
  selfCpuSec,
  spawnProc,
  summary,
  tempDir,
  waitHealthy,
  waitSampler,
  type Proc,
  sampleOrder,
} from './lib'
import { stageTimings } from './stages'

const QUICK = process.env.BENCH_QUICK === '1' // smaller counts, for trying the script out
const INTAKE_N = QUICK ? 1000 : 5000
const INTAKE_WARM = QUICK ? 200 : 500
const INTAKE_C = 64
const FAN_SHOPS = 1000
const FAN_PER_SHOP = 10
const STATUS_ROWS = QUICK ? 100_000 : 1_000_000
const STATUS_SHOPS = 1000
const ADMIN_TOKEN = 'bench-admin-token-' + randomBytes(8).toString('hex')
const ENCRYPTION_KEY = randomBytes(32).toString('hex')
const cipher = createTokenCipher(Buffer.from(ENCRYPTION_KEY, 'hex'))
const AUTH = { authorization: `Bearer ${ADMIN_TOKEN}` }

const results: Record<string, any> = {}
const rows: { figure: string; value: string; baseline: string; ratio: string; goal?: string }[] = []
const fmt = (x: number, d = 1) => (Number.isFinite(x) ? round(x, d).toLocaleString('en-US') : String(x))
function row(figure: string, value: number, baseline: number, unit: string, goal?: string, d = 1) {
  rows.push({ figure, value: `${fmt(value, d)} ${unit}`, baseline: `${fmt(baseline, d)} ${unit}`, ratio: `${fmt(value / baseline, 2)}×`, goal })
}
const log = (...a: unknown[]) => console.log(`[${((performance.now() - t0) / 1000).toFixed(0).padStart(3)}s]`, ...a)
const t0 = performance.now()

process.on('SIGINT', async () => {
  console.error('interrupted: cleaning up')
  await cleanupAll()
  process.exit(130)
})

// ---------- the fake Bot API, with a pluggable collector ----------
type Collector = (c: Call, limited: boolean) => void
let collector: Collector | null = null
const fakeOptions: FakeTelegramOptions = { record: false, onCall: (c, l) => collector?.(c, l) }
const fake = new FakeTelegram(fakeOptions)
onCleanup(() => fake.stop())

// ---------- the database ----------
const pgDir = tempDir('bench-pg-')
log('starting embedded PostgreSQL in', pgDir)
const pg = await startEmbeddedPostgres({ dataDir: pgDir })
onCleanup(() => pg.stop())
const sql = createSql(pg.url, { max: 20 })
onCleanup(() => sql.end({ timeout: 2 }))
await migrate(sql)
await seed(sql)
const [{ version: pgVersion }] = (await sql`select current_setting('server_version') as version`) as unknown as [{ version: string }]

const sources = (extra: Record<string, () => number>) => ({ ...extra, postgres: () => pgCpuSec(pg.pid), 'bench (load + fake)': selfCpuSec })

// ---------- the service as a child process ----------
const runDir = tempDir('bench-run-')
let procSeq = 0
async function startService(name: string, opts: { profileDir?: string; env?: Record<string, string> } = {}): Promise<Proc> {
  const port = freePort()
  const env: Record<string, string> = {
    DATABASE_URL: pg.url,
    PORT: String(port),
    HOST: '127.0.0.1',
    ADMIN_TOKEN,
    ENCRYPTION_KEY,
    TELEGRAM_MODE: 'real',
    TELEGRAM_API_ROOT: fake.url,
    // Webhook mode (as in production): no getUpdates poller competing with the measured path.
    PUBLIC_URL: `http://127.0.0.1:${port}`,
    LOG_LEVEL: 'warn',
    DATA_DIR: path.join(runDir, `data-${name}`),
    // the bench measures throughput: per-shop rate limits would cap it by design
    RATE_LIMIT_ORDERS_PER_MINUTE: '0',
    RATE_LIMIT_WRITES_PER_MINUTE: '0',
    TEST_MESSAGE_INTERVAL_MS: '0',
    ...opts.env,
  }
  const prof = opts.profileDir ? ['--cpu-prof-md', `--cpu-prof-dir=${opts.profileDir}`] : []
  // BENCH_SERVICE_ROOT: run the service from another checkout (to measure a candidate change end to end).
  const main = path.join(process.env.BENCH_SERVICE_ROOT ?? ROOT, 'api/src/main.ts')
  const p = spawnProc(['bun', ...prof, main], env, port, path.join(runDir, `${name}-${++procSeq}.log`))
  await waitHealthy(`http://127.0.0.1:${port}/health`, performance.now(), 60_000, p.proc)
  return p
}

// =====================================================================================
// 1. Intake
// =====================================================================================
async function intake() {
  log('intake: preparing', INTAKE_C, 'shops')
  const shops = (await sql<{ id: string }[]>`insert into shops (name) select 'Bench intake ' || g from generate_series(1, ${INTAKE_C}) g returning id`).map(
    (r) => Number(r.id),
  )
  const order = (i: number, tag: string) => sampleOrder(`${tag}-${i}`, String(1000 + (i % 9000)) + '.50')
  const post = (port: number, tag: string) => (i: number) => ({
    url: `http://127.0.0.1:${port}/shops/${shops[i % shops.length]}/orders`,
    init: { method: 'POST', headers: { 'content-type': 'application/json', ...AUTH }, body: JSON.stringify(order(i, tag)) },
  })

  // the baseline process
  const bport = freePort()
  const base = spawnProc(['bun', 'bench/baseline-server.ts'], { DATABASE_URL: pg.url, PORT: String(bport) }, bport, path.join(runDir, 'baseline-server.log'))
  await waitHealthy(`http://127.0.0.1:${bport}/health`, performance.now(), 30_000, base.proc)
  const baseIdleRss = rssMiB(base.pid)
  // the contract floor: insert, read the integration, sendMessage inside the request, send-log row
  const fport = freePort()
  const floor = spawnProc(
    ['bun', 'bench/floor-server.ts'],
    { DATABASE_URL: pg.url, PORT: String(fport), TELEGRAM_API_ROOT: fake.url, ENCRYPTION_KEY },
    fport,
    path.join(runDir, 'floor-server.log'),
  )
  await waitHealthy(`http://127.0.0.1:${fport}/health`, performance.now(), 30_000, floor.proc)

  // the service, each shop connected with its own bot and a chat
  // 64 shops at c=64 post many orders a second per chat, far above Telegram's 1/s: with pacing the first
  // attempt would rightly leave them to the dispatcher. Intake is measured unpaced (as the baseline sends).
  const svc = await startService('intake', { env: { TELEGRAM_CHAT_INTERVAL_MS: '0', TELEGRAM_GROUP_INTERVAL_MS: '0' } })
  await Bun.sleep(1000)
  const svcIdleRss = rssMiB(svc.pid)
  for (const [k, id] of shops.entries()) {
    const r = await fetch(`http://127.0.0.1:${svc.port}/shops/${id}/telegram/connect`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...AUTH },
      body: JSON.stringify({ botToken: makeToken('intake'), chatId: String(500000 + k), enabled: true }),
    })
    if (r.status !== 200) throw new Error(`connect failed: ${r.status} ${await r.text()}`)
  }
  const sentOk = (status: number, body: string) => status === 201 && body.includes('"telegramStatus":"sent"')

  // warm all three, then alternate bare insert / floor / service twice; the better round of each counts
  await load({ total: INTAKE_WARM, concurrency: INTAKE_C, make: post(bport, 'bw') })
  await load({ total: INTAKE_WARM, concurrency: INTAKE_C, make: post(fport, 'fw'), check: sentOk })
  await load({ total: INTAKE_WARM, concurrency: INTAKE_C, make: post(svc.port, 'sw'), check: sentOk })
  const rounds: { baseline: any; floor: any; service: any }[] = []
  let svcLoadRss = 0
  let baseLoadRss = 0
  for (let r = 0; r < 2; r++) {
    log(`intake round ${r + 1}: baseline`)
    let rs = rssSampler(base.pid)
    let cpu = cpuMeter(sources({ baseline: () => cpuSec(base.pid) }))
    let waits = waitSampler(sql)
    const b = await load({ total: INTAKE_N, concurrency: INTAKE_C, make: post(bport, `b${r}`) })
    const bcpu = cpu.stop()
    const bwaits = await waits.stop()
    baseLoadRss = Math.max(baseLoadRss, rs.stop())
    log(`intake round ${r + 1}: contract floor`)
    let calls0 = fake.counts.get('sendMessage') ?? 0
    cpu = cpuMeter(sources({ floor: () => cpuSec(floor.pid) }))
    waits = waitSampler(sql)
    const f = await load({ total: INTAKE_N, concurrency: INTAKE_C, make: post(fport, `f${r}`), check: sentOk })
    const fcpu = cpu.stop()
    const fwaits = await waits.stop()
    const fsends = (fake.counts.get('sendMessage') ?? 0) - calls0
    log(`intake round ${r + 1}: service`)
    rs = rssSampler(svc.pid)
    calls0 = fake.counts.get('sendMessage') ?? 0
    cpu = cpuMeter(sources({ service: () => cpuSec(svc.pid) }))
    waits = waitSampler(sql)
    const s = await load({ total: INTAKE_N, concurrency: INTAKE_C, make: post(svc.port, `s${r}`), check: sentOk })
    const scpu = cpu.stop()
    const swaits = await waits.stop()
    svcLoadRss = Math.max(svcLoadRss, rs.stop())
    const sends = (fake.counts.get('sendMessage') ?? 0) - calls0
    rounds.push({
      baseline: { ...b, cpu: bcpu, pgWaits: bwaits },
      floor: { ...f, cpu: fcpu, pgWaits: fwaits, sendMessages: fsends },
      service: { ...s, cpu: scpu, pgWaits: swaits, sendMessages: sends },
    })
    log(
      `  bare insert ${b.perSec}/s p99 ${b.latencyMs.p99} ms; floor ${f.perSec}/s p99 ${f.latencyMs.p99} ms (errors ${f.errors}${f.firstError ? ': ' + f.firstError : ''}); service ${s.perSec}/s p99 ${s.latencyMs.p99} ms (errors ${s.errors}${s.firstError ? ': ' + s.firstError : ''})`,
    )
  }
  const best = <T extends { perSec: number }>(xs: T[]) => xs.reduce((a, b) => (b.perSec > a.perSec ? b : a))
  const b = best(rounds.map((r) => r.baseline))
  const f = best(rounds.map((r) => r.floor))
  const s = best(rounds.map((r) => r.service))
  results.intake = {
    concurrency: INTAKE_C,
    orders: INTAKE_N,
    shops: shops.length,
    rounds,
    baseline: b,
    floor: f,
    service: s,
    ratio: round(s.perSec / b.perSec, 3),
    ratioToFloor: round(s.perSec / f.perSec, 3),
    p99RatioToFloor: round(s.latencyMs.p99 / f.latencyMs.p99, 3),
  }
  row('Intake throughput (POST orders, c=64) vs bare insert', s.perSec, b.perSec, 'orders/s', '≥ 0.5×', 0)
  row('Intake throughput vs contract floor (insert+send+log)', s.perSec, f.perSec, 'orders/s', '≥ 0.8×', 0)
  row('Contract floor throughput vs bare insert', f.perSec, b.perSec, 'orders/s', undefined, 0)
  row('Intake latency p50 vs bare insert', s.latencyMs.p50, b.latencyMs.p50, 'ms')
  row('Intake latency p99 vs bare insert', s.latencyMs.p99, b.latencyMs.p99, 'ms', '< 50 ms')
  row('Intake latency p99 vs contract floor', s.latencyMs.p99, f.latencyMs.p99, 'ms', '≤ 1.5×')
  results.rss = {
    serviceIdleMiB: round(svcIdleRss ?? NaN),
    serviceUnderLoadMiB: round(svcLoadRss),
    baselineIdleMiB: round(baseIdleRss ?? NaN),
    baselineUnderLoadMiB: round(baseLoadRss),
  }
  row('RSS idle (service vs bare Bun.serve)', svcIdleRss ?? NaN, baseIdleRss ?? NaN, 'MiB')
  row('RSS under intake load', svcLoadRss, baseLoadRss, 'MiB')
  await svc.stop()
  await floor.stop()
  await base.stop()

  // ---- profile: the same load against a service started under the CPU profiler ----
  log('intake: CPU profile of the service')
  const profDir = path.join(runDir, 'profile')
  mkdirSync(profDir, { recursive: true })
  const prof = await startService('profile', { profileDir: profDir, env: { TELEGRAM_CHAT_INTERVAL_MS: '0', TELEGRAM_GROUP_INTERVAL_MS: '0' } })
  await load({ total: INTAKE_WARM, concurrency: INTAKE_C, make: post(prof.port, 'pw'), check: sentOk })
  const p = await load({ total: INTAKE_N, concurrency: INTAKE_C, make: post(prof.port, 'pm'), check: sentOk })
  await prof.stop()
  const md = readdirSync(profDir).find((f) => f.endsWith('.md'))
  results.intake.profile = md ? summariseProfile(readFileSync(path.join(profDir, md), 'utf8')) : { error: 'no profile written' }
  results.intake.profile.underProfiler = { perSec: p.perSec, latencyMs: p.latencyMs }
  if (md && !process.env.BENCH_ONLY && !process.env.BENCH_SERVICE_ROOT && !QUICK)
    writeFileSync(path.join(RESULTS, 'latest-profile.md'), trimProfile(readFileSync(path.join(profDir, md), 'utf8')))

  // ---- spans: each step of the product path alone, at the same concurrency, in this process ----
  log('intake: timing each step of the order path alone')
  results.intake.stages = await stageTimings({ sql, fakeUrl: fake.url, shops, n: QUICK ? 1000 : 3000, concurrency: INTAKE_C, cipher })
  return shops
}

/** The top of the profile: hot functions and the per-file split, grouped by package. */
function summariseProfile(md: string) {
  const table = (title: string) => {
    const start = md.indexOf(title)
    if (start < 0) return []
    const lines = md.slice(start).split('\n').slice(4)
    const out: string[][] = []
    for (const l of lines) {
      if (!l.startsWith('|')) break
      out.push(
        l
          .split('|')
          .slice(1, -1)
          .map((c) => c.trim().replace(/`/g, '')),
      )
    }
    return out
  }
  const hot = table('## Hot Functions (Self Time)')
    .slice(0, 20)
    .map(([selfPct, self, totalPct, total, fn, loc]) => ({ selfPct, self, totalPct, total, fn, loc: loc?.replace(ROOT + '/', '') }))
  const files = table('## Files').map(([selfPct, self, file]) => ({ selfPct: parseFloat(selfPct ?? '0'), self, file: (file ?? '').replace(ROOT + '/', '') }))
  const groups: Record<string, number> = {}
  for (const f of files) {
    const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(f.file)
    const g = m
      ? m[1]!
      : f.file.startsWith('api/src/')
        ? 'api/src (our code)'
        : f.file.includes('[native code]')
          ? '[native code]'
          : f.file.startsWith('(') || f.file === ''
            ? '(runtime/idle)'
            : 'other: ' + f.file.split('/').slice(0, 2).join('/')
    groups[g] = round((groups[g] ?? 0) + f.selfPct, 1)
  }
  const header = /\| ([\d.]+s) \| (\d+) \|/.exec(md)
  return {
    duration: header?.[1],
    samples: header ? Number(header[2]) : null,
    byPackage: Object.fromEntries(Object.entries(groups).sort((a, b) => b[1] - a[1])),
    hot,
  }
}
function trimProfile(md: string) {
  const cut = md.indexOf('## Function Details')
  const files = md.indexOf('## Files')
  return (cut > 0 ? md.slice(0, cut) : md.slice(0, 60_000)) + (files > 0 ? '\n' + md.slice(files) : '')
}

// =====================================================================================
// 2 + 5. Delivery fan-out (one replica, two replicas, paced fake) and its baseline
// =====================================================================================
let fanRun = 0
async function fanOut(shops: { id: number; chat: string }[], label: string, cpuSources: Record<string, () => number>, timeoutMs = 120_000) {
  const tag = `F${++fanRun}x`
  const total = shops.length * FAN_PER_SHOP
  const firstAt = new Map<string, number>()
  const perChat = new Map<string, number[]>()
  const perBot = new Map<string, number[]>()
  let limited = 0
  let duplicates = 0
  let done: () => void = () => {}
  const finished = new Promise<void>((r) => (done = r))
  const re = new RegExp(`${tag}\\d+`)
  collector = (c, wasLimited) => {
    if (c.method !== 'sendMessage') return
    const m = re.exec(String(c.payload.text ?? ''))
    if (!m) return
    if (wasLimited) return void limited++
    if (firstAt.has(m[0])) duplicates++
    else firstAt.set(m[0], c.at)
    const chat = `${c.token}/${c.payload.chat_id}`
    perChat.set(chat, [...(perChat.get(chat) ?? []), c.at])
    perBot.set(c.token, [...(perBot.get(c.token) ?? []), c.at])
    if (firstAt.size === total) done()
  }
  const cpu = cpuMeter(sources(cpuSources))
  const waits = waitSampler(sql)
  // One transaction: the orders, interleaved across shops (order 1 of every shop, then order 2, …), and their outbox rows.
  const ids = shops.map((s) => s.id)
  await sql`
    with o as (
      insert into orders (shop_id, number, total, customer_name, customer_phone, address)
      select s.id, ${tag} || (g * 100000 + s.id), 990 + g, 'Покупатель ' || s.id, '+7 900 000-00-00', 'ул. Тестовая, ' || g
      from unnest(${ids}::bigint[]) s(id), generate_series(1, ${FAN_PER_SHOP}) g
      order by g, s.id
      returning id, shop_id)
    insert into telegram_outbox (shop_id, order_id) select shop_id, id from o order by id`
  const committedAt = Date.now()
  const timedOut = await Promise.race([finished.then(() => false), Bun.sleep(timeoutMs).then(() => true)])
  const c = cpu.stop()
  const pgWaits = await waits.stop()
  collector = null
  const lastAt = Math.max(...firstAt.values())
  const lat = [...firstAt.values()].map((t) => t - committedAt)
  const firstSend = Math.min(...firstAt.values())
  const chatRates = [...perChat.values()].map((ts) => maxInWindow(ts.sort((a, b) => a - b)))
  const botRates = [...perBot.values()].map((ts) => maxInWindow(ts.sort((a, b) => a - b)))
  let tooSoon = 0 // accepted sends less than 1 s after the previous one in the same chat
  for (const ts of perChat.values()) for (let i = 1; i < ts.length; i++) if (ts[i]! - ts[i - 1]! < 1000) tooSoon++
  const [states] = await sql<{ done: string; pending: string; dead: string }[]>`
    select count(*) filter (where d.state = 'done') as done, count(*) filter (where d.state = 'pending') as pending, count(*) filter (where d.state = 'dead') as dead
    from telegram_outbox d join orders o on o.id = d.order_id where o.number like ${tag + '%'}`
  const r = {
    label,
    messages: total,
    delivered: firstAt.size,
    timedOut,
    duplicates,
    durationSec: round((lastAt - committedAt) / 1000, 2),
    perSec: round(firstAt.size / ((lastAt - committedAt) / 1000), 0),
    perSecAfterFirstSend: round(firstAt.size / ((lastAt - firstSend) / 1000), 0),
    firstSendAfterCommitMs: firstSend - committedAt,
    commitToSendMs: summary(lat),
    rateLimited429: limited,
    sendsUnder1sAfterPreviousInChat: tooSoon,
    maxPerChatPerSec: Math.max(...chatRates),
    maxPerBotPerSec: Math.max(...botRates),
    outbox: { done: Number(states!.done), pending: Number(states!.pending), dead: Number(states!.dead) },
    cpu: c,
    pgWaits,
  }
  // Whatever is left (a timed-out paced run) must not leak into the next run.
  await sql`update telegram_outbox d set state = 'dead', locked_by = null, locked_until = null from orders o where o.id = d.order_id and o.number like ${tag + '%'} and d.state = 'pending'`
  log(
    `  ${label}: ${r.delivered}/${total} in ${((lastAt - committedAt) / 1000).toFixed(1)} s = ${r.perSec}/s, p50 ${r.commitToSendMs.p50} ms p99 ${r.commitToSendMs.p99} ms, 429s ${limited}, max/chat/s ${r.maxPerChatPerSec}, cpu ${c.totalPctOfCore}%`,
  )
  return r
}

/** Orders committed one at a time (every 25 ms) instead of in a burst: the latency a quiet dispatcher adds. */
async function trickle(shops: { id: number }[], n: number) {
  const tag = `T${++fanRun}x`
  const commitAt = new Map<string, number>()
  const lat: number[] = []
  let done: () => void = () => {}
  const finished = new Promise<void>((r) => (done = r))
  const re = new RegExp(`${tag}\\d+`)
  collector = (c) => {
    const m = c.method === 'sendMessage' && re.exec(String(c.payload.text ?? ''))
    if (!m || !commitAt.has(m[0])) return
    lat.push(c.at - commitAt.get(m[0])!)
    commitAt.delete(m[0])
    if (lat.length === n) done()
  }
  for (let i = 0; i < n; i++) {
    const shop = shops[(i * 7919) % shops.length]!
    const number = `${tag}${i}`
    await sql`
      with o as (insert into orders (shop_id, number, total, customer_name) values (${shop.id}, ${number}, 100, 'Покупатель') returning id, shop_id)
      insert into telegram_outbox (shop_id, order_id) select shop_id, id from o`
    commitAt.set(number, Date.now())
    await Bun.sleep(25)
  }
  await Promise.race([finished, Bun.sleep(10_000)])
  collector = null
  return { orders: n, delivered: lat.length, commitToSendMs: summary(lat) }
}

async function fanOutAll() {
  log(`fan-out: ${FAN_SHOPS} shops with their own bot and chat`)
  const ids = (await sql<{ id: string }[]>`insert into shops (name) select 'Bench fan-out ' || g from generate_series(1, ${FAN_SHOPS}) g returning id`).map(
    (r) => Number(r.id),
  )
  const shops = ids.map((id, k) => ({ id, chat: String(1_000_000 + k), token: makeToken('fan') }))
  const integ = shops.map((s) => ({
    shop_id: s.id,
    bot_token: cipher.encrypt(s.token, s.id),
    bot_token_masked: 'x',
    bot_id: Number(s.token.split(':')[0]),
    bot_username: `bench${s.id}_bot`,
    chat_id: s.chat,
    enabled: true,
    webhook_id: randomBytes(12).toString('hex'),
    webhook_secret_hash: 'x',
  }))
  await sql`insert into telegram_integrations ${sql(integ)}`

  // baseline: the minimal dispatcher, alone
  log('fan-out: baseline dispatcher')
  const base = spawnProc(
    ['bun', 'bench/baseline-dispatcher.ts'],
    { DATABASE_URL: pg.url, TELEGRAM_API_ROOT: fake.url, ENCRYPTION_KEY },
    0,
    path.join(runDir, 'baseline-dispatcher.log'),
  )
  await Bun.sleep(1500)
  const baseline = await fanOut(shops, 'baseline dispatcher', { baseline: () => cpuSec(base.pid) })
  const quietBase = await trickle(shops, 200)
  log(`  trickle (baseline): commit-to-send p50 ${quietBase.commitToSendMs.p50} ms p99 ${quietBase.commitToSendMs.p99} ms`)
  await base.stop()

  // With the service's own pacing (the default: one message per second per chat) a 10-per-chat burst
  // cannot finish in less than 9 s whatever the machine: that run shows that Telegram's limits hold.
  log('fan-out: one replica, Telegram pacing on (the default)')
  const a = await startService('replica-a')
  await Bun.sleep(500)
  const one = await fanOut(shops, 'service, 1 replica, paced', { 'replica A': () => cpuSec(a.pid) })
  await Bun.sleep(1500) // let the burst's pacing slots (1 s per chat) pass: the trickle measures a quiet dispatcher
  const quiet = await trickle(shops, 200)
  log(`  trickle: commit-to-send p50 ${quiet.commitToSendMs.p50} ms p99 ${quiet.commitToSendMs.p99} ms`)

  log('fan-out: one replica, fake Bot API enforcing 30 msg/s per bot and 1 msg/s per chat')
  fakeOptions.limits = { perBotPerSec: 30, perChatPerSec: 1, retryAfterSec: 1 }
  const paced = await fanOut(shops, 'service, 1 replica, limits enforced by the fake', { 'replica A': () => cpuSec(a.pid) }, QUICK ? 30_000 : 60_000)
  fakeOptions.limits = undefined
  const pacedFloorSec = FAN_PER_SHOP - 1
  await a.stop()

  // Capacity: the same burst with pacing off, so the machine (not Telegram's limits) is the bound.
  const unpaced = { TELEGRAM_CHAT_INTERVAL_MS: '0', TELEGRAM_GROUP_INTERVAL_MS: '0' }
  log('capacity: one replica, pacing off')
  const a0 = await startService('replica-a0', { env: unpaced })
  await Bun.sleep(500)
  const cap1 = await fanOut(shops, 'service, 1 replica, pacing off', { 'replica A': () => cpuSec(a0.pid) })
  log('capacity: two replicas, pacing off')
  const b0 = await startService('replica-b0', { env: unpaced })
  await Bun.sleep(500)
  const cap2 = await fanOut(shops, 'service, 2 replicas, pacing off', { 'replica A': () => cpuSec(a0.pid), 'replica B': () => cpuSec(b0.pid) })
  await b0.stop()
  await a0.stop()

  results.fanOut = {
    shops: FAN_SHOPS,
    perShop: FAN_PER_SHOP,
    baseline,
    oneReplicaPaced: one,
    paced: { ...paced, floorSec: pacedFloorSec },
    capacityOneReplica: cap1,
    capacityTwoReplicas: cap2,
    trickle: quiet,
    trickleBaseline: quietBase,
  }
  row('Fan-out with pacing (1/s per chat): time to deliver 10/chat', one.durationSec, pacedFloorSec, 's', '≈ floor', 1)
  row('Fan-out with pacing: delivered msg/s', one.perSec, baseline.perSec, 'msg/s', undefined, 0)
  row('Fan-out with pacing: sends < 1 s after the previous in a chat', one.sendsUnder1sAfterPreviousInChat, 0, 'sends', 'rare', 0)
  row('Fake enforcing 30/s per bot, 1/s per chat: 429s per message', paced.rateLimited429 / paced.messages, 0, '429/msg', 'rare', 3)
  row('Capacity, pacing off, 1 replica (commit → fake)', cap1.perSec, baseline.perSec, 'msg/s', undefined, 0)
  row('Capacity commit-to-send p50', cap1.commitToSendMs.p50, baseline.commitToSendMs.p50, 'ms', undefined, 0)
  row('Capacity commit-to-send p99', cap1.commitToSendMs.p99, baseline.commitToSendMs.p99, 'ms', undefined, 0)
  row('Scale-out, pacing off: 2 replicas vs 1', cap2.perSec, cap1.perSec, 'msg/s', '≈ 2×', 0)
  row('Trickle (orders committed one by one, 40/s) commit-to-send p50', quiet.commitToSendMs.p50, quietBase.commitToSendMs.p50, 'ms', undefined, 0)
  row('Trickle commit-to-send p99', quiet.commitToSendMs.p99, quietBase.commitToSendMs.p99, 'ms', undefined, 0)
  return shops
}

// =====================================================================================
// 3. Status with 1,000,000 send-log rows
// =====================================================================================
async function status() {
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
  for (let i = 0; i < 200; i++) await sendLogSummary(sql, shopAt(i))
  const d0 = performance.now()
  for (let i = 0; i < N; i++) {
    const s = performance.now()
    await sendLogSummary(sql, shopAt(i))
    direct.push(performance.now() - s)
  }
  const directPerSec = N / ((performance.now() - d0) / 1000)
  const directSummary = summary(direct)

  // the plan, from the text postgres.js actually sends
  let captured: { q: string; p: unknown[] } | null = null
  const dbg = postgres(pg.url, { max: 1, onnotice: () => {}, debug: (_c, q, p) => (captured = { q, p: p as unknown[] }) })
  await sendLogSummary(dbg as unknown as Sql, shopAt(1))
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
  log(`  status p50 ${http1.latencyMs.p50} ms p99 ${http1.latencyMs.p99} ms; direct query p99 ${directSummary.p99} ms; index used: ${usesIndex}`)
  log(
    `  hot shop (${HOT_ROWS} rows in the window) c=16: p50 ${hot16.latencyMs.p50} ms p99 ${hot16.latencyMs.p99} ms; counting the window: p99 ${countedSummary.p99} ms`,
  )
}

// =====================================================================================
// 4. Start-up
// =====================================================================================
function childOf(pid: number): number | null {
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue
    try {
      const s = readFileSync(`/proc/${d}/stat`, 'utf8')
      if (Number(s.slice(s.lastIndexOf(')') + 2).split(' ')[1]) === pid) return Number(d)
    } catch {}
  }
  return null
}

async function startOnce(dataDir: string, label: string) {
  const port = freePort()
  const t = performance.now()
  const p = spawnProc(
    ['bun', 'run', 'start'],
    { PORT: String(port), DATA_DIR: dataDir, DATABASE_URL: '', LOG_LEVEL: 'info', TELEGRAM_MODE: 'mock', ADMIN_TOKEN: '', PUBLIC_URL: '', ENCRYPTION_KEY },
    port,
    path.join(runDir, `start-${label}.log`),
  )
  let child: number | null = null
  onCleanup(() => {
    // `bun run` may not forward signals: make sure the service and its database are gone.
    if (child && rssMiB(child) !== null) {
      try {
        process.kill(child, 'SIGKILL')
      } catch {}
      const cluster = path.join(dataDir, 'pg')
      // The service's cluster runs the same (possibly relocated) binaries as the bench's own.
      if (existsSync(path.join(cluster, 'postmaster.pid'))) stopEmbeddedSync(cluster, pg.pgCtl)
    }
  })
  const ms = await waitHealthy(`http://127.0.0.1:${port}/health`, t, 120_000, p.proc)
  child = childOf(p.pid)
  await Bun.sleep(1500)
  const idleRss = child ? rssMiB(child) : null
  const lines = readFileSync(p.logFile, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => {
      try {
        return JSON.parse(l)
      } catch {
        return null
      }
    })
    .filter(Boolean)
  const ev = (e: string) => lines.find((l: any) => l.event === e)
  // graceful stop of the service itself (it stops its database), then the `bun run` wrapper
  if (child) process.kill(child, 'SIGTERM')
  await Promise.race([p.proc.exited, Bun.sleep(30_000)])
  await p.stop()
  return {
    ms: round(ms, 0),
    idleRssMiB: idleRss === null ? null : round(idleRss),
    initdbMs: ev('embedded_db_initialised')?.ms ?? null,
    serviceStartupMs: ev('listening')?.startupMs ?? null,
    uiBuilt: !!ev('ui_build_started'),
  }
}

async function startup() {
  log('start-up: bare Bun.serve process (baseline), first start on an empty DATA_DIR, warm starts')
  // baseline: a bun process that serves 200 as soon as it can
  const bare: number[] = []
  for (let i = 0; i < 3; i++) {
    const port = freePort()
    const t = performance.now()
    const p = spawnProc(
      ['bun', '-e', `Bun.serve({port:${port},hostname:'127.0.0.1',fetch:()=>new Response('ok')})`],
      {},
      port,
      path.join(runDir, `bare-${i}.log`),
    )
    bare.push(await waitHealthy(`http://127.0.0.1:${port}/health`, t, 30_000, p.proc))
    await p.stop()
  }
  const dataDir = path.join(tempDir('bench-start-'), 'data')
  const cold = await startOnce(dataDir, 'cold')
  log(`  first start: ${cold.ms} ms (initdb ${cold.initdbMs} ms)`)
  const warm: Awaited<ReturnType<typeof startOnce>>[] = []
  for (let i = 0; i < 3; i++) warm.push(await startOnce(dataDir, `warm-${i}`))
  const warmMs = warm.map((w) => w.ms).sort((a, b) => a - b)
  const bareMs = round(bare.sort((a, b) => a - b)[1]!, 0)
  results.startup = { bareBunServeMs: bare.map((x) => round(x, 0)), cold, warm, warmMedianMs: warmMs[1] }
  log(`  warm start median ${warmMs[1]} ms; bare bun ${bareMs} ms`)
  row('Start-up warm → 200 /health (baseline: bare Bun.serve)', warmMs[1]!, bareMs, 'ms', undefined, 0)
  row('Start-up first, empty DATA_DIR (baseline: bare Bun.serve)', cold.ms, bareMs, 'ms', undefined, 0)
}

// =====================================================================================
// 6. Peak day: many shops inside Telegram's limits, a few hot group chats above them
// =====================================================================================
const PEAK_SHOPS = QUICK ? 200 : 1000
const PEAK_HOT = QUICK ? 2 : 3 // group chats getting 40 orders a minute: twice the group limit
const PEAK_GROUPS = QUICK ? 10 : 20 // group chats inside the limit: an order every 15–25 s, ≤ 15 messages a minute with its edits
const PEAK_LOAD_SEC = QUICK ? 20 : 45
const PEAK_STATUS_GAP_MS = 4000
const PEAK_DRAIN_SEC = QUICK ? 150 : 300
const PEAK_LIMITS = { perBotPerSec: 30, perChatPerSec: 1, perGroupPerMin: 20, retryAfterSec: 1 }
const PEAK_STATUSES = ['accepted', 'assembling', 'delivering', 'done'] as const
const PEAK_LABELS = ['Принят', 'Собирается', 'Доставляется', 'Выполнен'] // STATUS_LABELS of the four, in order
type PeakClass = 'private' | 'group' | 'hot'
const PEAK_CLASSES: PeakClass[] = ['private', 'group', 'hot']
const PEAK_CLASS_NAMES: Record<PeakClass, string> = { private: 'private chats', group: 'groups ≤ limit', hot: 'hot groups 2×' }

/** A small seeded PRNG, so every run posts the same schedule. */
function mulberry32(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** The status a message text shows (0 = new, 1 = accepted … 4 = done). */
function shownRank(text: string): number {
  const m = /<b>(Принят|Собирается|Доставляется|Выполнен)<\/b>/.exec(text)
  return m ? PEAK_LABELS.indexOf(m[1]!) + 1 : 0
}

/**
 * Reference new-order lags of one chat, edits ignored, orders sent in arrival order at the earliest
 * moment allowed: `window` by the fake's limits (1/s per chat, 20 in any 60 s per group: bursts
 * allowed, the true floor); `even` by even pacing at those limits (1 s per chat, 3 s per group: what
 * the service's default pacing can do at best).
 */
function idealLags(arrivals: number[], group: boolean, mode: 'window' | 'even'): number[] {
  const sent: number[] = []
  const gap = mode === 'even' && group ? 60_000 / PEAK_LIMITS.perGroupPerMin : 1000 / PEAK_LIMITS.perChatPerSec
  return [...arrivals]
    .sort((a, b) => a - b)
    .map((a) => {
      let t = Math.max(a, (sent[sent.length - 1] ?? -Infinity) + gap)
      if (mode === 'window' && group && sent.length >= PEAK_LIMITS.perGroupPerMin) t = Math.max(t, sent[sent.length - PEAK_LIMITS.perGroupPerMin]! + 60_000)
      sent.push(t)
      return t - a
    })
}

type PeakOrder = {
  number: string
  cls: PeakClass
  chat: string
  shopIdx: number
  postAt: number
  postMs?: number
  httpStatus?: number
  telegramStatus?: string
  error?: string
  sentAt?: number
  duplicateSends: number
  /** accepted sendMessage / editMessageText calls of this order, in arrival order */
  shown: { at: number; rank: number; edit: boolean; text: string }[]
  changes: { rank: number; at: number; ms: number; ok: boolean }[]
}

async function peak() {
  const rnd = mulberry32(17)
  const loadMs = PEAK_LOAD_SEC * 1000
  log(`peak: ${PEAK_SHOPS} shops (${PEAK_HOT} hot groups at 40 orders/min, ${PEAK_GROUPS} groups inside the limit), ${PEAK_LOAD_SEC} s of orders`)
  const ids = (
    await sql<{ id: string }[]>`insert into shops (name, summary_time)
       select 'Bench peak ' || g, (now() at time zone 'Europe/Moscow' + interval '12 hours')::time from generate_series(1, ${PEAK_SHOPS}) g returning id`
  ).map((r) => Number(r.id))
  // Shop k: the first PEAK_HOT are hot groups, the next PEAK_GROUPS quiet groups, the rest private chats.
  const shops = ids.map((id, k) => {
    const cls: PeakClass = k < PEAK_HOT ? 'hot' : k < PEAK_HOT + PEAK_GROUPS ? 'group' : 'private'
    const chat = cls === 'private' ? String(3_000_000 + k) : String(-1_001_000_000_000 - k)
    const times: number[] = []
    if (cls === 'hot') for (let t = rnd() * 1500; t < loadMs; t += 1500) times.push(t)
    else if (cls === 'group') for (let t = rnd() * 20_000; t < loadMs; t += 15_000 + rnd() * 10_000) times.push(t)
    else if (rnd() < 0.2)
      for (let t = rnd() * 10_000; t < loadMs; t += 6000 + rnd() * 8000) times.push(t) // a busier shop
    else {
      // most shops: a handful of orders (1–3), at least 5 s apart
      const n = 1 + Math.floor(rnd() * 3)
      const ts = Array.from({ length: n }, () => rnd() * loadMs).sort((a, b) => a - b)
      for (const t of ts) if (!times.length || t - times[times.length - 1]! >= 5000) times.push(t)
    }
    return { id, k, cls, chat, token: makeToken('peak'), times, busy: cls === 'private' && times.length > 3 }
  })
  const integ = shops.map((s) => ({
    shop_id: s.id,
    bot_token: cipher.encrypt(s.token, s.id),
    bot_token_masked: 'x',
    bot_id: Number(s.token.split(':')[0]),
    bot_username: `peak${s.id}_bot`,
    chat_id: s.chat,
    enabled: true,
    webhook_id: randomBytes(12).toString('hex'),
    webhook_secret_hash: 'x',
  }))
  await sql`insert into telegram_integrations ${sql(integ)}`
  const chatClass = new Map(shops.map((s) => [s.chat, s.cls]))

  // The service with its default pacing (1 s per chat, 3 s per group); the fake enforces Telegram's limits.
  const svc = await startService('peak')
  await Bun.sleep(500)
  fakeOptions.limits = PEAK_LIMITS

  const orders = new Map<string, PeakOrder>()
  const per = Object.fromEntries(
    PEAK_CLASSES.map((c) => [c, { limitedSends: 0, limitedEdits: 0, sends: 0, edits: 0, unchangedEdits: 0, accepted: new Map<string, number[]>() }]),
  ) as Record<PeakClass, { limitedSends: number; limitedEdits: number; sends: number; edits: number; unchangedEdits: number; accepted: Map<string, number[]> }>
  let strayCalls = 0 // accepted sends to peak chats without an order number (e.g. a morning summary)
  // What each 429 came after: the chat's previous accepted call (to tell which pacing rule was broken, and by whom).
  const lastAccepted = new Map<string, { at: number; method: string; number: string | null }>()
  const limitedCalls: {
    cls: PeakClass
    method: string
    number: string | null
    at: number
    after: { method: string; number: string | null; msBefore: number } | null
  }[] = []
  collector = (c, limited) => {
    if (c.method !== 'sendMessage' && c.method !== 'editMessageText') return
    const chat = String(c.payload.chat_id)
    const cls = chatClass.get(chat)
    if (!cls) return
    const st = per[cls]
    const edit = c.method === 'editMessageText'
    const text = String(c.payload.text ?? '')
    const m = /№(pk\d+n\d+)/.exec(text)
    if (limited) {
      const prev = lastAccepted.get(chat)
      limitedCalls.push({
        cls,
        method: c.method,
        number: m?.[1] ?? null,
        at: c.at,
        after: prev ? { method: prev.method, number: prev.number, msBefore: c.at - prev.at } : null,
      })
      return void (edit ? st.limitedEdits++ : st.limitedSends++)
    }
    lastAccepted.set(chat, { at: c.at, method: c.method, number: m?.[1] ?? null })
    st.accepted.set(chat, [...(st.accepted.get(chat) ?? []), c.at])
    const o = m ? orders.get(m[1]!) : undefined
    if (!o) return void strayCalls++
    if (edit) {
      st.edits++
      if (o.shown.length && o.shown[o.shown.length - 1]!.text === text) st.unchangedEdits++
    } else {
      st.sends++
      if (o.sentAt === undefined) o.sentAt = c.at
      else o.duplicateSends++
    }
    o.shown.push({ at: c.at, rank: shownRank(text), edit, text })
  }

  const base = `http://127.0.0.1:${svc.port}`
  const headers = { 'content-type': 'application/json', ...AUTH }
  const start = Date.now() + 200
  const flow = async (s: (typeof shops)[number], j: number, at: number) => {
    await Bun.sleep(Math.max(0, start + at - Date.now()))
    const o: PeakOrder = { number: `pk${s.k}n${j}`, cls: s.cls, chat: s.chat, shopIdx: s.k, postAt: Date.now(), duplicateSends: 0, shown: [], changes: [] }
    orders.set(o.number, o)
    let orderId: number
    try {
      const r = await fetch(`${base}/shops/${s.id}/orders`, {
        method: 'POST',
        headers,
        body: JSON.stringify(sampleOrder(o.number, String(900 + ((s.k * 7 + j) % 9000)))),
      })
      const body = (await r.json()) as { order?: { id: number }; telegramStatus?: string }
      o.postMs = Date.now() - o.postAt
      o.httpStatus = r.status
      o.telegramStatus = body.telegramStatus
      if (r.status !== 201 || !body.order) return void (o.error = `${r.status} ${JSON.stringify(body).slice(0, 200)}`)
      orderId = body.order.id
    } catch (err) {
      return void (o.error = String(err))
    }
    for (const [i, status] of PEAK_STATUSES.entries()) {
      await Bun.sleep(PEAK_STATUS_GAP_MS)
      const at = Date.now()
      try {
        const r = await fetch(`${base}/shops/${s.id}/orders/${orderId}`, { method: 'PATCH', headers, body: JSON.stringify({ status }) })
        const body = (await r.json()) as { changed?: boolean }
        o.changes.push({ rank: i + 1, at, ms: Date.now() - at, ok: r.status === 200 && body.changed === true })
      } catch {
        o.changes.push({ rank: i + 1, at, ms: Date.now() - at, ok: false })
      }
    }
  }
  const cpu = cpuMeter(sources({ service: () => cpuSec(svc.pid) }))
  const flows = shops.flatMap((s) => s.times.map((t, j) => flow(s, j, t)))
  log(`  ${flows.length} orders scheduled, each then moved through ${PEAK_STATUSES.length} statuses ${PEAK_STATUS_GAP_MS / 1000} s apart`)
  const progress = setInterval(() => {
    const all = [...orders.values()]
    const sent = all.filter((o) => o.sentAt !== undefined).length
    const limited = PEAK_CLASSES.reduce((a, c) => a + per[c].limitedSends + per[c].limitedEdits, 0)
    log(`  posted ${all.length}, sent ${sent}, edits ${PEAK_CLASSES.reduce((a, c) => a + per[c].edits, 0)}, 429s ${limited}`)
  }, 5000)
  await Promise.all(flows)
  const flowsDoneSec = (Date.now() - start) / 1000

  // Drain: wait until no new-order or status notification of these shops is pending (bounded).
  const pendingCount = async () => {
    const [r] = await sql<{ n: number }[]>`
      select count(*)::int as n from telegram_outbox where shop_id = any(${ids}::bigint[]) and state = 'pending' and kind in ('order', 'order_status')`
    return r!.n
  }
  const drainDeadline = Date.now() + PEAK_DRAIN_SEC * 1000
  let pending = await pendingCount()
  while (pending > 0 && Date.now() < drainDeadline) {
    await Bun.sleep(500)
    pending = await pendingCount()
  }
  const drainedSec = (Date.now() - start) / 1000
  clearInterval(progress)
  await Bun.sleep(300)
  const c = cpu.stop()
  collector = null
  fakeOptions.limits = undefined
  const outbox = await sql<{ cls: string; kind: string; state: string; n: number; attempts: number; last_error_code: string | null }[]>`
    select s.cls, d.kind, d.state, count(*)::int as n, max(d.attempts)::int as attempts, max(d.last_error_code) as last_error_code
    from telegram_outbox d join unnest(${ids}::bigint[], ${shops.map((x) => x.cls)}::text[]) s(id, cls) on s.id = d.shop_id
    where d.kind in ('order', 'order_status')
    group by 1, 2, 3 order by 1, 2, 3`
  await svc.stop()

  // ---- figures per class ----
  const all = [...orders.values()]
  const byClass = Object.fromEntries(
    PEAK_CLASSES.map((cls) => {
      const os = all.filter((o) => o.cls === cls)
      const ok = os.filter((o) => o.httpStatus === 201)
      const lag = ok.filter((o) => o.sentAt !== undefined).map((o) => o.sentAt! - o.postAt)
      const chats = new Map<string, number[]>()
      for (const o of ok) chats.set(o.chat, [...(chats.get(o.chat) ?? []), o.postAt])
      const ideal = [...chats.values()].flatMap((a) => idealLags(a, cls !== 'private', 'window'))
      const even = [...chats.values()].flatMap((a) => idealLags(a, cls !== 'private', 'even'))
      // accepted edits of the same chat while a new order waited for its message (it was posted, not yet sent)
      let editsWhileWaiting = 0
      let ordersWaitingBehindEdits = 0
      const behindEdits: { number: string; lagMs: number; sentInRequest: boolean; editsMsAfterPost: number[] }[] = []
      for (const o of ok) {
        if (o.sentAt === undefined) continue
        const edits = ok.filter((x) => x.chat === o.chat).flatMap((x) => x.shown.filter((e) => e.edit && e.at > o.postAt && e.at < o.sentAt!))
        editsWhileWaiting += edits.length
        if (!edits.length) continue
        ordersWaitingBehindEdits++
        if (behindEdits.length < 10)
          behindEdits.push({
            number: o.number,
            lagMs: o.sentAt - o.postAt,
            sentInRequest: o.telegramStatus === 'sent',
            editsMsAfterPost: edits.map((e) => e.at - o.postAt),
          })
      }
      const editLag: number[] = []
      let statusChanges = 0
      let notShown = 0
      let finalNotShown = 0
      for (const o of ok) {
        for (const ch of o.changes.filter((x) => x.ok)) {
          statusChanges++
          const e = o.shown.find((x) => x.edit && x.rank >= ch.rank)
          if (e) editLag.push(e.at - ch.at)
          else notShown++
        }
        const last = o.shown[o.shown.length - 1]
        if (o.changes.some((x) => x.ok && x.rank === PEAK_STATUSES.length) && (!last || last.rank < PEAK_STATUSES.length)) finalNotShown++
      }
      const st = per[cls]
      const perChat = [...st.accepted.values()].map((ts) => ts.sort((a, b) => a - b))
      const shopsOf = shops.filter((s) => s.cls === cls)
      return [
        cls,
        {
          shops: shopsOf.length,
          busyShops: shopsOf.filter((s) => s.busy).length,
          orders: os.length,
          created: ok.length,
          postErrors: os.length - ok.length,
          firstPostError: os.find((o) => o.error)?.error ?? null,
          sentInRequest: ok.filter((o) => o.telegramStatus === 'sent').length,
          postLatencyMs: summary(ok.map((o) => o.postMs!)),
          newOrderLagMs: summary(lag),
          newOrderLagIdealMs: summary(ideal),
          newOrderLagEvenPacingMs: summary(even),
          ordersWaitingBehindEdits,
          editsWhileWaiting,
          behindEdits,
          lost: ok.filter((o) => o.sentAt === undefined).length,
          duplicateSends: ok.reduce((a, o) => a + o.duplicateSends, 0),
          statusChanges,
          statusChangeErrors: ok.reduce((a, o) => a + o.changes.filter((x) => !x.ok).length, 0),
          patchLatencyMs: summary(ok.flatMap((o) => o.changes.map((x) => x.ms))),
          editsAccepted: st.edits,
          editsCoalesced: statusChanges - st.edits,
          editsUnchangedText: st.unchangedEdits,
          editLagMs: summary(editLag),
          statusesNeverShownByAnEdit: notShown,
          finalStatusNotShown: finalNotShown,
          rateLimited429: { sendMessage: st.limitedSends, editMessageText: st.limitedEdits, total: st.limitedSends + st.limitedEdits },
          maxPerChatIn1s: Math.max(0, ...perChat.map((ts) => maxInWindow(ts))),
          maxPerChatIn60s: Math.max(0, ...perChat.map((ts) => maxInWindow(ts, 60_000))),
          outbox: outbox.filter((r) => r.cls === cls).map(({ cls: _, ...r }) => r),
        },
      ]
    }),
  ) as Record<PeakClass, any>

  results.peak = {
    shops: PEAK_SHOPS,
    hotShops: PEAK_HOT,
    groupShops: PEAK_GROUPS,
    loadSec: PEAK_LOAD_SEC,
    statusGapMs: PEAK_STATUS_GAP_MS,
    fakeLimits: PEAK_LIMITS,
    pacing: 'service defaults (TELEGRAM_CHAT_INTERVAL_MS 1000, TELEGRAM_GROUP_INTERVAL_MS 1000, TELEGRAM_GROUP_PER_MINUTE 20)',
    flowsDoneSec: round(flowsDoneSec),
    drainedSec: round(drainedSec),
    drained: pending === 0,
    pendingAtEnd: pending,
    strayCalls,
    // the first 50 429s: what they were, and the chat's previous accepted call (was it the order request's own first attempt?)
    limitedCalls: limitedCalls.slice(0, 50).map((l) => ({
      ...l,
      at: l.at - start,
      afterInRequest: l.after?.method === 'sendMessage' && !!l.after.number && orders.get(l.after.number)?.telegramStatus === 'sent',
    })),
    cpu: c,
    byClass,
  }

  const s = (ms: number) => (Number.isFinite(ms) ? `${fmt(ms / 1000, 2)} s` : '–')
  const cls3 = (f: (x: any) => string) => PEAK_CLASSES.map((k) => f(byClass[k]))
  const t: { figure: string; cells: string[]; goal: string }[] = [
    { figure: 'shops (busier) / orders created', cells: cls3((x) => `${x.shops}${x.busyShops ? ` (${x.busyShops})` : ''} / ${x.created}`), goal: '' },
    { figure: 'order POST errors', cells: cls3((x) => String(x.postErrors)), goal: '0' },
    { figure: 'sent by the request itself', cells: cls3((x) => `${x.sentInRequest}`), goal: '' },
    { figure: 'POST latency p50 / p99', cells: cls3((x) => `${fmt(x.postLatencyMs.p50, 0)} / ${fmt(x.postLatencyMs.p99, 0)} ms`), goal: '' },
    { figure: 'new-order lag p50', cells: cls3((x) => s(x.newOrderLagMs.p50)), goal: '' },
    { figure: 'new-order lag p99', cells: cls3((x) => s(x.newOrderLagMs.p99)), goal: '≤ 3 s inside limits' },
    { figure: 'new-order lag max', cells: cls3((x) => s(x.newOrderLagMs.max)), goal: '' },
    {
      figure: 'lag p99 / max, ideal sender (fake limits)',
      cells: cls3((x) => `${s(x.newOrderLagIdealMs.p99)} / ${s(x.newOrderLagIdealMs.max)}`),
      goal: 'floor',
    },
    {
      figure: 'lag p99 / max, ideal at 1 s / 3 s pacing',
      cells: cls3((x) => `${s(x.newOrderLagEvenPacingMs.p99)} / ${s(x.newOrderLagEvenPacingMs.max)}`),
      goal: '',
    },
    { figure: 'new orders with edits sent while waiting', cells: cls3((x) => `${x.ordersWaitingBehindEdits} (${x.editsWhileWaiting} edits)`), goal: '' },
    { figure: 'edit lag p50 (status change → edit)', cells: cls3((x) => s(x.editLagMs.p50)), goal: '' },
    { figure: 'edit lag p99', cells: cls3((x) => s(x.editLagMs.p99)), goal: '' },
    { figure: 'edit lag max', cells: cls3((x) => s(x.editLagMs.max)), goal: '' },
    { figure: '429s received (send / edit)', cells: cls3((x) => `${x.rateLimited429.sendMessage} / ${x.rateLimited429.editMessageText}`), goal: '0 × 429' },
    { figure: 'status changes / edits accepted', cells: cls3((x) => `${x.statusChanges} / ${x.editsAccepted}`), goal: '' },
    { figure: 'edits coalesced', cells: cls3((x) => String(x.editsCoalesced)), goal: '' },
    { figure: 'edits with unchanged text', cells: cls3((x) => String(x.editsUnchangedText)), goal: '' },
    { figure: 'messages lost (no accepted sendMessage)', cells: cls3((x) => String(x.lost)), goal: '0 (above limits too)' },
    { figure: 'duplicate sendMessage', cells: cls3((x) => String(x.duplicateSends)), goal: '0' },
    { figure: 'final status not shown at the end', cells: cls3((x) => String(x.finalStatusNotShown)), goal: '0' },
    { figure: 'max accepted per chat in 1 s / in 60 s', cells: cls3((x) => `${x.maxPerChatIn1s} / ${x.maxPerChatIn60s}`), goal: '≤ 1 / ≤ 20 (groups)' },
  ]
  results.peak.table = t
  const total429 = PEAK_CLASSES.reduce((a, k) => a + byClass[k].rateLimited429.total, 0)
  const totalLost = PEAK_CLASSES.reduce((a, k) => a + byClass[k].lost, 0)
  // baselines: one pacing slot for the chats inside the limits; for the hot groups the ideal sender
  // under the fake's limits (each message as early as 1/s per chat and 20 per minute per group allow)
  row('Peak day: new-order lag p99, private chats (vs 1 s slot)', byClass.private.newOrderLagMs.p99, 1000, 'ms', '≤ 3 s', 0)
  row('Peak day: new-order lag p99, groups ≤ limit (vs 1 s slot)', byClass.group.newOrderLagMs.p99, 1000, 'ms', '≤ 3 s', 0)
  row('Peak day: new-order lag p99, hot groups 2× (vs the ideal sender)', byClass.hot.newOrderLagMs.p99, byClass.hot.newOrderLagIdealMs.p99, 'ms', undefined, 0)
  row('Peak day: 429s received, all classes', total429, 0, '429s', '0', 0)
  row('Peak day: orders without an accepted sendMessage', totalLost, 0, 'orders', '0', 0)
  log(
    `  peak: flows done at ${round(flowsDoneSec)} s, outbox ${pending === 0 ? 'drained' : `NOT drained (${pending} pending)`} at ${round(drainedSec)} s; 429s ${total429}, lost ${totalLost}`,
  )
}

// =====================================================================================
const RESULTS = path.join(ROOT, 'bench', 'results')
mkdirSync(RESULTS, { recursive: true })
let failed = false
try {
  const machine = {
    cores: os.cpus().length,
    cpu: os.cpus()[0]?.model,
    ramGiB: round(os.totalmem() / 2 ** 30, 1),
    os: `${os.type()} ${os.release()}`,
    bun: Bun.version,
    postgres: pgVersion,
    note: 'The load generator and the fake Bot API run in the bench process; PostgreSQL, the service and the baselines run on the same cores.',
  }
  results.date = new Date().toISOString()
  results.machine = machine
  results.quick = QUICK
  if (process.env.BENCH_SERVICE_ROOT) results.serviceRoot = process.env.BENCH_SERVICE_ROOT
  // BENCH_ONLY=intake,fanout,peak,status,startup runs a subset (for trying a change); the default is all.
  const only = (process.env.BENCH_ONLY ?? 'intake,fanout,peak,status,startup').split(',')
  if (only.includes('intake')) await intake()
  if (only.includes('fanout')) await fanOutAll()
  if (only.includes('peak')) await peak()
  if (only.includes('status')) await status()
  if (only.includes('startup')) await startup()
} catch (err) {
  failed = true
  console.error('bench failed:', err)
} finally {
  await cleanupAll()
}

results.elapsedSec = round((performance.now() - t0) / 1000, 0)
const stamp = results.date.replace(/[:.]/g, '-')
const partial = !!(process.env.BENCH_ONLY || process.env.BENCH_SERVICE_ROOT || QUICK)
writeFileSync(path.join(RESULTS, `${stamp}${partial ? '-partial' : ''}.json`), JSON.stringify({ ...results, table: rows }, null, 2))
if (!partial) writeFileSync(path.join(RESULTS, 'latest.json'), JSON.stringify({ ...results, table: rows }, null, 2))

const w = [58, 16, 16, 7, 14]
const cell = (s: string, n: number) => (s.length > n ? s.slice(0, n - 1) + '…' : s.padEnd(n))
console.log(
  `\n${results.date}  ${results.machine?.cores} cores (${results.machine?.cpu}), ${results.machine?.ramGiB} GiB RAM, Bun ${Bun.version}, PostgreSQL ${pgVersion}${QUICK ? '  [BENCH_QUICK]' : ''}`,
)
console.log(results.machine?.note)
console.log(['figure', 'value', 'baseline', 'ratio', 'goal'].map((h, i) => cell(h, w[i]!)).join(' │ '))
console.log(w.map((n) => '─'.repeat(n)).join('─┼─'))
for (const r of rows) console.log([r.figure, r.value, r.baseline, r.ratio, r.goal ?? ''].map((h, i) => cell(h, w[i]!)).join(' │ '))
if (results.peak?.table) {
  const pw = [42, 20, 20, 20, 22]
  const p = results.peak
  console.log(
    `\npeak day: ${p.shops} shops, ${p.loadSec} s of orders + statuses ${p.statusGapMs / 1000} s apart, fake enforcing 30/s per bot, 1/s per chat, 20/min per group; ${p.drained ? `drained at ${p.drainedSec} s` : `NOT drained after ${p.drainedSec} s (${p.pendingAtEnd} pending)`}`,
  )
  console.log(['figure', ...PEAK_CLASSES.map((k) => PEAK_CLASS_NAMES[k]), 'goal'].map((h, i) => cell(h, pw[i]!)).join(' │ '))
  console.log(pw.map((n) => '─'.repeat(n)).join('─┼─'))
  for (const r of results.peak.table as { figure: string; cells: string[]; goal: string }[])
    console.log([r.figure, ...r.cells, r.goal].map((h, i) => cell(h, pw[i]!)).join(' │ '))
}
console.log(`\nresults: bench/results/${stamp}${partial ? '-partial' : ''}.json${partial ? '' : ' (and latest.json)'}, ${results.elapsedSec} s`)
process.exit(failed ? 1 : 0)
