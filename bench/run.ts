/**
 * `bun run bench`: every performance figure of issue 8 in one run, each beside a baseline measured in
 * the same run (the machine is noisy and shared). Prints a table and writes bench/results/<stamp>.json
 * and bench/results/latest.json. Not part of `bun test`.
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

  const shopAt = (i: number) => lo + ((i * 7919) % STATUS_SHOPS)
  const svc = await startService('status')
  const N = QUICK ? 500 : 2000
  const get = (i: number) => ({ url: `http://127.0.0.1:${svc.port}/shops/${shopAt(i)}/telegram/status`, init: { headers: AUTH } })
  await load({ total: 200, concurrency: 1, make: get })
  const http1 = await load({ total: N, concurrency: 1, make: get })
  const http16 = await load({ total: N, concurrency: 16, make: get })
  await svc.stop()

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
    baselineDirect: { latencyMs: directSummary, perSec: round(directPerSec, 0) },
    plan,
    indexUsed: usesIndex,
  }
  row('Status GET p50 (1M log rows, c=1)', http1.latencyMs.p50, directSummary.p50, 'ms', undefined, 2)
  row('Status GET p99 (1M log rows, c=1)', http1.latencyMs.p99, directSummary.p99, 'ms', '< 5 ms', 2)
  row('Status GET c=16 (baseline: query c=1)', http16.perSec, directPerSec, 'req/s', undefined, 0)
  log(`  status p50 ${http1.latencyMs.p50} ms p99 ${http1.latencyMs.p99} ms; direct query p99 ${directSummary.p99} ms; index used: ${usesIndex}`)
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
  // BENCH_ONLY=intake,fanout,status,startup runs a subset (for trying a change); the default is all.
  const only = (process.env.BENCH_ONLY ?? 'intake,fanout,status,startup').split(',')
  if (only.includes('intake')) await intake()
  if (only.includes('fanout')) await fanOutAll()
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
console.log(`\nresults: bench/results/${stamp}${partial ? '-partial' : ''}.json${partial ? '' : ' (and latest.json)'}, ${results.elapsedSec} s`)
process.exit(failed ? 1 : 0)
