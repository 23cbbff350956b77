import { existsSync, readdirSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { stopEmbeddedSync } from '../../api/src/platform/db/embedded'
import { freePort, onCleanup, round, rssMiB, spawnProc, tempDir, waitHealthy } from '../lib'
import { pg, log, row, results, runDir, ENCRYPTION_KEY } from './context'

// =====================================================================================
// 4. Start-up
// =====================================================================================
function childOf(pid: number): number | null {
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue
    try {
      const s = readFileSync(`/proc/${d}/stat`, 'utf8')
      if (Number(s.slice(s.lastIndexOf(')') + 2).split(' ')[1]) === pid) return Number(d)
    } catch {}
  }
  return null
}

async function startOnce(dataDir: string, label: string) {
  const port = freePort()
  const t = performance.now()
  const p = spawnProc(
    ['bun', 'run', 'start'],
    { PORT: String(port), DATA_DIR: dataDir, DATABASE_URL: '', LOG_LEVEL: 'info', TELEGRAM_MODE: 'mock', ADMIN_TOKEN: '', PUBLIC_URL: '', ENCRYPTION_KEY },
    port,
    path.join(runDir, `start-${label}.log`),
  )
  let child: number | null = null
  onCleanup(() => {
    // `bun run` may not forward signals: make sure the service and its database are gone.
    if (child && rssMiB(child) !== null) {
      try {
        process.kill(child, 'SIGKILL')
      } catch {}
      const cluster = path.join(dataDir, 'pg')
      // The service's cluster runs the same (possibly relocated) binaries as the bench's own.
      if (existsSync(path.join(cluster, 'postmaster.pid'))) stopEmbeddedSync(cluster, pg.pgCtl)
    }
  })
  const ms = await waitHealthy(`http://127.0.0.1:${port}/health`, t, 120_000, p.proc)
  child = childOf(p.pid)
  await Bun.sleep(1500)
  const idleRss = child ? rssMiB(child) : null
  const lines = readFileSync(p.logFile, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => {
      try {
        return JSON.parse(l)
      } catch {
        return null
      }
    })
    .filter(Boolean)
  const ev = (e: string) => lines.find((l: any) => l.event === e)
  // graceful stop of the service itself (it stops its database), then the `bun run` wrapper
  if (child) process.kill(child, 'SIGTERM')
  await Promise.race([p.proc.exited, Bun.sleep(30_000)])
  await p.stop()
  return {
    ms: round(ms, 0),
    idleRssMiB: idleRss === null ? null : round(idleRss),
    initdbMs: ev('embedded_db_initialised')?.ms ?? null,
    serviceStartupMs: ev('listening')?.startupMs ?? null,
    uiBuilt: !!ev('ui_build_started'),
  }
}

export async function startup() {
  log('start-up: bare Bun.serve process (baseline), first start on an empty DATA_DIR, warm starts')
  // baseline: a bun process that serves 200 as soon as it can
  const bare: number[] = []
  for (let i = 0; i < 3; i++) {
    const port = freePort()
    const t = performance.now()
    const p = spawnProc(
      ['bun', '-e', `Bun.serve({port:${port},hostname:'127.0.0.1',fetch:()=>new Response('ok')})`],
      {},
      port,
      path.join(runDir, `bare-${i}.log`),
    )
    bare.push(await waitHealthy(`http://127.0.0.1:${port}/health`, t, 30_000, p.proc))
    await p.stop()
  }
  const dataDir = path.join(tempDir('bench-start-'), 'data')
  const cold = await startOnce(dataDir, 'cold')
  log(`  first start: ${cold.ms} ms (initdb ${cold.initdbMs} ms)`)
  const warm: Awaited<ReturnType<typeof startOnce>>[] = []
  for (let i = 0; i < 3; i++) warm.push(await startOnce(dataDir, `warm-${i}`))
  const warmMs = warm.map((w) => w.ms).sort((a, b) => a - b)
  const bareMs = round(bare.sort((a, b) => a - b)[1]!, 0)
  results.startup = { bareBunServeMs: bare.map((x) => round(x, 0)), cold, warm, warmMedianMs: warmMs[1] }
  log(`  warm start median ${warmMs[1]} ms; bare bun ${bareMs} ms`)
  row('Start-up warm → 200 /health (baseline: bare Bun.serve)', warmMs[1]!, bareMs, 'ms', undefined, 0)
  row('Start-up first, empty DATA_DIR (baseline: bare Bun.serve)', cold.ms, bareMs, 'ms', undefined, 0)
}
