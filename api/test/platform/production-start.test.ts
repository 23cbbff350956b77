import { afterAll, describe, expect, test } from 'bun:test'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { createSql } from '../../src/platform/db/client'
import { buildUi, uiIsStale } from '../../src/platform/ui-build'
import { FakeTelegram, makeToken } from '../fake-telegram'
import { eventually, freePort, one } from '../helpers'
import { withDatabase } from '../preload'

const ROOT = path.resolve(import.meta.dir, '../../..')
const ADMIN = randomBytes(24).toString('hex')

/**
 * `NODE_ENV=production` against an external, empty PostgreSQL, as a deployment starts: the real
 * process (`bun api/src/main.ts`), only the variables a platform sets. It must migrate, seed no demo
 * shop, and talk to the Bot API at TELEGRAM_API_ROOT without being told TELEGRAM_MODE.
 */
describe('a production start on an empty external database', () => {
  const fake = new FakeTelegram()
  const admin = createSql(process.env.TEST_ADMIN_URL!, { max: 1 })
  const dbName = `prod_${process.pid}_${randomBytes(3).toString('hex')}`
  const dataDir = mkdtempSync(path.join(tmpdir(), 'ptn-prod-'))
  afterAll(async () => {
    rmSync(dataDir, { recursive: true, force: true })
    fake.stop()
    await admin.unsafe(`drop database if exists ${dbName} with (force)`)
    await admin.end()
  }, 30_000)

  test('migrates, seeds nothing, says TELEGRAM_MODE real loudly, and connects a bot through the Bot API at TELEGRAM_API_ROOT', async () => {
    if (uiIsStale()) await buildUi()
    await admin.unsafe(`create database ${dbName}`)
    const databaseUrl = withDatabase(process.env.TEST_ADMIN_URL!, dbName)
    const port = freePort()
    const p = Bun.spawn(['bun', 'api/src/main.ts'], {
      cwd: ROOT,
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        NODE_ENV: 'production',
        DATABASE_URL: databaseUrl,
        ENCRYPTION_KEY: randomBytes(32).toString('hex'),
        ADMIN_TOKEN: ADMIN,
        TELEGRAM_API_ROOT: fake.url,
        HOST: '127.0.0.1',
        PORT: String(port),
        // never the checkout's ./data: nothing may be written there
        DATA_DIR: dataDir,
        LOG_LEVEL: 'info',
      },
      stdout: 'pipe',
      stderr: 'pipe',
    })
    let out = ''
    const reading = (async () => {
      for await (const chunk of p.stdout) out += new TextDecoder().decode(chunk)
    })()
    try {
      const base = `http://127.0.0.1:${port}`
      await eventually(
        () =>
          fetch(`${base}/health`).then(
            (r) => r.ok,
            () => false,
          ),
        { timeoutMs: 60_000, stepMs: 50, message: 'the service to answer /health' },
      )
      const sql = createSql(databaseUrl, { max: 1 })
      try {
        const migrations = readdirSync(path.join(ROOT, 'sql')).filter((f) => /^\d{3}_.+\.sql$/.test(f)).length
        expect(one(await sql<{ n: number }[]>`select count(*)::int as n from schema_migrations`).n).toBe(migrations)
        expect(one(await sql<{ n: number }[]>`select count(*)::int as n from shops`).n).toBe(0)
        expect(one(await sql<{ n: number }[]>`select count(*)::int as n from orders`).n).toBe(0)

        // The line an operator reads: the mode, where it sends, and no demo data.
        const listening = JSON.parse(out.split('\n').find((l) => l.includes('"event":"listening"'))!)
        expect(listening).toMatchObject({ telegramMode: 'real', telegramApiRoot: fake.url, auth: true })
        expect(out).toContain('"event":"telegram_mode_real"')
        expect(JSON.parse(out.split('\n').find((l) => l.includes('"event":"database_ready"'))!).demoSeeded).toBe(false)

        // The platform's shop (POST /shops once it exists; a row is all `connect` needs).
        const shop = one(await sql<{ id: number }[]>`insert into shops (name) values ('Цветы на Мира') returning id`).id
        const op = { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' }
        expect((await fetch(`${base}/shops/${shop}/telegram/status`)).status).toBe(401)
        const token = makeToken('prod')
        const connected = await fetch(`${base}/shops/${shop}/telegram/connect`, {
          method: 'POST',
          headers: op,
          body: JSON.stringify({ botToken: token, enabled: true }),
        })
        expect(connected.status).toBe(200)
        expect(fake.callsOf('getMe', token).length).toBe(1)
        const status = await (await fetch(`${base}/shops/${shop}/telegram/status`, { headers: op })).json()
        expect(status).toMatchObject({ mode: 'real', state: 'waiting_chat' })
        // no PUBLIC_URL: the poller asks the same Bot API for the owner's /start
        await eventually(() => fake.callsOf('getUpdates', token).length > 0, { timeoutMs: 10_000, message: 'getUpdates at the fake Bot API' })
        const mock = await fetch(`${base}/shops/${shop}/telegram/mock-messages`, { headers: op })
        expect(mock.status).toBe(409)
        expect(out).not.toContain(token.split(':')[1]!)
      } finally {
        await sql.end()
      }
    } finally {
      p.kill('SIGTERM')
      expect(await p.exited).toBe(0)
      await reading
    }
  }, 120_000)
})
