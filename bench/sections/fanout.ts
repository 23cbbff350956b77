/** 2 + 5. Delivery fan-out (one replica, two replicas, paced fake) and its baseline. */
import { randomBytes } from 'node:crypto'
import path from 'node:path'
import { makeToken } from '../../api/test/fake-telegram'
import { cpuMeter, cpuSec, maxInWindow, round, spawnProc, summary, waitSampler } from '../lib'
import {
  hooks,
  fakeOptions,
  sql,
  pg,
  log,
  row,
  results,
  startService,
  sources,
  runDir,
  cipher,
  ENCRYPTION_KEY,
  QUICK,
  FAN_SHOPS,
  FAN_PER_SHOP,
  fake,
} from './context'

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
  hooks.collector = (c, wasLimited) => {
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
  hooks.collector = null
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
  hooks.collector = (c) => {
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
  hooks.collector = null
  return { orders: n, delivered: lat.length, commitToSendMs: summary(lat) }
}

export async function fanOutAll() {
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
  row('Fan-out with pacing (1/s per chat): time to deliver 10/chat', one.durationSec, pacedFloorSec, 's', '≤ 1.2×', 1)
  row('Fan-out with pacing: delivered msg/s', one.perSec, baseline.perSec, 'msg/s', undefined, 0)
  row('Fan-out with pacing: sends < 1 s after the previous in a chat', one.sendsUnder1sAfterPreviousInChat, 0, 'sends', 'rare', 0)
  row('Fake enforcing 30/s per bot, 1/s per chat: 429s per message', paced.rateLimited429 / paced.messages, 0, '429/msg', 'rare', 3)
  row('Capacity, pacing off, 1 replica (commit → fake)', cap1.perSec, baseline.perSec, 'msg/s', '≥ 0.8×', 0)
  row('Capacity commit-to-send p50', cap1.commitToSendMs.p50, baseline.commitToSendMs.p50, 'ms', undefined, 0)
  row('Capacity commit-to-send p99', cap1.commitToSendMs.p99, baseline.commitToSendMs.p99, 'ms', undefined, 0)
  row('Scale-out, pacing off: 2 replicas vs 1', cap2.perSec, cap1.perSec, 'msg/s', '≈ 2×', 0)
  row('Trickle (orders committed one by one, 40/s) commit-to-send p50', quiet.commitToSendMs.p50, quietBase.commitToSendMs.p50, 'ms', undefined, 0)
  row('Trickle commit-to-send p99', quiet.commitToSendMs.p99, quietBase.commitToSendMs.p99, 'ms', undefined, 0)
  return shops
}
