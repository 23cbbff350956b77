import { readdir, readFile } from 'node:fs/promises'
import path from 'node:path'
import type { Sql } from './client'

export const SQL_DIR = path.resolve(import.meta.dir, '../../../../sql')
/** Any constant works; it only has to be the same in every process that migrates this database. */
const MIGRATION_LOCK = 7_402_113_551

/**
 * Applies `sql/NNN_*.sql` in order, each in its own transaction, recorded in `schema_migrations`.
 * An advisory transaction lock serialises concurrent starters (two replicas booting at once), so
 * every migration runs exactly once; running it on every start is a no-op once applied.
 */
export async function migrate(sql: Sql, dir = SQL_DIR): Promise<string[]> {
  const files = (await readdir(dir)).filter((f) => /^\d{3}_.+\.sql$/.test(f)).sort()
  const applied: string[] = []
  for (const file of files) {
    const text = await readFile(path.join(dir, file), 'utf8')
    const ran = await sql.begin(async (tx) => {
      await tx`select pg_advisory_xact_lock(${MIGRATION_LOCK})`
      await tx`create table if not exists schema_migrations (
        version text primary key,
        applied_at timestamptz not null default now()
      )`
      const [done] = await tx`select 1 from schema_migrations where version = ${file}`
      if (done) return false
      await tx.unsafe(text)
      await tx`insert into schema_migrations (version) values (${file})`
      return true
    })
    if (ran) applied.push(file)
  }
  return applied
}

/** Runs `sql/seed.sql` (idempotent by construction: every insert is ON CONFLICT DO NOTHING). */
export async function seed(sql: Sql, dir = SQL_DIR): Promise<void> {
  const text = await readFile(path.join(dir, 'seed.sql'), 'utf8')
  await sql.begin(async (tx) => {
    await tx`select pg_advisory_xact_lock(${MIGRATION_LOCK})`
    await tx.unsafe(text)
  })
}
