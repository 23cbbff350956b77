import { randomBytes } from 'node:crypto'
import { expect } from 'bun:test'
import { loadConfig, type Config } from '../src/config'
import { createSql, type Sql } from '../src/platform/db/client'
import { seed } from '../src/platform/db/migrate'
import { createApp } from '../src/app'
import { createLogger } from '../src/platform/log'
import { createServices, type Services } from '../src/wiring'
import { GrammyClient } from '../src/bot-api/grammy-client'
import type { TelegramClient } from '../src/bot-api/client'
import type { SenderConfig } from '../src/notifications/sender'
import { createTokenCipher, legacyButtonKey } from '../src/platform/crypto'
import { FakeTelegram, makeToken } from './fake-telegram'
import { withDatabase } from './preload'

/**
 * A fresh database cloned from the migrated template (milliseconds), dropped by `drop()`.
 * Each test file (or test needing isolation) gets its own, so files run independently.
 */
export type TestDatabase = { url: string; sql: Sql; drop: () => Promise<void> }

export async function createTestDatabase(): Promise<TestDatabase> {
  const adminUrl = process.env.TEST_ADMIN_URL!
  const template = process.env.TEST_TEMPLATE_DB!
  const name = `t_${process.pid}_${randomBytes(4).toString('hex')}`
  const admin = createSql(adminUrl, { max: 1 })
  // CREATE DATABASE … TEMPLATE refuses while another session uses the template; retry briefly.
  for (let i = 0; ; i++) {
    try {
      await admin.unsafe(`create database ${name} template ${template}`)
      break
    } catch (err) {
      if (i > 50) throw err
      await Bun.sleep(20)
    }
  }
  const url = withDatabase(adminUrl, name)
  const sql = createSql(url, { max: 10 })
  return {
    url,
    sql,
    async drop() {
      await sql.end({ timeout: 1 })
      await admin.unsafe(`drop database if exists ${name} with (force)`)
      await admin.end()
    },
  }
}

export type Harness = Awaited<ReturnType<typeof createHarness>>

/** A free TCP port on loopback (for a server whose URL must be known before it starts). */
export function freePort(): number {
  const s = Bun.serve({ port: 0, hostname: '127.0.0.1', fetch: () => new Response() })
  const port = s.port!
  s.stop(true)
  return port
}

/**
 * The whole service in-process: real PostgreSQL (own database), the real grammY client pointed at a
 * fake Bot API, captured log lines. `request` goes through Elysia's `handle` (no socket) unless
 * `listen` is set, which also sets PUBLIC_URL so webhooks can be delivered to it.
 */
export async function createHarness(
  opts: {
    env?: Record<string, string>
    delivery?: Partial<SenderConfig>
    listen?: boolean
    seed?: boolean
    client?: TelegramClient
    fake?: FakeTelegram
    /** Reuse another harness' database and key: a restart of the service on the same data. */
    restartOf?: { db: TestDatabase; cipherKey: Buffer }
    /** Encryption keys, newest first (default: the restarted harness' key, or a fresh one). */
    cipherKeys?: Buffer[]
    /** Webhook delivery settings (short retry delays, a resolver for the address check). */
    webhooks?: Parameters<typeof createServices>[0]['webhooks']
  } = {},
) {
  const db = opts.restartOf?.db ?? (await createTestDatabase())
  if (!opts.restartOf && opts.seed !== false) await seed(db.sql)
  const fake = opts.fake ?? new FakeTelegram()
  const port = opts.listen ? freePort() : 0
  const config: Config = loadConfig({
    TELEGRAM_MODE: 'real',
    TELEGRAM_API_ROOT: fake.url,
    TELEGRAM_TIMEOUT_MS: '1500',
    RETRY_BASE_DELAY_MS: '50',
    RETRY_MAX_DELAY_MS: '400',
    DISPATCH_INTERVAL_MS: '50',
    TELEGRAM_CHAT_INTERVAL_MS: '0',
    TELEGRAM_GROUP_INTERVAL_MS: '0',
    POLL_INTERVAL_MS: '50',
    // per-shop limits off unless a test is about them (rate-limit.test.ts)
    RATE_LIMIT_ORDERS_PER_MINUTE: '0',
    RATE_LIMIT_WRITES_PER_MINUTE: '0',
    TEST_MESSAGE_INTERVAL_MS: '0',
    // per-address limits on sessions and failed credentials off unless a test is about them (access/throttle.test.ts)
    AUTH_SESSIONS_PER_MINUTE: '0',
    AUTH_FAILURES_PER_MINUTE: '0',
    LOG_LEVEL: 'debug',
    ...(opts.listen ? { PUBLIC_URL: `http://127.0.0.1:${port}` } : {}),
    ...opts.env,
  })
  const logs: string[] = []
  const log = createLogger('debug', (l) => logs.push(l))
  const client = opts.client ?? new GrammyClient({ apiRoot: fake.url, timeoutMs: config.TELEGRAM_TIMEOUT_MS })
  const cipherKey = opts.restartOf?.cipherKey ?? randomBytes(32)
  const cipher = opts.cipherKeys ? createTokenCipher(opts.cipherKeys, legacyButtonKey(cipherKey)) : createTokenCipher(cipherKey)
  const services: Services = createServices({ config, sql: db.sql, client, cipher, log, delivery: opts.delivery, webhooks: opts.webhooks })
  const app = createApp(services)
  if (opts.listen) app.listen({ port, hostname: '127.0.0.1' })
  const responses: string[] = []
  const base = opts.listen ? `http://127.0.0.1:${port}` : 'http://localhost'

  async function request(method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
    const init: RequestInit = { method, headers: { ...headers } }
    if (body !== undefined) {
      init.body = typeof body === 'string' ? body : JSON.stringify(body)
      ;(init.headers as Record<string, string>)['content-type'] ??= 'application/json'
    }
    const res = opts.listen ? await fetch(base + path, init) : await app.handle(new Request(base + path, init))
    // a live stream never ends: its first frame is its answer
    const text = res.headers.get('content-type')?.startsWith('text/event-stream') ? await firstChunk(res) : await res.text()
    responses.push(text)
    let json: any = null
    try {
      json = text ? JSON.parse(text) : null
    } catch {}
    return { status: res.status, json, text, headers: res.headers }
  }

  return {
    db,
    cipherKey,
    sql: db.sql,
    fake,
    config,
    services,
    app,
    logs,
    responses,
    base,
    request,
    get: (path: string, headers?: Record<string, string>) => request('GET', path, undefined, headers),
    post: (path: string, body?: unknown, headers?: Record<string, string>) => request('POST', path, body ?? {}, headers),
    /** Connects `token` (and optionally a chat) to a shop, asserting success. */
    async connect(shopId: number, token: string, chatId?: string | null, enabled = true) {
      const r = await request('POST', `/shops/${shopId}/telegram/connect`, { botToken: token, ...(chatId ? { chatId } : {}), enabled })
      expect(r.status).toBe(200)
      return r.json
    },
    /** A new shop row; returns its id. */
    async shop(name = 'Тестовый магазин'): Promise<number> {
      const [row] = await db.sql<{ id: number }[]>`insert into shops (name) values (${name}) returning id`
      return Number(row!.id)
    },
    /** Stops the service; the database survives for a `restartOf` harness. */
    async stop() {
      await services.stop()
      if (opts.listen) await app.stop(true)
    },
    async close() {
      await services.stop()
      if (opts.listen) await app.stop(true)
      if (!opts.fake) fake.stop()
      if (!opts.restartOf) await db.drop()
    },
  }
}

/**
 * The bot tokens a test file hands out, so that its end can check that none of them reached an
 * answer or a log line. `newToken()` makes one and remembers it; a token made by a fixture is pushed
 * onto `tokens`.
 */
function tokenRecord() {
  const tokens: string[] = []
  return {
    tokens,
    newToken(label?: string) {
      const token = makeToken(label)
      tokens.push(token)
      return token
    },
    expectNoneIn(...harnesses: Harness[]) {
      const texts = harnesses.flatMap((h) => [...h.responses, ...h.logs])
      expectNoSecrets(texts, tokens)
    },
  }
}

export type TokenCheckedHarness = Awaited<ReturnType<typeof createTokenCheckedHarness>>

/**
 * A harness for a file whose tests connect their own bots: `close()` first checks that no token the
 * file handed out (`newToken()`, or pushed onto `tokens`) reached an answer or a log line, then
 * closes the harness. With `dispatcher`, its dispatcher runs from the start.
 */
export async function createTokenCheckedHarness({ dispatcher, ...opts }: Parameters<typeof createHarness>[0] & { dispatcher?: boolean } = {}) {
  const h = await createHarness(opts)
  if (dispatcher) h.services.dispatcher.start()
  const { tokens, newToken, expectNoneIn } = tokenRecord()
  return {
    h,
    tokens,
    newToken,
    async close() {
      expectNoneIn(h)
      await h.close()
    },
  }
}

export type HarnessPair = Awaited<ReturnType<typeof createHarnessPair>>

/**
 * The two ways updates reach the service, on one fake Bot API: `hw` listens on a real port with
 * PUBLIC_URL set (the fake delivers webhooks to it), `hp` has no PUBLIC_URL and polls getUpdates.
 * With `dispatcher`, `hw`'s dispatcher runs from the start (the outbox is worked off, edits go out).
 * Tokens as in `createTokenCheckedHarness`, checked against both before they close.
 */
export async function createHarnessPair(opts: { dispatcher?: boolean } = {}) {
  const hw = await createHarness({ listen: true })
  const hp = await createHarness({ fake: hw.fake })
  if (opts.dispatcher) hw.services.dispatcher.start()
  const { tokens, newToken, expectNoneIn } = tokenRecord()
  return {
    hw,
    hp,
    tokens,
    newToken,
    async close() {
      expectNoneIn(hw, hp)
      await hp.close()
      await hw.close()
    },
  }
}

async function firstChunk(res: Response): Promise<string> {
  const reader = res.body!.getReader()
  const { value } = await reader.read()
  await reader.cancel()
  return new TextDecoder().decode(value)
}

/** Polls `check` until it returns a truthy value or the deadline passes (no blind sleeps). */
export async function eventually<T>(check: () => Promise<T> | T, { timeoutMs = 5000, stepMs = 20, message = 'condition' } = {}): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs
  let last: T
  for (;;) {
    last = await check()
    if (last) return last as NonNullable<T>
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${message} (last: ${JSON.stringify(last)})`)
    await Bun.sleep(stepMs)
  }
}

/** Asserts that no captured text contains any of the tokens (or their secret halves). */
export function expectNoSecrets(texts: string[], tokens: string[]) {
  for (const token of tokens) {
    const secret = token.split(':')[1]!
    for (const t of texts) {
      expect(t.includes(secret)).toBe(false)
    }
  }
}

/** The one row a query must return (fails the test clearly when there is none). */
export function one<T>(rows: readonly T[]): T {
  if (rows.length === 0) throw new Error('expected a row, got none')
  return rows[0]!
}
