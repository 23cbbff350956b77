import { spawn, spawnSync } from 'node:child_process'
import { chmodSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir, userInfo } from 'node:os'
import path from 'node:path'
import postgres from 'postgres'
import { startEmbeddedPostgres } from '../../api/src/platform/db/embedded'

/**
 * One real PostgreSQL cluster for the whole chaos run, in a temp dir, started with the service's own
 * embedded launcher. Each scenario gets its own database in it. `stop()`/`start()` take the server
 * down and bring it back on the same port and data dir (the database-restart scenario); both run
 * pg_ctl asynchronously so the load generator and the fake Bot API in this process keep running.
 */
export type Owner = { uid?: number; gid?: number }

function owner(): Owner {
  if (userInfo().uid !== 0) return {}
  const id = (flag: string) => Number(spawnSync('id', [flag, 'postgres'], { encoding: 'utf8' }).stdout.trim())
  return { uid: id('-u'), gid: id('-g') }
}

export class Pg {
  readonly admin: postgres.Sql
  private readonly sqls: postgres.Sql[] = []
  running = true

  private constructor(
    readonly dir: string,
    readonly clusterDir: string,
    readonly baseUrl: string,
    readonly port: number,
    private readonly pgCtl: string,
    private readonly owner: Owner,
  ) {
    this.admin = this.sql('postgres', 2)
  }

  static async start(): Promise<Pg> {
    const dir = mkdtempSync(path.join(tmpdir(), 'chaos-pg-'))
    chmodSync(dir, 0o755)
    try {
      const pg = await startEmbeddedPostgres({ dataDir: dir })
      const port = Number(new URL(pg.url).port)
      return new Pg(dir, pg.clusterDir, pg.url, port, pg.pgCtl, owner())
    } catch (err) {
      rmSync(dir, { recursive: true, force: true })
      throw err
    }
  }

  url(db: string): string {
    const u = new URL(this.baseUrl)
    u.pathname = `/${db}`
    return u.toString()
  }

  /** A client of the test itself (never the service's pool). */
  sql(db: string, max = 4): postgres.Sql {
    const s = postgres(this.url(db), { max, onnotice: () => {}, connect_timeout: 5, idle_timeout: 5 })
    this.sqls.push(s)
    return s
  }

  async createDb(name: string): Promise<string> {
    await this.admin.unsafe(`drop database if exists ${name} with (force)`)
    await this.admin.unsafe(`create database ${name}`)
    return this.url(name)
  }

  private pgCtlAsync(args: string[]): Promise<number> {
    return new Promise((resolve) => {
      const p = spawn(this.pgCtl, args, { ...this.owner, stdio: 'ignore', env: { ...process.env, LC_ALL: 'C' } })
      p.on('exit', (code) => resolve(code ?? -1))
      p.on('error', () => resolve(-1))
    })
  }

  /**
   * Writes dirty pages out now, so a `stop()` right after is the database going away, not seconds of
   * its shutdown checkpoint (whose length follows the machine's disk and load, not the service).
   */
  async checkpoint(): Promise<void> {
    await this.admin.unsafe('checkpoint')
  }

  /** `pg_ctl stop -m fast`: open sessions are terminated, new connections refused. */
  async stop(): Promise<void> {
    const code = await this.pgCtlAsync(['stop', '-D', this.clusterDir, '-m', 'fast', '-w', '-t', '30'])
    if (code !== 0) throw new Error(`pg_ctl stop exited ${code}`)
    this.running = false
  }

  /** Starts the same cluster again on the same port. */
  async start(): Promise<void> {
    const opts = `-p ${this.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories='' -c max_connections=200 -c fsync=on`
    const code = await this.pgCtlAsync(['start', '-D', this.clusterDir, '-w', '-t', '60', '-l', path.join(this.clusterDir, 'server.log'), '-o', opts])
    if (code !== 0) throw new Error(`pg_ctl start exited ${code}`)
    this.running = true
  }

  get serverLog(): string {
    return path.join(this.clusterDir, 'server.log')
  }

  /** Ends every client, stops the server, removes the data dir. Safe to call twice. */
  async destroy(): Promise<void> {
    await Promise.allSettled(this.sqls.map((s) => s.end({ timeout: 1 })))
    spawnSync(this.pgCtl, ['stop', '-D', this.clusterDir, '-m', 'immediate', '-w', '-t', '20'], { ...this.owner, stdio: 'ignore' })
    this.running = false
    rmSync(this.dir, { recursive: true, force: true })
    // the launcher may have placed the cluster under /var/tmp (a dir the postgres user can enter)
    if (!this.clusterDir.startsWith(this.dir)) rmSync(this.clusterDir, { recursive: true, force: true })
  }
}
