import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from 'bun:test'
import { resyncWebhooks } from '../../src/connect'
import { B, makeToken } from '../fake-telegram'
import { createHarness, eventually, one, type Harness } from '../helpers'

/** Real HTTP and a real database on a shared 2-core machine: 5 s is too short under load. */
setDefaultTimeout(30_000)

/**
 * A change of PUBLIC_URL: the next start moves every bot's webhook to the new address. The service
 * here listens at PUBLIC_URL; a bot connected under an old address is made by pointing its row and
 * the fake Bot API's webhook at `OLD`, as a previous deployment would have left them.
 */
const OLD = 'https://old-domain.example'
let h: Harness
beforeAll(async () => {
  h = await createHarness({ listen: true })
}, 30_000)
afterAll(() => h.close(), 30_000)

const resync = () =>
  resyncWebhooks({ sql: h.sql, client: h.services.client, cipher: h.services.cipher, log: h.services.log, publicUrl: h.config.PUBLIC_URL!, timeoutMs: 1500 })

/** A shop whose bot was connected while the service lived at OLD. */
async function connectedAtOldAddress(token: string) {
  const shop = await h.shop()
  await h.connect(shop, token)
  const { webhook_id } = one(await h.sql<{ webhook_id: string }[]>`select webhook_id from telegram_integrations where shop_id = ${shop}`)
  const url = `${OLD}/telegram/webhook/${webhook_id}`
  await h.sql`update telegram_integrations set webhook_url = ${url} where shop_id = ${shop}`
  const hook = h.fake.webhooks.get(token)!
  h.fake.webhooks.set(token, { ...hook, url })
  return { shop, oldSecret: hook.secret }
}

describe('a new PUBLIC_URL', () => {
  test('moves each bot’s webhook there with a fresh secret; updates then arrive at the new address, the old secret is refused', async () => {
    const token = makeToken('move')
    const { shop, oldSecret } = await connectedAtOldAddress(token)
    expect(await resync()).toEqual({ moved: 1, failed: 0 })
    const hook = h.fake.webhooks.get(token)!
    expect(hook.url).toStartWith(`${h.base}/telegram/webhook/`)
    expect(hook.secret).not.toBe(oldSecret)
    const row = one(
      await h.sql<{ webhook_url: string; start_code: string }[]>`select webhook_url, start_code from telegram_integrations where shop_id = ${shop}`,
    )
    expect(row.webhook_url).toBe(hook.url)

    // The owner's /start through the moved webhook binds the chat.
    const update = { update_id: 1, message: { message_id: 1, chat: { id: 5151, type: 'private', first_name: 'Ольга' }, text: `/start ${row.start_code}` } }
    expect((await h.fake.deliver(token, update)).status).toBe(200)
    await eventually(async () => (await h.get(`/shops/${shop}/telegram/status`)).json.state === 'active', {
      message: 'the chat bound through the moved webhook',
    })
    expect((await h.fake.deliver(token, { update_id: 2 }, oldSecret)).status).toBe(401)

    // Nothing left to move: the next start does nothing.
    expect(await resync()).toEqual({ moved: 0, failed: 0 })
  })

  test('a bot whose token Telegram refuses is reported and left as it was; the others still move', async () => {
    const good = makeToken('good')
    const revoked = makeToken('gone')
    await connectedAtOldAddress(good)
    const { shop } = await connectedAtOldAddress(revoked)
    h.fake.behaveMethod(revoked, 'setWebhook', B.unauthorized)
    expect(await resync()).toEqual({ moved: 1, failed: 1 })
    expect(h.fake.webhooks.get(good)!.url).toStartWith(h.base)
    expect(one(await h.sql<{ webhook_url: string }[]>`select webhook_url from telegram_integrations where shop_id = ${shop}`).webhook_url).toStartWith(OLD)
    expect(h.logs.some((l) => l.includes('"webhook_not_moved"'))).toBe(true)
  })
})
