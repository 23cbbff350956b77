import { existsSync } from 'node:fs'
import { chromium, type Browser } from 'playwright-core'

/** Debian's Chromium when the machine has it (CI images often do). */
const SYSTEM_CHROMIUM = '/usr/bin/chromium'

/** Flags for a headless browser on a machine with no network but loopback. */
const ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
]

/**
 * A headless Chromium for the browser tests: `/usr/bin/chromium` when present, otherwise the build the
 * npm package `@sparticuz/chromium` ships (a dev dependency: `bun install` brings it, nothing is
 * downloaded at test time). A browser that cannot start fails the test with the reason — never a skip.
 */
export async function launchChromium(): Promise<Browser> {
  if (existsSync(SYSTEM_CHROMIUM)) return chromium.launch({ executablePath: SYSTEM_CHROMIUM, headless: true, args: ARGS })
  const { default: packaged } = await import('@sparticuz/chromium')
  let executablePath: string
  try {
    executablePath = await packaged.executablePath()
  } catch (err) {
    throw new Error(`No /usr/bin/chromium and the Chromium of @sparticuz/chromium could not be unpacked (${String(err)}); run bun install`)
  }
  return chromium.launch({
    executablePath,
    headless: true,
    args: [...packaged.args.filter((a) => !a.startsWith('--headless') && a !== '--single-process'), ...ARGS],
  })
}
