import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { readdirSync } from 'node:fs'
import path from 'node:path'
import { createSql } from '../../src/platform/db/client'
import { migrate, seed, SQL_DIR } from '../../src/platform/db/migrate'
import { withDatabase } from '../preload'

const _ROOT = path.resolve(import.meta.dir, '../../..')

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
    const files = readdirSync(SQL_DIR)
      .filter((f) => /^\d{3}_.+\.sql$/.test(f))
      .sort()
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
