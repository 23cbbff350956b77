/** 6. Peak day: many shops inside Telegram's limits, a few hot group chats above them. */
import { randomBytes } from 'node:crypto'
import { makeToken } from '../../api/test/fake-telegram'
import { cpuMeter, cpuSec, maxInWindow, round, summary, sampleOrder, waitSampler } from '../lib'
import { hooks, fakeOptions, sql, log, row, fmt, results, startService, sources, cipher, AUTH, QUICK } from './context'

// =====================================================================================
// 6. Peak day: many shops inside Telegram's limits, a few hot group chats above them
// =====================================================================================
const PEAK_SHOPS = QUICK ? 200 : 1000
const PEAK_HOT = QUICK ? 2 : 3 // group chats getting 40 orders a minute: twice the group limit
const PEAK_GROUPS = QUICK ? 10 : 20 // group chats inside the limit: an order every 15–25 s, ≤ 15 messages a minute with its edits
const PEAK_BUSY = QUICK ? 2 : 5 // edit-heavy groups: 10 new orders a minute (half the limit), 4 status changes each (50 messages wanted a minute)
const PEAK_LOAD_SEC = QUICK ? 20 : 45
const PEAK_STATUS_GAP_MS = 4000
const PEAK_DRAIN_SEC = QUICK ? 150 : 300
const PEAK_LIMITS = { perBotPerSec: 30, perChatPerSec: 1, perGroupPerMin: 20, retryAfterSec: 1 }
const PEAK_STATUSES = ['accepted', 'assembling', 'delivering', 'done'] as const
const PEAK_LABELS = ['Принят', 'Собирается', 'Доставляется', 'Выполнен'] // STATUS_LABELS of the four, in order
type PeakClass = 'private' | 'group' | 'busy' | 'hot'
export const PEAK_CLASSES: PeakClass[] = ['private', 'group', 'busy', 'hot']
export const PEAK_CLASS_NAMES: Record<PeakClass, string> = {
  private: 'private chats',
  group: 'groups ≤ limit',
  busy: 'edit-heavy groups',
  hot: 'hot groups 2×',
}

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

export async function peak() {
  const rnd = mulberry32(17)
  const loadMs = PEAK_LOAD_SEC * 1000
  log(
    `peak: ${PEAK_SHOPS} shops (${PEAK_HOT} hot groups at 40 orders/min, ${PEAK_GROUPS} groups inside the limit, ${PEAK_BUSY} edit-heavy groups at 10 orders/min), ${PEAK_LOAD_SEC} s of orders`,
  )
  const ids = (
    await sql<{ id: string }[]>`insert into shops (name, summary_time)
       select 'Bench peak ' || g, (now() at time zone 'Europe/Moscow' + interval '12 hours')::time from generate_series(1, ${PEAK_SHOPS}) g returning id`
  ).map((r) => Number(r.id))
  // Shop k: the first PEAK_HOT are hot groups, the next PEAK_BUSY edit-heavy groups, the next PEAK_GROUPS quiet groups, the rest private chats.
  const shops = ids.map((id, k) => {
    const cls: PeakClass = k < PEAK_HOT ? 'hot' : k < PEAK_HOT + PEAK_BUSY ? 'busy' : k < PEAK_HOT + PEAK_BUSY + PEAK_GROUPS ? 'group' : 'private'
    const chat = cls === 'private' ? String(3_000_000 + k) : String(-1_001_000_000_000 - k)
    const times: number[] = []
    if (cls === 'hot') for (let t = rnd() * 1500; t < loadMs; t += 1500) times.push(t)
    else if (cls === 'busy') for (let t = rnd() * 6000; t < loadMs; t += 6000 + rnd() * 1000) times.push(t)
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
  hooks.collector = (c, limited) => {
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
  // The fake Bot API runs in this process and stamps a call when its handler runs: a stall of this
  // event loop would make calls sent a second apart look simultaneous (a 429 that Telegram would not
  // give). Stalls over 100 ms are recorded, to tell such 429s from the service's.
  const stalls: { at: number; ms: number }[] = []
  let tick = performance.now()
  const lagTimer = setInterval(() => {
    const now = performance.now()
    if (now - tick > 150) stalls.push({ at: Date.now() - start, ms: Math.round(now - tick - 50) })
    tick = now
  }, 50)
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
  // what the database's sessions are doing during the day, by statement (where a request waits)
  const waits = waitSampler(sql, 100, { byQuery: true, top: 15 })
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
  clearInterval(lagTimer)
  const dbWaits = await waits.stop()
  log('  database sessions by state and statement (average busy backends):')
  for (const [k, v] of Object.entries(dbWaits)) log(`    ${String(v.avgBackends).padStart(6)}  ${k}`)
  hooks.collector = null
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
    editHeavyGroupShops: PEAK_BUSY,
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
    dbWaits,
    benchLoopStalls: { count: stalls.length, maxMs: Math.max(0, ...stalls.map((x) => x.ms)), first: stalls.slice(0, 30) },
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
  row('Peak day: new-order lag p99, edit-heavy groups 10/min + 4 edits (vs 1 s slot)', byClass.busy.newOrderLagMs.p99, 1000, 'ms', '≤ 3.5 s', 0)
  row('Peak day: new-order lag p99, hot groups 2× (vs the ideal sender)', byClass.hot.newOrderLagMs.p99, byClass.hot.newOrderLagIdealMs.p99, 'ms', undefined, 0)
  row('Peak day: 429s received, all classes', total429, 0, '429s', '0', 0)
  row('Peak day: orders without an accepted sendMessage', totalLost, 0, 'orders', '0', 0)
  log(
    `  peak: flows done at ${round(flowsDoneSec)} s, outbox ${pending === 0 ? 'drained' : `NOT drained (${pending} pending)`} at ${round(drainedSec)} s; 429s ${total429}, lost ${totalLost}`,
  )
}
