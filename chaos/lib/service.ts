import { mkdtempSync, readFileSync } from 'node:fs'
import { removeDataDir } from '../../api/src/platform/db/embedded'
import { tmpdir } from 'node:os'
import path from 'node:path'
import type { Subprocess } from 'bun'

export const REPO = path.resolve(import.meta.dir, '../..')

/** Every line any service process printed, for the secrets check and for post-mortems. */
export const allLogs: { proc: string; stream: 'stdout' | 'stderr'; line: string }[] = []

/** Frees a port by binding 0 (the service must know its port before it starts). */
export function freePort(): number {
  const s = Bun.serve({ port: 0, hostname: '127.0.0.1', fetch: () => new Response() })
  const port = s.port!
  s.stop(true)
  return port
}

const live = new Set<ServiceProc>()

/**
 * The service as a real process: `bun api/src/main.ts` from the repository root, with the
 * environment of CONTRACT.md. stdout and stderr are captured line by line. `kill9` is a crash
 * (SIGKILL: no shutdown hook runs); `restart` starts a fresh process on the same port.
 */
export class ServiceProc {
  proc: Subprocess<'ignore', 'pipe', 'pipe'> | null = null
  readonly port: number
  readonly dataDir: string
  starts = 0
  private readonly env: Record<string, string>

  constructor(
    readonly name: string,
    env: Record<string, string>,
  ) {
    this.port = freePort()
    this.dataDir = mkdtempSync(path.join(tmpdir(), `chaos-svc-${name}-`))
    const inherited: Record<string, string> = {}
    for (const k of ['PATH', 'HOME', 'LANG', 'TMPDIR', 'BUN_INSTALL']) if (process.env[k]) inherited[k] = process.env[k]!
    this.env = { ...inherited, PORT: String(this.port), HOST: '127.0.0.1', DATA_DIR: this.dataDir, ...env }
    live.add(this)
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`
  }

  get pid(): number | undefined {
    return this.proc?.pid
  }

  get alive(): boolean {
    return !!this.proc && this.proc.exitCode === null && this.proc.signalCode === null
  }

  private pump(stream: ReadableStream<Uint8Array>, kind: 'stdout' | 'stderr', label: string) {
    void (async () => {
      const dec = new TextDecoder()
      let buf = ''
      for await (const chunk of stream) {
        buf += dec.decode(chunk, { stream: true })
        let i: number
        while ((i = buf.indexOf('\n')) >= 0) {
          allLogs.push({ proc: label, stream: kind, line: buf.slice(0, i) })
          buf = buf.slice(i + 1)
        }
      }
      if (buf) allLogs.push({ proc: label, stream: kind, line: buf })
    })().catch(() => {})
  }

  /** Spawns the process and waits until /health answers 200. */
  async start(timeoutMs = 30_000): Promise<number> {
    const t0 = Date.now()
    this.starts++
    const label = `${this.name}#${this.starts}`
    this.proc = Bun.spawn(['bun', 'api/src/main.ts'], { cwd: REPO, env: this.env, stdin: 'ignore', stdout: 'pipe', stderr: 'pipe' })
    this.pump(this.proc.stdout, 'stdout', label)
    this.pump(this.proc.stderr, 'stderr', label)
    while (Date.now() - t0 < timeoutMs) {
      if (!this.alive) throw new Error(`${label} exited during start (code ${this.proc.exitCode}): ${this.tail(label)}`)
      try {
        const r = await fetch(`${this.url}/health`, { signal: AbortSignal.timeout(1000) })
        await r.text()
        if (r.status === 200) return Date.now() - t0
      } catch {}
      await Bun.sleep(50)
    }
    throw new Error(`${label} not healthy after ${timeoutMs} ms: ${this.tail(label)}`)
  }

  private tail(label: string): string {
    return allLogs
      .filter((l) => l.proc === label)
      .slice(-15)
      .map((l) => l.line)
      .join('\n')
  }

  /** A crash: SIGKILL, no graceful stop. */
  async kill9(): Promise<void> {
    if (!this.proc) return
    this.proc.kill('SIGKILL')
    await this.proc.exited
  }

  /** Graceful stop (SIGTERM), SIGKILL after `graceMs`. */
  async stop(graceMs = 10_000): Promise<void> {
    const p = this.proc
    if (!p || !this.alive) return
    p.kill('SIGTERM')
    const done = await Promise.race([p.exited.then(() => true), Bun.sleep(graceMs).then(() => false)])
    if (!done) {
      p.kill('SIGKILL')
      await p.exited
    }
  }

  /** VmRSS of the process in MB. */
  rssMb(): number {
    const status = readFileSync(`/proc/${this.pid}/status`, 'utf8')
    const kb = Number(/VmRSS:\s+(\d+)\s+kB/.exec(status)?.[1] ?? NaN)
    return Math.round((kb / 1024) * 10) / 10
  }

  async dispose(): Promise<void> {
    await this.stop(5000).catch(() => {})
    removeDataDir(this.dataDir)
    live.delete(this)
  }
}

/** Last-resort cleanup (afterAll, and on process exit): every process this suite started. */
export async function disposeAll(): Promise<void> {
  await Promise.allSettled([...live].map((s) => s.dispose()))
}
process.on('exit', () => {
  for (const s of live) {
    try {
      s.proc?.kill('SIGKILL')
    } catch {}
  }
})
