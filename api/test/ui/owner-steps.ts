import { readFileSync } from 'node:fs'
import path from 'node:path'
import { expect } from 'bun:test'
import type { Locator, Page } from 'playwright-core'
import { UI_ROOT } from '../../src/platform/ui-build'
import { eventually } from '../helpers'

const AXE = readFileSync(path.join(import.meta.dir, '..', '..', '..', 'node_modules', 'axe-core', 'axe.min.js'), 'utf8')

export const screenshot = (name: string) => path.join(UI_ROOT, 'screenshots', name)

/** Whether the element's box lies inside the visible part of the page (what the owner sees without scrolling). */
export async function inViewport(el: Locator): Promise<boolean> {
  return el.evaluate((node) => {
    const r = node.getBoundingClientRect()
    return r.width > 0 && r.height > 0 && r.top >= 0 && r.left >= 0 && r.bottom <= window.innerHeight && r.right <= window.innerWidth
  })
}

/**
 * What a new owner does, counted: taps and pastes on the page, and taps in Telegram (played by the
 * test through the fake Bot API). A tap or paste on something off-screen fails the test: the page
 * must bring every next action into view itself (playwright would scroll to it; an owner does not).
 */
export class Owner {
  pageTaps = 0
  pastes = 0
  telegramTaps = 0
  readonly log: string[] = []

  constructor(readonly page: Page) {}

  private async visible(el: Locator, what: string) {
    await el.waitFor({ timeout: 8000 })
    await eventually(() => inViewport(el), { timeoutMs: 3000, message: `«${what}» in view without scrolling` })
  }

  async tap(el: Locator, what: string) {
    await this.visible(el, what)
    this.pageTaps++
    this.log.push(`tap «${what}»`)
    await el.click()
  }

  async paste(el: Locator, text: string, what: string) {
    await this.visible(el, what)
    this.pastes++
    this.log.push(`paste into «${what}»`)
    await el.fill(text)
  }

  /** A tap the owner makes inside Telegram (its effect is the update the test delivers). */
  async inTelegram(what: string, act: () => Promise<unknown>) {
    this.telegramTaps++
    this.log.push(`Telegram: «${what}»`)
    await act()
  }
}

/** axe-core in the page: the serious and critical violations of what is on screen now. */
export async function axeViolations(page: Page): Promise<string[]> {
  if (!(await page.evaluate(() => 'axe' in window))) await page.addScriptTag({ content: AXE })
  const found = await page.evaluate(async () => {
    const axe = (
      window as unknown as {
        axe: { run: (ctx: Document, o: object) => Promise<{ violations: { id: string; impact: string; nodes: { target: string[] }[] }[] }> }
      }
    ).axe
    const r = await axe.run(document, { resultTypes: ['violations'] })
    return r.violations
      .filter((v) => v.impact === 'serious' || v.impact === 'critical')
      .map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`)
  })
  return found
}

export async function expectAccessible(page: Page, state: string) {
  const found = await axeViolations(page)
  expect({ state, found }).toEqual({ state, found: [] })
}
