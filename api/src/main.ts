import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { ConfigError, loadConfig } from './config'
import { createSql } from './platform/db/client'
import { startEmbeddedPostgres, type EmbeddedPostgres } from './platform/db/embedded'
import { migrate, seed } from './platform/db/migrate'
import { createApp } from './app'
import { createLogger } from './platform/log'
import { createServices, createTelegramClient } from './wiring'
import { resyncWebhooks } from './connect'
import { createTokenCipher, legacyButtonKey, loadButtonKey, resolveEncryptionKey } from './platform/crypto'
import { buildUi, uiIsStale } from './platform/ui-build'

/** Start-up only: config → database → migrations → app.listen → graceful stop. */
const startedAt = Date.now()
let config
try {
  config = loadConfig()
} catch (err) {
  if (err instanceof ConfigError) {
    console.error(err.message)
    process.exit(1)
  }
  throw err
}
const log = createLogger(config.LOG_LEVEL)

/** One embedded cluster per data dir: a second `bun run start` on the same ./data is refused. */
function claimDataDir(dataDir: string): () => void {
  mkdirSync(dataDir, { recursive: true })
  const lock = path.join(dataDir, 'app.pid')
  if (existsSync(lock)) {
    const pid = Number(readFileSync(lock, 'utf8'))
    let alive = false
    try {
      if (pid && pid !== process.pid) process.kill(pid, 0), (alive = true)
    } catch {}
    if (alive && readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('main.ts')) {
      console.error(`Another instance (pid ${pid}) is running with ${dataDir}; stop it or set DATABASE_URL`)
      process.exit(1)
    }
  }
  writeFileSync(lock, String(process.pid))
  return () => rmSync(lock, { force: true })
}

let embedded: EmbeddedPostgres | null = null
let releaseDataDir = () => {}
let databaseUrl = config.DATABASE_URL
if (!databaseUrl) {
  releaseDataDir = claimDataDir(path.resolve(config.DATA_DIR))
  embedded = await startEmbeddedPostgres({ dataDir: config.DATA_DIR, log: (e, f) => log.info(e, f) })
  databaseUrl = embedded.url
}

const sql = createSql(databaseUrl)
try {
  const applied = await migrate(sql)
  // The demo shop «Ромашка» and its orders: a laptop's first start has something to show; a
  // production database gets shops from the platform only (SEED_DEMO, off with NODE_ENV=production).
  if (config.seedDemo) await seed(sql)
  log.info('database_ready', { embedded: !!embedded, migrationsApplied: applied, demoSeeded: config.seedDemo })
} catch (err) {
  log.error('database_setup_failed', { error: err })
  await sql.end({ timeout: 1 })
  await embedded?.stop()
  releaseDataDir()
  process.exit(1)
}

if (uiIsStale()) {
  try {
    log.info('ui_build_started')
    log.info('ui_built', { ms: await buildUi() })
  } catch (err) {
    log.error('ui_build_failed', { error: err })
  }
}

const encryptionKey = resolveEncryptionKey(config.encryptionKey, config.DATA_DIR, log)
const cipher = createTokenCipher([encryptionKey, ...config.previousEncryptionKeys], await loadButtonKey(sql, legacyButtonKey(encryptionKey)))
const client = createTelegramClient(config, log)
const services = createServices({ config, sql, client, cipher, log })
const app = createApp(services).listen({ port: config.PORT, hostname: config.host })
services.start()
// PUBLIC_URL changed since a bot was connected: move its webhook here (in the background, replicas share it).
if (config.PUBLIC_URL)
  void resyncWebhooks({ sql, client, cipher, log, publicUrl: config.PUBLIC_URL, timeoutMs: config.TELEGRAM_TIMEOUT_MS }).catch((error) =>
    log.error('webhook_resync_failed', { error }),
  )
const port = app.server?.port
const origin = `http://${config.host === '0.0.0.0' ? 'localhost' : config.host}:${port}`
log.info('listening', {
  url: origin,
  // Open in development. With ADMIN_TOKEN no credential is printed (logs are not a secret store):
  // an operator asks POST /shops/{id}/owner-link for an owner link, or types ADMIN_TOKEN on the page.
  // shop 1 is the demo shop; without the seed shops come from the platform (POST /shops)
  page: `${origin}/shops/${config.seedDemo ? 1 : '{shopId}'}/growth/telegram`,
  ...(config.ADMIN_TOKEN ? { ownerLink: `POST ${origin}/shops/{shopId}/owner-link with the operator token` } : {}),
  telegramMode: client.mode,
  telegramApiRoot: client.mode === 'real' ? config.TELEGRAM_API_ROOT : null,
  webhook: !!config.PUBLIC_URL,
  auth: !!config.ADMIN_TOKEN,
  startupMs: Date.now() - startedAt,
})

// Said loudly, so a mock start is never mistaken for a working one (and a real one is never a surprise).
if (client.mode === 'mock')
  log.warn('telegram_mode_mock', {
    message: `TELEGRAM_MODE=mock: NOTHING IS SENT TO TELEGRAM. Messages are recorded: GET ${origin}/shops/{shopId}/telegram/mock-messages, and logged as telegram_mock_send`,
  })
else log.info('telegram_mode_real', { message: `TELEGRAM_MODE=real: messages go to the Bot API at ${config.TELEGRAM_API_ROOT}` })

let stopping = false
async function shutdown(signal: string) {
  if (stopping) return
  stopping = true
  log.info('stopping', { signal })
  const force = setTimeout(() => {
    log.error('stop_timeout')
    process.exit(1)
  }, 20_000)
  try {
    await app.server?.stop(false) // stop accepting, let in-flight requests finish
    await services.stop()
    await sql.end({ timeout: 5 })
    await embedded?.stop()
  } finally {
    releaseDataDir()
    clearTimeout(force)
    log.info('stopped')
    process.exit(0)
  }
}
process.on('SIGINT', () => void shutdown('SIGINT'))
process.on('SIGTERM', () => void shutdown('SIGTERM'))
