import { copyFileSync, existsSync, mkdirSync, readdirSync, statSync } from 'node:fs'
import path from 'node:path'

export const UI_ROOT = path.resolve(import.meta.dir, '../../../ui')

function newestMtime(p: string): number {
  if (!existsSync(p)) return 0
  const st = statSync(p)
  if (!st.isDirectory()) return st.mtimeMs
  return Math.max(0, ...readdirSync(p).map((f) => newestMtime(path.join(p, f))))
}

/**
 * The API docs' viewer (Scalar), served from our own /assets so /swagger needs no CDN and passes the
 * Content-Security-Policy. Copied from the dev dependency at build time; the name carries its version.
 */
export const SCALAR_ASSET = 'scalar-standalone.js'

function copyScalar(root: string): void {
  const from = path.resolve(root, '../node_modules/@scalar/api-reference/dist/browser/standalone.js')
  mkdirSync(path.join(root, 'dist', 'assets'), { recursive: true })
  copyFileSync(from, path.join(root, 'dist', 'assets', SCALAR_ASSET))
}

/** True when ui/dist is missing or older than any source of the page. */
export function uiIsStale(root = UI_ROOT): boolean {
  const built = newestMtime(path.join(root, 'dist', 'index.html'))
  if (!built || !existsSync(path.join(root, 'dist', 'assets', SCALAR_ASSET))) return true
  const sources = Math.max(newestMtime(path.join(root, 'src')), newestMtime(path.join(root, 'index.html')), newestMtime(path.join(root, 'vite.config.ts')))
  return sources > built
}

/** Builds the settings page with Vite, so `bun run start` alone gives a working page. */
export async function buildUi(root = UI_ROOT): Promise<number> {
  const started = Date.now()
  const { build } = await import('vite')
  await build({ root, configFile: path.join(root, 'vite.config.ts'), logLevel: 'warn' })
  copyScalar(root)
  return Date.now() - started
}

if (import.meta.main) {
  if (process.argv.includes('--force') || uiIsStale()) {
    const ms = await buildUi()
    console.log(`ui built in ${ms} ms`)
  } else console.log('ui is up to date')
}
