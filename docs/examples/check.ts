// Runs every example of docs/integrate.md against our own code: the launch tokens that the TypeScript,
// PHP and Go examples mint are checked by the service's verifier, and each language's webhook receiver
// gets signed, tampered, foreign, stale and rotated deliveries from the Standard Webhooks reference signer.
// Needs `php` and `go` on PATH (Debian: apt-get install -y php-cli golang-go).
// Run: bun docs/examples/check.ts   → one line per check, then "N passed, N failed".
import { randomBytes } from 'node:crypto'
import path from 'node:path'
import { Webhook } from 'standardwebhooks'
import { verifyLaunchToken } from '../../api/src/access'

const HERE = import.meta.dir
const ROOT = path.resolve(HERE, '../..')
let passed = 0
let failed = 0
function check(name: string, ok: boolean, detail = '') {
  if (ok) passed++
  else failed++
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${name}${detail ? ` — ${detail}` : ''}`)
}

const freePort = () => {
  const s = Bun.serve({ port: 0, hostname: '127.0.0.1', fetch: () => new Response() })
  const port = s.port!
  s.stop(true)
  return port
}

// 1. Launch tokens: each language mints one; our verifier (the one POST /session uses) must accept it.
const platformSecret = randomBytes(32).toString('base64url')
const minters: [string, string[]][] = [
  ['TypeScript', ['bun', path.join(HERE, 'launch-token.ts')]],
  ['PHP', ['php', path.join(HERE, 'launch-token.php')]],
  ['Go', ['go', 'run', path.join(HERE, 'launch-token.go')]],
]
for (const [lang, cmd] of minters) {
  const p = Bun.spawn(cmd, { cwd: ROOT, env: { ...process.env, PLATFORM_SECRET: platformSecret, SHOP_ID: '42' }, stdout: 'pipe', stderr: 'pipe' })
  const [code, out, err] = await Promise.all([p.exited, new Response(p.stdout).text(), new Response(p.stderr).text()])
  const token = /#launch=(\S+)/.exec(out)?.[1]
  if (code !== 0 || !token) {
    check(`${lang} mints a launch token`, false, `exit ${code}: ${err.trim() || out.trim()}`)
    continue
  }
  try {
    const claims = await verifyLaunchToken(token, platformSecret)
    const lifetime = Math.round((claims.expiresAt.getTime() - Date.now()) / 1000)
    check(
      `${lang} launch token verifies: shop ${claims.shopId}, sub ${claims.subject}, name ${claims.name}, expires in ${lifetime} s`,
      claims.shopId === 42 && claims.subject === '17' && claims.name === 'Ольга' && lifetime > 0 && lifetime <= 600,
    )
  } catch (e) {
    check(`${lang} launch token verifies`, false, String(e))
  }
  await verifyLaunchToken(token, randomBytes(32).toString('base64url')).then(
    () => check(`${lang} launch token is refused under another secret`, false),
    () => check(`${lang} launch token is refused under another secret`, true),
  )
}

// 2. Webhook receivers: started as their comments say, then fed deliveries.
const secret = `whsec_${randomBytes(24).toString('base64')}`
const other = `whsec_${randomBytes(24).toString('base64')}`
const event = (id: string) => ({ id, type: 'order.status_changed', occurredAt: new Date().toISOString(), shopId: 42, data: { shopId: 42, orderId: 7, number: 'A-1001', sequence: 2, from: 'new', to: 'accepted', by: { source: 'telegram', name: 'Ольга' } } })
const signed = (s: string, id: string, at: Date, body: string) => new Webhook(s).sign(id, at, body)

const receivers: [string, (port: number) => string[], (port: number) => Record<string, string>][] = [
  ['TypeScript', () => ['bun', path.join(HERE, 'webhook-receiver.ts')], (port) => ({ PORT: String(port) })],
  ['PHP', (port) => ['php', '-S', `127.0.0.1:${port}`, path.join(HERE, 'webhook-receiver.php')], () => ({})],
  ['Go', () => ['go', 'run', path.join(HERE, 'webhook-receiver.go')], (port) => ({ LISTEN: `127.0.0.1:${port}` })],
]
for (const [lang, cmd, env] of receivers) {
  const port = freePort()
  const p = Bun.spawn(cmd(port), { cwd: ROOT, env: { ...process.env, WEBHOOK_SECRET: secret, ...env(port) }, stdout: 'pipe', stderr: 'pipe' })
  const url = `http://127.0.0.1:${port}/webhooks/posiflora`
  try {
    const deadline = Date.now() + 120_000
    while (!(await fetch(url, { method: 'POST' }).then(() => true, () => false))) {
      if (Date.now() > deadline || p.exitCode !== null) throw new Error(`${lang} receiver did not start: ${await new Response(p.stderr).text()}`)
      await Bun.sleep(100)
    }
    const post = async (headers: Record<string, string>, body: string) =>
      (await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body })).status
    const deliver = async (opts: { key?: string; body?: string; at?: Date; signature?: string } = {}) => {
      const id = `evt_${randomBytes(6).toString('hex')}`
      const body = JSON.stringify(event(id))
      const at = opts.at ?? new Date()
      const signature = opts.signature ?? signed(opts.key ?? secret, id, at, body)
      return post({ 'webhook-id': id, 'webhook-timestamp': String(Math.floor(at.getTime() / 1000)), 'webhook-signature': signature }, opts.body ?? body)
    }
    const ok = (s: number) => s >= 200 && s < 300
    let s = await deliver()
    check(`${lang} receiver accepts a signed delivery`, ok(s), `HTTP ${s}`)
    s = await deliver({ body: JSON.stringify(event('evt_forged')) })
    check(`${lang} receiver refuses a tampered body`, s === 401, `HTTP ${s}`)
    s = await deliver({ key: other })
    check(`${lang} receiver refuses another secret's signature`, s === 401, `HTTP ${s}`)
    s = await deliver({ at: new Date(Date.now() - 10 * 60_000) })
    check(`${lang} receiver refuses a delivery signed 10 minutes ago`, s === 401, `HTTP ${s}`)
    const id = 'evt_rotation'
    const at = new Date()
    const body = JSON.stringify(event(id))
    s = await post(
      { 'webhook-id': id, 'webhook-timestamp': String(Math.floor(at.getTime() / 1000)), 'webhook-signature': `${signed(other, id, at, body)} ${signed(secret, id, at, body)}` },
      body,
    )
    check(`${lang} receiver accepts a delivery signed by an old and a new secret (rotation overlap)`, ok(s), `HTTP ${s}`)
  } catch (e) {
    check(`${lang} receiver`, false, String(e))
  } finally {
    p.kill('SIGTERM')
    await p.exited
  }
}

console.log(`${passed} passed, ${failed} failed`)
process.exit(failed ? 1 : 0)
