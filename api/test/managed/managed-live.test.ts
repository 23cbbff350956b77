import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from 'bun:test'
import { makeToken } from '../fake-telegram'
import { createHarness, eventually, type Harness } from '../helpers'
import { createShopBot, person } from './fixtures'

/**
 * The page waits on its live stream while the owner is in Telegram: the bot the manager bot connects
 * (the shop's first integration, an insert) arrives as a `status` event, without a reload or polling.
 */
const MANAGER = makeToken('managerL')
let h: Harness

setDefaultTimeout(30_000)
beforeAll(async () => {
  h = await createHarness({ listen: true, env: { MANAGER_BOT_TOKEN: MANAGER } })
  h.fake.enableBotManagement(MANAGER)
}, 60_000)
afterAll(() => h.close(), 60_000)

/** The `status` events of a shop's stream (`GET /shops/{id}/events`), read in the background. */
function statusEvents(res: Response) {
  const seen: Record<string, unknown>[] = []
  const reader = res.body!.getReader()
  const decoder = new TextDecoder()
  let buf = ''
  const done = (async () => {
    for (;;) {
      const { value, done } = await reader.read().catch(() => ({ value: undefined, done: true }))
      if (done) break
      buf += decoder.decode(value, { stream: true })
      for (let i = buf.indexOf('\n\n'); i >= 0; i = buf.indexOf('\n\n')) {
        const block = buf.slice(0, i)
        buf = buf.slice(i + 2)
        const data = /^data: (.*)$/m.exec(block)?.[1]
        if (/^event: status$/m.test(block) && data) seen.push(JSON.parse(data))
      }
    }
  })()
  return { seen, close: () => reader.cancel().then(() => done) }
}

describe('the live page during the managed flow', () => {
  test('the new managed bot arrives on the open page as a status event', async () => {
    const shopId = await h.shop('Фиалка')
    const stream = statusEvents(await fetch(`${h.base}/shops/${shopId}/events`))
    await eventually(() => h.sql`select 1 from live_watchers where shop_id = ${shopId}`.then((r) => r.length > 0), { message: 'the page watches' })
    const bot = await createShopBot(h, MANAGER, shopId, person())
    const status = await eventually(() => stream.seen.find((s) => s.managed === true), { message: 'a status event with the managed bot' })
    expect(status).toMatchObject({ state: 'waiting_chat', botUsername: bot.button.suggested_username })
    await stream.close()
  })
})
