import { afterAll, describe, expect, test } from 'bun:test'
import { existsSync, mkdtempSync, readFileSync, chmodSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { buildUi, uiIsStale } from '../../src/platform/ui-build'
import { freePort } from '../helpers'
import { removeDataDir } from '../../src/platform/db/embedded'

const ROOT = path.resolve(import.meta.dir, '../../..')

describe('the real process', () => {
  const dirs: string[] = []
  afterAll(() => {
    for (const d of dirs) removeDataDir(d)
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
      const ok = await fetch(`http://127.0.0.1:${port}/health`).then(
        (r) => r.ok,
        () => false,
      )
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
    const created = await fetch(`http://127.0.0.1:${port}/shops/1/orders`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ number: 'KEEP-1', total: 10, customerName: 'Дана' }),
    })
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
