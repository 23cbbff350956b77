import type { Harness } from '../helpers'

/**
 * Set-up for connecting a bot and binding its chat: the integration row, the code in a connect link,
 * and `/start` as Telegram sends it. The services come from `createHarnessPair` (webhook and polling).
 */

/** The shop's integration row (undefined before it ever connected). */
export const integration = (h: Harness, shopId: number) => h.sql`select * from telegram_integrations where shop_id = ${shopId}`.then((r) => r[0])

/** The code of a connect link: `?start=` for a private chat, `?startgroup=` for a group. */
export const startCode = (link: string) => new URL(link).searchParams.get('start') ?? new URL(link).searchParams.get('startgroup')

let updateId = 5000
/** A new update id (Telegram's grow per bot; one counter serves every bot here). */
export const nextUpdateId = () => ++updateId

/** A message `text` in `chat` from Ольга (31337), as Telegram sends it. */
export const startUpdate = (text: string, chat: Record<string, unknown>) => {
  const id = nextUpdateId()
  return {
    update_id: id,
    message: { message_id: id, date: Math.floor(Date.now() / 1000), chat, from: { id: 31337, is_bot: false, first_name: 'Ольга' }, text },
  }
}
