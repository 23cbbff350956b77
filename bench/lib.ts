/**
 * Shared pieces of the benchmark: child processes (tracked so every one is stopped on exit or
 * failure), a keep-alive fetch load generator with latency percentiles, and /proc readers for RSS
 * and CPU time. Nothing here is imported by the service or by `bun test`.
 */
import { chmodSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs'
import { removeDataDir } from '../api/src/platform/db/embedded'
import { tmpdir } from 'node:os'
import path from 'node:path'
import type { Subprocess } from 'bun'

export const ROOT = path.resolve(import.meta.dir, '..')

// ---------- cleanup ----------
const cleanups: (() => Promise<void> | void)[] = []
export function onCleanup(fn: () => Promise<void> | void): void {
  cleanups.unshift(fn)
}
let cleaning: Promise<void> | null = null
export function cleanupAll(): Promise<void> {
  cleaning ??= (async () => {
    for (const fn of cleanups.splice(0)) {
      try {
        await fn()
      } catch (err) {
        console.error('cleanup failed:', err)
      }
    }
  })()
  return cleaning
}

/** A temp dir the unprivileged postgres user can enter (mkdtemp makes 0700), removed at cleanup. */
export function tempDir(prefix: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), prefix))
  chmodSync(dir, 0o755)
  onCleanup(() => removeDataDir(dir))
  return dir
}

// ---------- processes ----------
export type Proc = { proc: Subprocess; pid: number; port: number; logFile: string; stop: (signal?: NodeJS.Signals) => Promise<void> }

export function freePort(): number {
  const s = Bun.serve({ port: 0, hostname: '127.0.0.1', fetch: () => new Response() })
  const port = s.port!
  s.stop(true)
  return port
}

/** Spawns a child with its output in a log file; it is stopped (SIGTERM, then SIGKILL) at cleanup. */
export function spawnProc(cmd: string[], env: Record<string, string>, port: number, logFile: string): Proc {
  const proc = Bun.spawn(cmd, { cwd: ROOT, env: { ...process.env, ...env }, stdout: Bun.file(logFile), stderr: Bun.file(logFile + '.err'), stdin: 'ignore' })
  let stopped = false
  const stop = async (signal: NodeJS.Signals = 'SIGTERM') => {
    if (stopped) return
    stopped = true
    if (proc.exitCode !== null || proc.signalCode) return
    proc.kill(signal)
    const killed = await Promise.race([proc.exited.then(() => true), Bun.sleep(25_000).then(() => false)])
    if (!killed) {
      proc.kill('SIGKILL')
      await proc.exited
    }
  }
  onCleanup(() => stop())
  return { proc, pid: proc.pid, port, logFile, stop }
}

/** Polls GET url until it answers 200; returns the ms from `since`. */
export async function waitHealthy(url: string, since: number, timeoutMs = 120_000, proc?: Subprocess): Promise<number> {
  const deadline = since + timeoutMs
  for (;;) {
    try {
      const r = await fetch(url, { signal: AbortSignal.timeout(1000) })
      await r.arrayBuffer()
      if (r.status === 200) return performance.now() - since
    } catch {}
    if (proc && proc.exitCode !== null) throw new Error(`${url}: process exited with ${proc.exitCode} before becoming healthy`)
    if (performance.now() > deadline) throw new Error(`${url} not healthy after ${timeoutMs} ms`)
    await Bun.sleep(10)
  }
}

// ---------- /proc ----------
/** Resident set size in MiB, or null when the process is gone. */
export function rssMiB(pid: number): number | null {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
    return m ? Number(m[1]) / 1024 : null
  } catch {
    return null
  }
}

/** Samples a process's RSS every `everyMs` until stopped; gives the peak. */
export function rssSampler(pid: number, everyMs = 100) {
  let peak = rssMiB(pid) ?? 0
  const t = setInterval(() => (peak = Math.max(peak, rssMiB(pid) ?? 0)), everyMs)
  return { stop: () => (clearInterval(t), Math.max(peak, rssMiB(pid) ?? 0)) }
}

const TICK = 100 // USER_HZ on Linux
function statFields(pid: number): string[] | null {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return s.slice(s.lastIndexOf(')') + 2).split(' ') // fields from #3 (state) on
  } catch {
    return null
  }
}
/** CPU seconds (user+sys) of a process; with `children` also of its waited-for, exited children. */
export function cpuSec(pid: number, children = false): number {
  const f = statFields(pid)
  if (!f) return 0
  const n = (i: number) => Number(f[i - 3])
  return (n(14) + n(15) + (children ? n(16) + n(17) : 0)) / TICK
}
/** CPU seconds of a PostgreSQL cluster: the postmaster, its exited backends, and its live ones. */
export function pgCpuSec(postmasterPid: number): number {
  let total = cpuSec(postmasterPid, true)
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue
    const f = statFields(Number(d))
    if (f && Number(f[1]) === postmasterPid) total += cpuSec(Number(d))
  }
  return total
}
/** CPU seconds of this (bench) process: load generator plus the fake Bot API. */
export function selfCpuSec(): number {
  const u = process.cpuUsage()
  return (u.user + u.system) / 1e6
}

/** A CPU meter over named sources; `stop` gives the seconds each used and % of one core. */
export function cpuMeter(sources: Record<string, () => number>) {
  const t0 = performance.now()
  const start = Object.fromEntries(Object.entries(sources).map(([k, f]) => [k, f()]))
  return {
    stop() {
      const wall = (performance.now() - t0) / 1000
      const out: Record<string, { sec: number; pctOfCore: number }> = {}
      let total = 0
      for (const [k, f] of Object.entries(sources)) {
        const sec = f() - start[k]!
        total += sec
        out[k] = { sec: round(sec, 2), pctOfCore: round((100 * sec) / wall, 0) }
      }
      return { wallSec: round(wall, 2), totalPctOfCore: round((100 * total) / wall, 0), by: out }
    },
  }
}

// ---------- statistics ----------
export function pct(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))
  return sorted[i]!
}
export function summary(latMs: number[]) {
  const s = [...latMs].sort((a, b) => a - b)
  return { n: s.length, p50: round(pct(s, 50), 2), p90: round(pct(s, 90), 2), p99: round(pct(s, 99), 2), max: round(s[s.length - 1] ?? NaN, 2) }
}
export const round = (x: number, d = 1) => (Number.isFinite(x) ? Math.round(x * 10 ** d) / 10 ** d : x)

// ---------- load ----------
/**
 * Runs `total` requests built by `make(i)` with `concurrency` workers (Bun's fetch keeps
 * connections alive). Returns throughput and latency; every non-2xx answer is counted as an error.
 */
export async function load(opts: {
  total: number
  concurrency: number
  make: (i: number) => { url: string; init?: RequestInit }
  check?: (status: number, body: string) => boolean
}) {
  const lat: number[] = []
  let errors = 0
  let firstError: string | null = null
  let next = 0
  const t0 = performance.now()
  const worker = async () => {
    for (let i = next++; i < opts.total; i = next++) {
      const { url, init } = opts.make(i)
      const s = performance.now()
      try {
        const r = await fetch(url, init)
        const body = await r.text()
        lat.push(performance.now() - s)
        const ok = opts.check ? opts.check(r.status, body) : r.status < 300
        if (!ok) {
          errors++
          firstError ??= `${r.status} ${body.slice(0, 300)}`
        }
      } catch (err) {
        errors++
        firstError ??= String(err)
      }
    }
  }
  await Promise.all(Array.from({ length: opts.concurrency }, worker))
  const sec = (performance.now() - t0) / 1000
  return { perSec: round(opts.total / sec, 0), wallSec: round(sec, 2), errors, firstError, latencyMs: summary(lat) }
}

/** Max number of timestamps inside any window of `windowMs` (sorted input). */
export function maxInWindow(sortedAt: number[], windowMs = 1000): number {
  let best = 0
  for (let i = 0, j = 0; i < sortedAt.length; i++) {
    while (sortedAt[i]! - sortedAt[j]! >= windowMs) j++
    best = Math.max(best, i - j + 1)
  }
  return best
}

/**
 * Samples what PostgreSQL's client backends are doing every `everyMs` (pg_stat_activity): running
 * on CPU, waiting for the WAL flush (IO:WALSync / LWLock:WALWrite), for a lock, or idle waiting for
 * the client (Client:ClientRead = the application's turn). The shares say where a request waits.
 */
export function waitSampler(sql: import('../api/src/platform/db/client').Sql, everyMs = 20, opts: { byQuery?: boolean; top?: number } = {}) {
  const counts = new Map<string, number>()
  let samples = 0
  let running = true
  const loop = (async () => {
    while (running) {
      const rows = await sql<{ w: string; n: number }[]>`
        select case when state = 'active' then coalesce(wait_event_type || ':' || wait_event, 'CPU') else state || coalesce(' ' || wait_event_type || ':' || wait_event, '') end
               -- with byQuery: which statement (its first words) is in that state
               || case when ${!!opts.byQuery}::boolean and state <> 'idle' then ' | ' || left(regexp_replace(query, '\s+', ' ', 'g'), 90) else '' end as w,
               count(*)::int as n
        from pg_stat_activity where backend_type = 'client backend' and pid <> pg_backend_pid() and datname is not null
        group by 1`.catch(() => [])
      samples++
      for (const r of rows) counts.set(r.w, (counts.get(r.w) ?? 0) + r.n)
      await Bun.sleep(everyMs)
    }
  })()
  return {
    async stop() {
      running = false
      await loop
      const total = [...counts.values()].reduce((a, b) => a + b, 0) || 1
      // average number of backends in each state, and its share of all backend-samples
      return Object.fromEntries(
        [...counts.entries()]
          .sort((a, b) => b[1] - a[1])
          .slice(0, opts.top ?? 8)
          .map(([k, v]) => [k, { avgBackends: round(v / samples, 2), share: round(v / total, 3) }]),
      )
    },
  }
}

/** A realistic order body (every optional field a florist fills in) for the intake measurements. */
export const sampleOrder = (number: string, total: string) => ({
  number,
  total,
  customerName: 'Анна Смирнова',
  customerPhone: '+7 916 555-12-01',
  recipientName: 'Мария Петрова',
  deliveryDate: '2030-05-01',
  deliveryTime: '14:00–16:00',
  address: 'ул. Ленина, 12, кв. 5',
  comment: 'Позвонить за час',
})
