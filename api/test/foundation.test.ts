import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, chmodSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { ConfigError, loadConfig } from '../src/config'
import { createSql } from '../src/db/client'
import { migrate, seed, SQL_DIR } from '../src/db/migrate'
import { buildUi, uiIsStale } from '../src/ui-build'
import { createHarness, one, freePort, type Harness } from './helpers'
import { withDatabase } from './preload'

const ROOT = path.resolve(import.meta.dir, '../..')

describe('migrations and seed', () => {
  let name: string
  let admin: ReturnType<typeof createSql>
  beforeAll(async () => {
    admin = createSql(process.env.TEST_ADMIN_URL!, { max: 1 })
    name = `empty_${process.pid}`
    await admin.unsafe(`drop database if exists ${name}`)
    await admin.unsafe(`create database ${name}`)
  })
  afterAll(async () => {
    await admin.unsafe(`drop database if exists ${name} with (force)`)
    await admin.end()
  })

  test('two processes migrating an empty database at once apply each migration exactly once; again is a no-op', async () => {
    const url = withDatabase(process.env.TEST_ADMIN_URL!, name)
    const a = createSql(url, { max: 1 })
    const b = createSql(url, { max: 1 })
    const files = readdirSync(SQL_DIR).filter((f) => /^\d{3}_.+\.sql$/.test(f)).sort()
    const [ra, rb] = await Promise.all([migrate(a), migrate(b)])
    expect([...ra, ...rb].sort()).toEqual(files)
    expect(await migrate(a)).toEqual([])
    const rows = await a`select version from schema_migrations order by version`
    expect(rows.map((r) => r.version)).toEqual(files)
    // The schema of the contract is there, with its constraints.
    const constraints = await a`
      select conname from pg_constraint where conrelid in ('telegram_integrations'::regclass, 'telegram_send_log'::regclass, 'orders'::regclass) and contype = 'u'`
    expect(constraints.length).toBeGreaterThanOrEqual(3)
    // Seeding twice (also concurrently) adds nothing the second time.
    await Promise.all([seed(a), seed(b)])
    const first = await a`select (select count(*)::int from shops) as shops, (select count(*)::int from orders) as orders`
    await seed(a)
    const second = await a`select (select count(*)::int from shops) as shops, (select count(*)::int from orders) as orders`
    expect(second).toEqual(first)
    expect(first[0]!.shops).toBe(1)
    expect(first[0]!.orders).toBeGreaterThanOrEqual(5)
    expect(first[0]!.orders).toBeLessThanOrEqual(10)
    await a.end()
    await b.end()
  })

  test('the 7-day status counts come from an index, not a table scan', async () => {
    const url = withDatabase(process.env.TEST_ADMIN_URL!, name)
    const s = createSql(url, { max: 1 })
    await s`set enable_seqscan = off`
    const plan = await s.unsafe(`explain select count(*) from telegram_send_log where shop_id = 1 and updated_at >= now() - interval '7 days'`)
    expect(plan.map((r) => Object.values(r)[0]).join('\n')).toMatch(/Index Only Scan|Index Scan/)
    await s.end()
  })
})

describe('configuration', () => {
  const bad: [string, string][] = [
    ['PORT', 'abc'],
    ['PORT', '70000'],
    ['DATABASE_URL', 'mysql://x'],
    ['ADMIN_TOKEN', 'short'],
    ['TELEGRAM_MODE', 'live'],
    ['TELEGRAM_API_ROOT', 'ftp://api'],
    ['PUBLIC_URL', 'not a url'],
    ['ENCRYPTION_KEY', 'too-short'],
  ]
  for (const [variable, value] of bad) {
    test(`${variable}=${value} is refused with a line naming ${variable}`, () => {
      let err: unknown
      try {
        loadConfig({ [variable]: value })
      } catch (e) {
        err = e
      }
      expect(err).toBeInstanceOf(ConfigError)
      expect((err as Error).message).toStartWith(`Invalid configuration: ${variable} `)
      expect((err as Error).message.includes('\n')).toBe(false)
    })
  }

  test('defaults follow the contract; HOST is loopback without ADMIN_TOKEN', () => {
    const c = loadConfig({})
    expect(c).toMatchObject({ PORT: 3000, TELEGRAM_MODE: 'mock', TELEGRAM_API_ROOT: 'https://api.telegram.org', host: '127.0.0.1', DATA_DIR: './data' })
    expect(loadConfig({ ADMIN_TOKEN: 'long-enough-token' }).host).toBe('0.0.0.0')
    expect(loadConfig({ ADMIN_TOKEN: 'long-enough-token', HOST: '127.0.0.2' }).host).toBe('127.0.0.2')
    expect(loadConfig({ PUBLIC_URL: '' }).PUBLIC_URL).toBeUndefined()
    expect(loadConfig({ PUBLIC_URL: 'https://shop.example.com/' }).PUBLIC_URL).toBe('https://shop.example.com')
    expect(loadConfig({ ENCRYPTION_KEY: 'ab'.repeat(32) }).encryptionKey!.length).toBe(32)
  })

  test('the real start stops with one clear line for a bad value', async () => {
    const p = Bun.spawn(['bun', 'api/src/main.ts'], { cwd: ROOT, env: { ...process.env, PORT: 'eighty' }, stdout: 'pipe', stderr: 'pipe' })
    expect(await p.exited).toBe(1)
    const err = (await new Response(p.stderr).text()).trim()
    expect(err.split('\n')).toEqual([expect.stringContaining('Invalid configuration: PORT')])
  })
})

describe('HTTP basics', () => {
  let h: Harness
  beforeAll(async () => {
    h = await createHarness()
  })
  afterAll(async () => {
    await h.close()
  })

  const noStack = (text: string) => expect(text).not.toMatch(/\n\s+at |node_modules|\.ts:\d+/)

  test('malformed JSON is 400 malformed_body', async () => {
    const r = await h.request('POST', '/shops/1/orders', '{"number": "1", ', { 'content-type': 'application/json' })
    expect(r.status).toBe(400)
    expect(r.json).toEqual({ error: 'malformed_body', message: expect.any(String) })
    noStack(r.text)
  })

  test('absurdly nested JSON is refused at once with 400, not validated', async () => {
    const started = performance.now()
    const r = await h.request('POST', '/shops/1/orders', '['.repeat(20_000) + ']'.repeat(20_000), { 'content-type': 'application/json' })
    expect(r.status).toBe(400)
    expect(r.json.error).toBe('malformed_body')
    expect(r.json.message).toContain('nested deeper')
    expect(performance.now() - started).toBeLessThan(500)
    // Strings that merely contain brackets are not nesting.
    const ok = await h.post('/shops/1/orders', { number: 'NEST-1', total: 1, customerName: '['.repeat(150) })
    expect(ok.status).toBe(201)
  })

  test('an unknown route is 404 with the error shape', async () => {
    for (const [method, p] of [['GET', '/nope'], ['POST', '/shops/1/nothing'], ['DELETE', '/shops/1/orders']]) {
      const r = await h.request(method!, p!)
      expect(r.status).toBe(404)
      expect(r.json.error).toBe('not_found')
      expect(typeof r.json.message).toBe('string')
    }
  })

  test('malformed ids are 400, unknown shops 404', async () => {
    for (const id of ['abc', '0', '-1', '1.5', '01', '1e3', '99999999999999999999', '%20']) {
      const r = await h.get(`/shops/${id}/telegram/status`)
      expect(r.status).toBe(400)
      expect(r.json.error).toBe('bad_request')
      noStack(r.text)
    }
    expect((await h.get('/shops/424242/telegram/status')).json).toEqual({ error: 'shop_not_found', message: expect.any(String) })
    expect((await h.post('/shops/1/orders/abc/telegram/resend')).status).toBe(400)
  })

  test('an oversized body is 413 and stores nothing', async () => {
    const body = JSON.stringify({ number: 'BIG', total: 1, customerName: 'x', comment: 'x'.repeat(100_000) })
    const r = await h.request('POST', '/shops/1/orders', body, { 'content-type': 'application/json', 'content-length': String(body.length) })
    expect(r.status).toBe(413)
    expect(r.json.error).toBe('payload_too_large')
    const { count } = one(await h.sql`select count(*)::int as count from orders where number = 'BIG'`)
    expect(count).toBe(0)
  })

  test('a non-JSON content type is refused with a 4xx', async () => {
    const r = await h.request('POST', '/shops/1/orders', 'number=1&total=2', { 'content-type': 'application/x-www-form-urlencoded' })
    expect(r.status).toBeGreaterThanOrEqual(400)
    expect(r.status).toBeLessThan(500)
    expect(typeof r.json.error).toBe('string')
  })

  test('/health reports the database', async () => {
    expect(await h.get('/health').then((r) => [r.status, r.json])).toEqual([200, { status: 'ok', database: 'ok' }])
  })

  test('/swagger documents every route with real JSON Schemas', async () => {
    const page = await h.get('/swagger')
    expect(page.status).toBe(200)
    expect(page.headers.get('content-type')).toContain('text/html')
    const doc = (await h.get('/swagger/json')).json
    const routes = Object.entries(doc.paths as Record<string, Record<string, unknown>>).flatMap(([p, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${p}`))
    for (const r of [
      'POST /shops/{shopId}/orders',
      'GET /shops/{shopId}/orders',
      'POST /shops/{shopId}/orders/{orderId}/telegram/resend',
      'POST /shops/{shopId}/telegram/connect',
      'GET /shops/{shopId}/telegram/status',
      'POST /shops/{shopId}/telegram/test',
      'GET /health',
    ])
      expect(routes).toContain(r)
    const body = doc.paths['/shops/{shopId}/orders'].post.requestBody.content['application/json'].schema
    expect(body.properties.customerName.type).toBe('string')
    expect(body.required).toEqual(expect.arrayContaining(['number', 'total', 'customerName']))
    expect(JSON.stringify(doc)).not.toContain('"_zod"')
  })
})

describe('auth', () => {
  let h: Harness
  beforeAll(async () => {
    h = await createHarness({ env: { ADMIN_TOKEN: 'secret-admin-token' } })
  })
  afterAll(async () => {
    await h.close()
  })

  test('with ADMIN_TOKEN every shop API route needs the bearer, compared exactly', async () => {
    for (const headers of <Record<string, string>[]>[{}, { authorization: 'Bearer wrong-token' }, { authorization: 'secret-admin-token' }, { authorization: 'Bearer secret-admin-token-and-more' }]) {
      const r = await h.get('/shops/1/telegram/status', headers)
      expect(r.status).toBe(401)
      expect(r.json.error).toBe('unauthorized')
      expect(r.headers.get('www-authenticate')).toBe('Bearer')
    }
    const denied = await h.post('/shops/1/orders', { number: 'AUTH-1', total: 1, customerName: 'x' })
    expect(denied.status).toBe(401)
    const { count } = one(await h.sql`select count(*)::int as count from orders where number = 'AUTH-1'`)
    expect(count).toBe(0)
    const ok = await h.get('/shops/1/telegram/status', { authorization: 'Bearer secret-admin-token' })
    expect(ok.status).toBe(200)
  })

  test('the page, /health and /swagger need no token', async () => {
    expect((await h.get('/health')).status).toBe(200)
    expect((await h.get('/swagger')).status).toBe(200)
    const page = await h.get('/shops/1/growth/telegram')
    expect(page.status).not.toBe(401)
  })

  test('without ADMIN_TOKEN the API is open (and the server listens on loopback)', async () => {
    const open = await createHarness()
    try {
      expect((await open.get('/shops/1/telegram/status')).status).toBe(200)
      expect(open.config.host).toBe('127.0.0.1')
    } finally {
      await open.close()
    }
  })
})

describe('database down', () => {
  test('a request while PostgreSQL is unreachable is a quick 503 with the error shape', async () => {
    const h = await createHarness()
    const services = h.services
    // Point a second app at a port where nothing listens.
    const { createApp } = await import('../src/http/app')
    const { createServices } = await import('../src/services')
    const dead = createSql(`postgres://u:p@127.0.0.1:${freePort()}/x`, { max: 1 })
    const app = createApp(createServices({ config: h.config, sql: dead, client: services.client, cipher: { encrypt: (s) => s, decrypt: (s) => s, sign: (s) => s }, log: services.log }))
    try {
      const started = Date.now()
      const health = await app.handle(new Request('http://localhost/health'))
      expect(health.status).toBe(503)
      const r = await app.handle(new Request('http://localhost/shops/1/telegram/status'))
      expect(r.status).toBe(503)
      expect(await r.json()).toEqual({ error: 'database_unavailable', message: expect.any(String) })
      expect(Date.now() - started).toBeLessThan(5000)
    } finally {
      await dead.end({ timeout: 0 })
      await h.close()
    }
  })
})

describe('the real process', () => {
  const dirs: string[] = []
  afterAll(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true })
  })

  function start(dataDir: string, port: number) {
    return Bun.spawn(['bun', 'api/src/main.ts'], {
      cwd: ROOT,
      env: { ...process.env, DATA_DIR: dataDir, PORT: String(port), DATABASE_URL: '', ADMIN_TOKEN: '', LOG_LEVEL: 'info' },
      stdout: 'pipe',
      stderr: 'pipe',
    })
  }
  async function healthy(port: number, timeoutMs = 60_000) {
    const deadline = Date.now() + timeoutMs
    while (Date.now() < deadline) {
      const ok = await fetch(`http://127.0.0.1:${port}/health`).then((r) => r.ok, () => false)
      if (ok) return
      await Bun.sleep(50)
    }
    throw new Error('service did not become healthy')
  }
  const postmasterPid = (dataDir: string) => {
    const f = path.join(dataDir, 'pg', 'postmaster.pid')
    return existsSync(f) ? Number(readFileSync(f, 'utf8').split('\n')[0]) : null
  }
  /** Running, and not a zombie waiting for its (re)parent to reap it. */
  const alive = (pid: number) => {
    try {
      process.kill(pid, 0)
    } catch {
      return false
    }
    const stat = existsSync(`/proc/${pid}/stat`) ? readFileSync(`/proc/${pid}/stat`, 'utf8') : ''
    return !/^\d+ \(.*\) Z/.test(stat)
  }

  test('starts an embedded PostgreSQL, stops it on SIGINT, recovers after kill -9, and keeps the data', async () => {
    if (uiIsStale()) await buildUi()
    const dataDir = mkdtempSync(path.join(tmpdir(), 'ptn-run-'))
    chmodSync(dataDir, 0o755)
    dirs.push(dataDir)
    const port = freePort()

    // First start on an empty data dir: initdb, migrations, seed, the page.
    let p = start(dataDir, port)
    await healthy(port)
    const page = await fetch(`http://127.0.0.1:${port}/shops/1/growth/telegram`)
    expect(page.status).toBe(200)
    expect(page.headers.get('content-type')).toContain('text/html')
    const created = await fetch(`http://127.0.0.1:${port}/shops/1/orders`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ number: 'KEEP-1', total: 10, customerName: 'Дана' }) })
    expect(created.status).toBe(201)
    const pgPid = postmasterPid(dataDir)!
    expect(alive(pgPid)).toBe(true)

    // Ctrl-C: the process exits 0 and takes its PostgreSQL with it.
    p.kill('SIGINT')
    expect(await p.exited).toBe(0)
    expect(alive(pgPid)).toBe(false)

    // kill -9 leaves PostgreSQL running; the next start recovers the stale cluster by itself.
    p = start(dataDir, port)
    await healthy(port)
    const orphan = postmasterPid(dataDir)!
    p.kill('SIGKILL')
    await p.exited
    expect(alive(orphan)).toBe(true)
    p = start(dataDir, port)
    await healthy(port)
    expect(alive(orphan)).toBe(false)
    const list = await fetch(`http://127.0.0.1:${port}/shops/1/orders?limit=100`).then((r) => r.json())
    expect(list.items.filter((o: { number: string }) => o.number === 'KEEP-1').length).toBe(1)
    const seeded = list.items.filter((o: { number: string }) => o.number.startsWith('DEMO')).length
    expect(seeded).toBeGreaterThanOrEqual(5)
    expect(seeded).toBeLessThanOrEqual(10)

    p.kill('SIGTERM')
    expect(await p.exited).toBe(0)
    const last = postmasterPid(dataDir)
    expect(last === null || !alive(last)).toBe(true)
    const logs = await new Response(p.stdout).text()
    expect(logs).toContain('"event":"stopped"')
  }, 120_000)
})

describe('deployment files', () => {
  test('docker-compose.yml runs the app on postgres:17 with a volume and a healthcheck it waits for', () => {
    const compose = Bun.YAML.parse(readFileSync(path.join(ROOT, 'docker-compose.yml'), 'utf8')) as any
    expect(Object.keys(compose.services).sort()).toEqual(['app', 'db'])
    const { db, app } = compose.services
    expect(db.image).toBe('postgres:17')
    expect(db.healthcheck.test.join(' ')).toContain('pg_isready')
    expect(db.volumes[0]).toStartWith('pgdata:/var/lib/postgresql/data')
    expect(Object.keys(compose.volumes)).toContain('pgdata')
    expect(app.depends_on.db.condition).toBe('service_healthy')
    expect(app.environment.DATABASE_URL).toContain('@db:5432/')
    expect(app.ports).toContain('3000:3000')
  })

  test('the Dockerfile builds on Bun, installs production dependencies only and runs as a non-root user', () => {
    const text = readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8')
    expect(text).toMatch(/^FROM oven\/bun:1/m)
    expect(text).toContain('--production')
    expect(text).toMatch(/^USER (?!root)\w+/m)
    expect(text).toMatch(/^EXPOSE 3000$/m)
    expect(text).toMatch(/^CMD \["bun", "api\/src\/main\.ts"\]$/m)
    expect(text).toContain('HEALTHCHECK')
  })
})
