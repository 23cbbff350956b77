import { afterAll, beforeAll, expect, test } from 'bun:test'
import { randomBytes } from 'node:crypto'
import { connect } from 'node:net'
import fc from 'fast-check'
import type postgres from 'postgres'
import { signLaunchToken } from '../api/src/access'
import { isCanonicalPath, RULES, ruleOf } from '../api/src/platform/http/auth'
import { makeToken } from '../api/test/fake-telegram'
import { ChaosBot } from './lib/fake-bot'
import { call, jsonHeaders, r1 } from './lib/http'
import { Pg } from './lib/pg'
import { allLogs, disposeAll, ServiceProc } from './lib/service'

/**
 * Issue 23 as a black box: every route of the rule table, on path variants (trailing slash, doubled
 * slash, case, percent-escapes, dot segments), with bodies of every content type and strings carrying
 * NUL bytes and lone surrogates, sent with the credentials of two shops. Requests go over a raw
 * socket, byte for byte (an HTTP client would tidy the path first).
 * Holds: no 5xx; a path variant never answers 2xx; a 4xx changes nothing; a credential of one shop
 * never changes the other shop. Run: `cd chaos && bun test --timeout 600000 access-fuzz.test.ts`.
 */
const SCALE = Number(process.env.CHAOS_SCALE ?? 1)
const CASES = Math.round(3000 * SCALE)
const SEED = Number(process.env.CHAOS_SEED ?? Date.now() % 1_000_000)
const ADMIN = `adm-${randomBytes(16).toString('hex')}`
const PLATFORM_SECRET = randomBytes(24).toString('hex')

let pg: Pg
let bot: ChaosBot
let svc: ServiceProc
let sql: postgres.Sql

beforeAll(async () => {
  bot = new ChaosBot()
  pg = await Pg.start()
  await pg.createDb('chaos_access')
  sql = pg.sql('chaos_access', 4)
  svc = new ServiceProc('access', {
    DATABASE_URL: pg.url('chaos_access'),
    TELEGRAM_MODE: 'real',
    TELEGRAM_API_ROOT: bot.url,
    TELEGRAM_TIMEOUT_MS: '10000',
    LOG_LEVEL: 'info',
    ENCRYPTION_KEY: randomBytes(32).toString('hex'),
    ADMIN_TOKEN: ADMIN,
    PLATFORM_SECRET,
    // budgets off: the fuzz sends thousands of failed credentials from one address on purpose
    RATE_LIMIT_ORDERS_PER_MINUTE: '0',
    RATE_LIMIT_WRITES_PER_MINUTE: '0',
    TEST_MESSAGE_INTERVAL_MS: '0',
    AUTH_SESSIONS_PER_MINUTE: '0',
    AUTH_FAILURES_PER_MINUTE: '0',
  })
  await svc.start()
})

afterAll(async () => {
  await disposeAll()
  bot?.stop()
  await pg?.destroy()
})

type Raw = { status: number; body: string }

/** One HTTP/1.1 request as these exact bytes; the status and body of the answer. */
function raw(port: number, method: string, path: string, headers: Record<string, string>, body?: Buffer): Promise<Raw> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = []
    const socket = connect(port, '127.0.0.1', () => {
      const lines = [`${method} ${path} HTTP/1.1`, `Host: 127.0.0.1:${port}`, 'Connection: close', ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`)]
      if (body) lines.push(`Content-Length: ${body.length}`)
      socket.write(Buffer.concat([Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1'), body ?? Buffer.alloc(0)]))
    })
    socket.setTimeout(20_000, () => socket.destroy())
    socket.on('data', (b: Buffer) => {
      chunks.push(b)
      // a live stream never ends by itself: its head is its answer
      const head = Buffer.concat(chunks).toString('latin1')
      if (head.includes('\r\n\r\n') && /content-type: text\/event-stream/i.test(head.slice(0, head.indexOf('\r\n\r\n')))) socket.destroy()
    })
    socket.on('close', () => {
      const text = Buffer.concat(chunks).toString('utf8')
      resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0), body: text.slice(text.indexOf('\r\n\r\n') + 4) })
    })
    socket.on('error', () => undefined)
  })
}

const VARIANTS = ['none', 'slash', 'double', 'upper', 'percent', 'dot'] as const
type Variant = (typeof VARIANTS)[number]

function variantOf(path: string, v: Variant): string {
  switch (v) {
    case 'none':
      return path
    case 'slash':
      return `${path}/`
    case 'double':
      return path.replace(/\/([^/]*)$/, '//$1')
    case 'upper':
      return path.replace(/[a-z]+/, (w) => w.toUpperCase())
    case 'percent':
      return path.replace(/\/([a-z0-9])([^/]*)$/, (_m, c: string, rest: string) => `/%${c.charCodeAt(0).toString(16).toUpperCase()}${rest}`)
    case 'dot':
      return path.replace(/\/([^/]+)$/, '/./$1')
  }
}

const CONTENT_TYPES = [
  'application/json',
  'application/json; charset=utf-8',
  'text/plain',
  'text/plain;charset=UTF-8',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=x',
  'application/xml',
  'application/vnd.api+json',
  '',
]

const BODIES: string[] = [
  '{"number":"AF-1","total":1,"customerName":"Анна"}',
  '{"number":"AF-2","total":1,"customerName":"А\\u0000нна"}',
  '{"number":"AF-3","total":1,"customerName":"\\ud800"}',
  '{"number":"AF-4","total":1,"customerName":"x","items":[{"name":"\\udfff","quantity":1}]}',
  '{"chatId":"-100123\\u0000","enabled":true}',
  '{"telegramUserId":4242,"name":"\\u0000"}',
  '{"status":"accepted","by":"\\ud83c"}',
  '{"enabled":false}',
  '{"purpose":"owner"}',
  '{"reminderLeadMinutes":45}',
  'number=AF-5&total=1&customerName=x',
  '--x\r\nContent-Disposition: form-data; name="number"\r\n\r\nAF-6\r\n--x--',
  '<order><number>AF-7</number></order>',
  '',
]

type Cred = 'none' | 'operator' | 'keyA' | 'keyB' | 'ownerA' | 'ownerB' | 'garbage'
const CREDS: Cred[] = ['none', 'operator', 'keyA', 'keyB', 'ownerA', 'ownerB', 'garbage']

test('path variants, content types and NUL bytes on every route: 0 5xx, no variant reaches a route, 0 cross-shop effects', async () => {
  const [a, b] = (await sql<{ id: string }[]>`insert into shops (name) values ('Access A'), ('Access B') returning id`).map((r) => Number(r.id)) as [
    number,
    number,
  ]
  const creds: Record<Cred, string | null> = { none: null, operator: ADMIN, keyA: '', keyB: '', ownerA: '', ownerB: '', garbage: `pfs_${'z'.repeat(43)}` }
  for (const [shop, key, owner] of [
    [a, 'keyA', 'ownerA'],
    [b, 'keyB', 'ownerB'],
  ] as const) {
    const c = await call(svc.url, 'POST', `/shops/${shop}/telegram/connect`, {
      body: JSON.stringify({ botToken: makeToken('AF'), chatId: String(-1_000_000 - shop), enabled: true }),
      headers: jsonHeaders(ADMIN),
    })
    expect(c.status).toBe(200)
    creds[key] = (
      (await call(svc.url, 'POST', `/shops/${shop}/api-keys`, { body: '{"name":"fuzz"}', headers: jsonHeaders(ADMIN) })).json as { key: string }
    ).key
    const { token } = await signLaunchToken({ shopId: shop, secret: PLATFORM_SECRET })
    creds[owner] = (
      (await call(svc.url, 'POST', '/session', { body: JSON.stringify({ launch: token }), headers: jsonHeaders() })).json as { token: string }
    ).token
  }
  const orderA = Number(
    (
      (
        await call(svc.url, 'POST', `/shops/${a}/orders`, {
          body: '{"number":"AF-0","total":1,"customerName":"Анна"}',
          headers: jsonHeaders(ADMIN),
        })
      ).json as { order: { id: number } }
    ).order.id,
  )

  const snapshot = async (shop: number) => {
    const [row] = await sql<{ s: string }[]>`
      select concat_ws('/',
        (select md5(coalesce(string_agg(concat_ws('|', id, number, total, customer_name, status, updated_at), ',' order by id), '')) from orders where shop_id = ${shop}),
        (select md5(coalesce(string_agg(concat_ws('|', bot_token, chat_id, enabled, start_code, start_code_purpose, updated_at), ','), '')) from telegram_integrations where shop_id = ${shop}),
        (select md5(coalesce(string_agg(concat_ws('|', id, chat_id, enabled, events::text), ',' order by id), '')) from telegram_chats where shop_id = ${shop}),
        (select md5(coalesce(string_agg(concat_ws('|', id, revoked_at), ',' order by id), '')) from shop_api_keys where shop_id = ${shop}),
        (select md5(coalesce(string_agg(concat_ws('|', id, revoked_at), ',' order by id), '')) from owner_sessions where shop_id = ${shop}),
        (select md5(coalesce(string_agg(tg_user_id::text, ',' order by tg_user_id), '')) from telegram_managers where shop_id = ${shop}),
        (select concat_ws('|', name, time_zone, owner_tg_user_id) from shops where id = ${shop})
      ) as s`
    return row!.s
  }

  const templates = RULES.flatMap((r) => r.methods.map((m) => ({ method: m, template: r.template })))
  const fill = (template: string, shop: number) =>
    template
      .replace(':shopId', String(shop))
      .replace(':orderId', String(orderA))
      .replace(/:[A-Za-z]+/g, '999999')
      .replace('*', 'none.js')
  const caseArb = fc.record({
    route: fc.constantFrom(...templates),
    shop: fc.constantFrom(a, a, b),
    variant: fc.constantFrom(...VARIANTS),
    // now and then a method no rule names for the route (Bun's parser drops lower-case methods unanswered)
    method: fc.oneof({ weight: 9, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: fc.constantFrom('PUT', 'OPTIONS', 'HEAD', 'PATCH') }),
    contentType: fc.constantFrom(...CONTENT_TYPES),
    // fast-check's option: null once in `freq`
    body: fc.option(fc.constantFrom(...BODIES), { freq: 5 }),
    cred: fc.constantFrom(...CREDS),
  })
  const cases = fc.sample(caseArb, { numRuns: CASES, seed: SEED })
  const violations: string[] = []
  const statuses = new Map<number, number>()
  let before: Record<number, string> = { [a]: await snapshot(a), [b]: await snapshot(b) }
  const t0 = Date.now()
  for (const c of cases) {
    const method = c.method ?? c.route.method
    const path = variantOf(fill(c.route.template, c.shop), c.variant)
    const headers: Record<string, string> = {}
    if (c.contentType) headers['content-type'] = c.contentType
    const token = creds[c.cred]
    if (token) headers.authorization = `Bearer ${token}`
    const r = await raw(svc.port, method, path, headers, c.body === null || method === 'GET' || method === 'HEAD' ? undefined : Buffer.from(c.body, 'utf8'))
    statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1)
    const after: Record<number, string> = { [a]: await snapshot(a), [b]: await snapshot(b) }
    const label = `${method} ${path} [${c.contentType || 'no type'}] as ${c.cred}: ${r.status} ${r.body.slice(0, 160)}`
    if (r.status === 0 || r.status >= 500) violations.push(`5xx or no answer: ${label}`)
    // (dot segments are resolved by the server before anything else: the same route, decided on the same path)
    const named = isCanonicalPath(method.toUpperCase(), path) && ruleOf(method, path) !== null
    if (c.variant !== 'none' && c.variant !== 'dot' && !named && r.status >= 200 && r.status < 300) violations.push(`a path variant reached a route: ${label}`)
    if (r.status >= 400 && (after[a] !== before[a] || after[b] !== before[b])) violations.push(`a ${r.status} changed stored data: ${label}`)
    const ownShop = c.cred === 'keyA' || c.cred === 'ownerA' ? a : c.cred === 'keyB' || c.cred === 'ownerB' ? b : null
    for (const s of [a, b])
      if (ownShop !== null && s !== ownShop && after[s] !== before[s]) violations.push(`shop ${s} changed by the other shop’s ${c.cred}: ${label}`)
    if (!token && r.status >= 200 && r.status < 300 && (after[a] !== before[a] || after[b] !== before[b]))
      violations.push(`no credential changed data: ${label}`)
    before = after
  }
  const unhandled = allLogs.filter((l) => /"unhandled_error"|"level":"error"/.test(l.line))
  const alive = svc.alive && (await call(svc.url, 'GET', '/health')).status === 200
  console.log(
    `[chaos] access fuzz: ${cases.length} cases in ${r1((Date.now() - t0) / 1000)} s, seed ${SEED}; statuses ${[...statuses]
      .sort((x, y) => x[0] - y[0])
      .map(([k, n]) => `${k}×${n}`)
      .join(' ')}; violations ${violations.length}; error log lines ${unhandled.length}`,
  )
  for (const v of violations.slice(0, 10)) console.log(`[chaos] ${v}`)
  for (const l of unhandled.slice(0, 5)) console.log(`[chaos] error log: ${l.line.slice(0, 400)}`)
  expect(violations).toEqual([])
  expect(unhandled.map((l) => l.line)).toEqual([])
  expect(alive).toBe(true)
})
