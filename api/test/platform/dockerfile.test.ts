import { afterAll, describe, expect, test } from 'bun:test'
import { randomBytes } from 'node:crypto'
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { createSql } from '../../src/platform/db/client'
import { eventually, freePort } from '../helpers'
import { withDatabase } from '../preload'

/**
 * The image without a Docker engine: each stage of the Dockerfile is rebuilt in a temp folder that
 * stands for the container's `/` — its COPY set taken from the build context through .dockerignore,
 * its `bun …` RUN steps run there — and the last stage's CMD is started on an empty database. A file
 * the install or the service needs and the Dockerfile forgets (patches/, bunfig.toml…) fails here.
 * Steps that only touch the container itself (`rm -rf ~/.bun/…`, `mkdir`, `chown`) are not run.
 */
const ROOT = path.resolve(import.meta.dir, '../../..')

type Instruction = { op: string; args: string }
type Stage = { name: string | null; from: string; instructions: Instruction[] }

/** Instructions with their continuation lines joined, comments dropped, grouped by FROM. */
export function parseDockerfile(text: string): Stage[] {
  const lines = text.replace(/\\\r?\n/g, ' ').split(/\r?\n/)
  const stages: Stage[] = []
  for (const line of lines) {
    const t = line.trim()
    if (!t || t.startsWith('#')) continue
    const [, op, args] = /^(\w+)\s+(.*)$/.exec(t) ?? []
    if (!op || args === undefined) throw new Error(`Cannot read Dockerfile line: ${t}`)
    if (op.toUpperCase() === 'FROM') {
      const m = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(args.trim())!
      stages.push({ from: m[1]!, name: m[2] ?? null, instructions: [] })
    } else stages.at(-1)!.instructions.push({ op: op.toUpperCase(), args: args.trim() })
  }
  return stages
}

/** .dockerignore as Docker reads it: `*` within one segment, `**` across, `!` re-includes, a match excludes everything under it. */
export function dockerignore(text: string): (rel: string) => boolean {
  const rules = text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => {
      const negate = l.startsWith('!')
      const p = path.posix.normalize((negate ? l.slice(1) : l).replace(/^\/+/, '')).replace(/\/+$/, '')
      let re = ''
      for (let i = 0; i < p.length; i++) {
        const c = p[i]!
        if (c === '*' && p[i + 1] === '*') {
          i++
          if (p[i + 1] === '/') {
            i++
            re += '(?:.*/)?'
          } else re += '.*'
        } else if (c === '*') re += '[^/]*'
        else if (c === '?') re += '[^/]'
        else re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&')
      }
      return { negate, re: new RegExp(`^${re}(?:/.*)?$`) }
    })
  return (rel) => {
    let ignored = false
    for (const r of rules) if (r.re.test(rel)) ignored = !r.negate
    return ignored
  }
}

/** Every file of the build context (relative, posix), without what .dockerignore leaves out. */
function contextFiles(root: string, ignored: (rel: string) => boolean): string[] {
  const out: string[] = []
  const walk = (rel: string) => {
    for (const name of readdirSync(path.join(root, rel))) {
      const r = rel ? `${rel}/${name}` : name
      if (ignored(r)) continue
      const st = statSync(path.join(root, r), { throwIfNoEntry: false })
      if (!st) continue
      if (st.isDirectory()) walk(r)
      else out.push(r)
    }
  }
  walk('')
  return out
}

/** `COPY [--flags] src… dest` (the shell form the Dockerfile uses). */
function parseCopy(args: string) {
  const words = args.split(/\s+/)
  const flags = Object.fromEntries(words.filter((w) => w.startsWith('--')).map((w) => w.slice(2).split('=') as [string, string]))
  const rest = words.filter((w) => !w.startsWith('--'))
  return { from: flags.from ?? null, sources: rest.slice(0, -1), dest: rest.at(-1)! }
}

/** `ENV A=1 B=2` */
const parseEnv = (args: string) => Object.fromEntries(args.split(/\s+/).map((kv) => kv.split('=') as [string, string]))

const dockerfile = readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8')
const ignoreText = readFileSync(path.join(ROOT, '.dockerignore'), 'utf8')
const ignored = dockerignore(ignoreText)
const context = contextFiles(ROOT, ignored)
const stages = parseDockerfile(dockerfile)

describe('.dockerignore', () => {
  test('keeps secrets, local data, installs and build output out of the build context', () => {
    for (const rel of [
      'data/encryption.key',
      'data/pg/PG_VERSION',
      '.env',
      '.env.production',
      'node_modules/elysia/package.json',
      'ui/node_modules/x',
      '.git/HEAD',
      'ui/dist/index.html',
      'bench/results/latest.json',
      'server.key',
      'api/x.pem',
    ])
      expect(ignored(rel), rel).toBe(true)
    for (const rel of ['package.json', 'bun.lock', 'bunfig.toml', 'patches/postgres@3.4.9.patch', 'api/src/main.ts', 'sql/001_schema.sql', 'ui/src/App.tsx'])
      expect(ignored(rel), rel).toBe(false)
    expect(context.filter((f) => /(^|\/)(data|node_modules|\.git)\/|\.key$|(^|\/)\.env/.test(f))).toEqual([])
  })
})

describe('the Dockerfile, stage by stage, without Docker', () => {
  const roots = new Map<string, string>()
  const dirs: string[] = []
  const admin = createSql(process.env.TEST_ADMIN_URL!, { max: 1 })
  const dbName = `img_${process.pid}_${randomBytes(3).toString('hex')}`
  afterAll(async () => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true })
    await admin.unsafe(`drop database if exists ${dbName} with (force)`)
    await admin.end()
  }, 120_000)

  test('has a build stage and a runtime stage', () => {
    expect(stages.length).toBe(2)
    expect(stages.every((s) => s.instructions.some((i) => i.op === 'RUN' && /\bbun install --frozen-lockfile\b/.test(i.args)))).toBe(true)
  })

  for (const [index, stage] of stages.entries()) {
    test(`stage ${stage.name ?? index + 1} (${stage.from}): every COPY source is in the context and every bun step succeeds on exactly those files`, async () => {
      const root = mkdtempSync(path.join(tmpdir(), 'ptn-image-'))
      dirs.push(root)
      let workdir = '/'
      let env: Record<string, string> = {}
      for (const { op, args } of stage.instructions) {
        if (op === 'WORKDIR') {
          workdir = path.posix.resolve(workdir, args)
          mkdirSync(path.join(root, workdir), { recursive: true })
        } else if (op === 'ENV') env = { ...env, ...parseEnv(args) }
        else if (op === 'COPY') {
          const c = parseCopy(args)
          const dest = path.posix.resolve(workdir, c.dest)
          const intoDir = c.dest.endsWith('/') || c.sources.length > 1
          for (const src of c.sources) {
            if (c.from) {
              const fromRoot = roots.get(c.from)
              expect(fromRoot, `COPY --from=${c.from}: no earlier stage of that name`).toBeDefined()
              const from = path.join(fromRoot!, src)
              expect(existsSync(from), `COPY --from=${c.from} ${src}: the stage did not produce it`).toBe(true)
              cpSync(from, path.join(root, dest), { recursive: true })
              continue
            }
            const rel = path.posix.normalize(src).replace(/\/+$/, '')
            const files = context.filter((f) => f === rel || f.startsWith(`${rel}/`))
            expect(files.length, `COPY ${src}: not in the build context (missing, or left out by .dockerignore)`).toBeGreaterThan(0)
            for (const f of files) {
              const target = f === rel ? (intoDir ? path.posix.join(dest, path.posix.basename(f)) : dest) : path.posix.join(dest, f.slice(rel.length + 1))
              mkdirSync(path.dirname(path.join(root, target)), { recursive: true })
              cpSync(path.join(ROOT, f), path.join(root, target))
            }
          }
        } else if (op === 'RUN') {
          for (const step of args.split('&&').map((s) => s.trim())) {
            if (!step.startsWith('bun ')) continue
            const p = Bun.spawn(['sh', '-c', step], {
              cwd: path.join(root, workdir),
              env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
              stdout: 'pipe',
              stderr: 'pipe',
            })
            const [code, out, err] = await Promise.all([p.exited, new Response(p.stdout).text(), new Response(p.stderr).text()])
            expect(code, `RUN ${step} in stage ${stage.name ?? index + 1}:\n${out}\n${err}`).toBe(0)
          }
        }
      }
      if (stage.name) roots.set(stage.name, root)

      // The runtime stage: its CMD serves on an empty database with only the image's files, and its HEALTHCHECK passes.
      const cmd = stage.instructions.find((i) => i.op === 'CMD')
      if (!cmd) return
      await admin.unsafe(`create database ${dbName}`)
      const port = freePort()
      const runEnv = {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        ...env,
        DATA_DIR: path.join(root, env.DATA_DIR ?? '/app/data'),
        PORT: String(port),
        HOST: '127.0.0.1',
        DATABASE_URL: withDatabase(process.env.TEST_ADMIN_URL!, dbName),
        ENCRYPTION_KEY: randomBytes(32).toString('hex'),
        ADMIN_TOKEN: randomBytes(24).toString('hex'),
        TELEGRAM_API_ROOT: 'http://127.0.0.1:9', // nothing is sent: no shop exists
      }
      const service = Bun.spawn(JSON.parse(cmd.args) as string[], { cwd: path.join(root, workdir), env: runEnv, stdout: 'pipe', stderr: 'pipe' })
      try {
        await eventually(
          () =>
            fetch(`http://127.0.0.1:${port}/health`).then(
              (r) => r.ok,
              () => false,
            ),
          { timeoutMs: 60_000, stepMs: 100, message: 'the image’s service to answer /health' },
        )
        const page = await fetch(`http://127.0.0.1:${port}/shops/1/growth/telegram`)
        expect(page.status).toBe(200)
        expect(await page.text()).toContain('<div id="root">')
        const check = stage.instructions.find((i) => i.op === 'HEALTHCHECK')!.args.replace(/^.*?\bCMD\s+/, '')
        const hc = Bun.spawn(['sh', '-c', check], { env: runEnv, stdout: 'pipe', stderr: 'pipe' })
        expect(await hc.exited).toBe(0)
      } finally {
        service.kill('SIGTERM')
        expect(await service.exited).toBe(0)
      }
    }, 300_000)
  }
})
