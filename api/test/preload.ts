import { mkdtempSync, chmodSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, setDefaultTimeout } from 'bun:test'
import { removeDataDir, startEmbeddedPostgres } from '../src/platform/db/embedded'
import { createSql } from '../src/platform/db/client'
import { migrate } from '../src/platform/db/migrate'

/**
 * One real PostgreSQL for the whole test run: TEST_DATABASE_URL when given, else an embedded cluster
 * in a temp dir, removed at the end. Migrations run once into a template database; each test file
 * clones it (`createTestDatabase` in helpers.ts), which takes milliseconds.
 */
// bunfig's [test] timeout is not read by every Bun version: the per-test budget is set here, once
setDefaultTimeout(30_000)

let adminUrl = process.env.TEST_DATABASE_URL
let stop: (() => Promise<void>) | null = null
let dir: string | null = null
if (!adminUrl) {
  dir = mkdtempSync(path.join(tmpdir(), 'ptn-test-'))
  chmodSync(dir, 0o755)
  const pg = await startEmbeddedPostgres({ dataDir: dir })
  adminUrl = pg.url
  stop = pg.stop
}
const admin = createSql(adminUrl, { max: 2 })
const template = `tmpl_${process.pid}`
await admin.unsafe(`drop database if exists ${template}`)
await admin.unsafe(`create database ${template}`)
const tsql = createSql(withDatabase(adminUrl, template), { max: 1 })
await migrate(tsql)
await tsql.end()
await admin.end()

process.env.TEST_ADMIN_URL = adminUrl
process.env.TEST_TEMPLATE_DB = template

export function withDatabase(url: string, db: string): string {
  const u = new URL(url)
  u.pathname = `/${db}`
  return u.toString()
}

afterAll(async () => {
  if (stop) {
    await stop()
    if (dir) removeDataDir(dir)
  }
})
