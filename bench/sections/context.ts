/**
 * What every bench section shares: the counts, the results table, one embedded PostgreSQL for the
 * whole run, the fake Bot API with a pluggable collector, and the service started as a child process.
 * Importing this module starts the database (top-level await), once.
 */
import { randomBytes } from 'node:crypto'
import { mkdirSync } from 'node:fs'
import path from 'node:path'
import { createSql } from '../../api/src/platform/db/client'
import { startEmbeddedPostgres } from '../../api/src/platform/db/embedded'
import { migrate, seed } from '../../api/src/platform/db/migrate'
import { createTokenCipher } from '../../api/src/platform/crypto'
import { FakeTelegram, type Call, type FakeTelegramOptions } from '../../api/test/fake-telegram'
import { ROOT, cleanupAll, freePort, onCleanup, pgCpuSec, round, selfCpuSec, spawnProc, tempDir, waitHealthy, type Proc } from '../lib'

export const QUICK = process.env.BENCH_QUICK === '1' // smaller counts, for trying the script out
export const INTAKE_N = QUICK ? 1000 : 5000
export const INTAKE_WARM = QUICK ? 200 : 500
export const INTAKE_C = 64
export const FAN_SHOPS = 1000
export const FAN_PER_SHOP = 10
export const STATUS_ROWS = QUICK ? 100_000 : 1_000_000
export const STATUS_SHOPS = 1000
export const ADMIN_TOKEN = 'bench-admin-token-' + randomBytes(8).toString('hex')
export const ENCRYPTION_KEY = randomBytes(32).toString('hex')
export const cipher = createTokenCipher(Buffer.from(ENCRYPTION_KEY, 'hex'))
export const AUTH = { authorization: `Bearer ${ADMIN_TOKEN}` }

export const results: Record<string, any> = {}
export const rows: { figure: string; value: string; baseline: string; ratio: string; goal?: string }[] = []
export const fmt = (x: number, d = 1) => (Number.isFinite(x) ? round(x, d).toLocaleString('en-US') : String(x))
export function row(figure: string, value: number, baseline: number, unit: string, goal?: string, d = 1) {
  rows.push({ figure, value: `${fmt(value, d)} ${unit}`, baseline: `${fmt(baseline, d)} ${unit}`, ratio: `${fmt(value / baseline, 2)}×`, goal })
}
export const t0 = performance.now()
export const log = (...a: unknown[]) => console.log(`[${((performance.now() - t0) / 1000).toFixed(0).padStart(3)}s]`, ...a)

process.on('SIGINT', async () => {
  console.error('interrupted: cleaning up')
  await cleanupAll()
  process.exit(130)
})

// ---------- the fake Bot API, with a pluggable collector ----------
export type Collector = (c: Call, limited: boolean) => void
/** What the fake's calls are fed to right now (a section sets and clears it). */
export const hooks: { collector: Collector | null } = { collector: null }
export const fakeOptions: FakeTelegramOptions = { record: false, onCall: (c, l) => hooks.collector?.(c, l) }
export const fake = new FakeTelegram(fakeOptions)
onCleanup(() => fake.stop())

// ---------- the database ----------
export const pgDir = tempDir('bench-pg-')
log('starting embedded PostgreSQL in', pgDir)
export const pg = await startEmbeddedPostgres({ dataDir: pgDir })
onCleanup(() => pg.stop())
export const sql = createSql(pg.url, { max: 20 })
onCleanup(() => sql.end({ timeout: 2 }))
await migrate(sql)
await seed(sql)
export const [{ version: pgVersion }] = (await sql`select current_setting('server_version') as version`) as unknown as [{ version: string }]

export const sources = (extra: Record<string, () => number>) => ({ ...extra, postgres: () => pgCpuSec(pg.pid), 'bench (load + fake)': selfCpuSec })

// ---------- the service as a child process ----------
export const runDir = tempDir('bench-run-')
export let procSeq = 0
export async function startService(name: string, opts: { profileDir?: string; env?: Record<string, string> } = {}): Promise<Proc> {
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

export const RESULTS = path.join(ROOT, 'bench', 'results')
mkdirSync(RESULTS, { recursive: true })
