import { expect } from 'bun:test'
import type { Call } from '../fake-telegram'
import { type Harness, one } from '../helpers'

/**
 * The managed-bot flow as Telegram plays it, for a harness whose manager bot is `manager`: updates go
 * to the webhook when the harness has PUBLIC_URL (`fake.send` delivers them), else they are queued and
 * the pollers are run once, as their loops would.
 */
export type Person = { id: number; first_name: string }

let personSeq = 0
export const person = (first_name = 'Ольга'): Person => ({ id: 5_550_000 + ++personSeq * 7, first_name })

export const integration = (h: Harness, shopId: number) => h.sql`select * from telegram_integrations where shop_id = ${shopId}`.then((r) => r[0])

/** Hands `update` to the manager bot and waits until it is handled and its replies are sent. */
export async function toManager(h: Harness, manager: string, update: Record<string, unknown>) {
  const how = await h.fake.send(manager, update)
  if (how === 'queued') await h.services.managerPoller!.pollOnce()
  await h.services.managed.settle()
}

/** Hands `update` to a shop's bot and waits until it is handled and its replies are sent. */
export async function toShopBot(h: Harness, token: string, update: Record<string, unknown>) {
  const how = await h.fake.send(token, update)
  if (how === 'queued') await h.services.poller.pollOnce()
  await h.services.updates.settle()
}

/** The manager bot's messages to one person since `from` (an index into fake.calls). */
export const managerSaid = (h: Harness, manager: string, to: Person, from = 0): Call[] =>
  h.fake.calls.slice(from).filter((c) => c.method === 'sendMessage' && c.token === manager && String(c.payload.chat_id) === String(to.id))

/** POST …/managed-link → its code (asserting 201 and the t.me shape). */
export async function managedLink(h: Harness, shopId: number): Promise<{ url: string; code: string; expiresAt: string }> {
  const r = await h.post(`/shops/${shopId}/telegram/managed-link`)
  expect(r.status, r.text).toBe(201)
  const url = new URL(r.json.url)
  expect(url.origin).toBe('https://t.me')
  const code = url.searchParams.get('start')!
  expect(code).toMatch(/^[A-Za-z0-9_-]{16,64}$/)
  return { url: r.json.url, code, expiresAt: r.json.expiresAt }
}

/** The reply-keyboard button the manager bot showed in `call` (null when there is none). */
export function requestButton(call: Call): Record<string, unknown> | null {
  const markup = call.payload.reply_markup as { keyboard?: Record<string, unknown>[][] } | undefined
  const button = markup?.keyboard?.[0]?.[0]
  return (button?.request_managed_bot as Record<string, unknown> | undefined) ?? null
}

/** The inline URL button of `call`. */
export function urlButton(call: Call): string {
  const markup = call.payload.reply_markup as { inline_keyboard: { url?: string }[][] }
  return one(markup.inline_keyboard.flat().filter((b) => b.url)).url!
}

/**
 * The whole flow up to a connected shop: link → /start → button → the person creates the bot →
 * `managed_bot`. Returns the new bot, its current token and the connect link the person got.
 */
export async function createShopBot(h: Harness, manager: string, shopId: number, who: Person) {
  const { code } = await managedLink(h, shopId)
  const mark = h.fake.calls.length
  await toManager(h, manager, h.fake.message(who, `/start ${code}`))
  const prompt = one(managerSaid(h, manager, who, mark))
  const button = requestButton(prompt)!
  expect(button).not.toBeNull()
  const created = h.fake.createManagedBot(manager, who, { username: String(button.suggested_username), name: String(button.suggested_name) })
  const mark2 = h.fake.calls.length
  await toManager(h, manager, created.update)
  const ready = one(managerSaid(h, manager, who, mark2))
  return { ...created, code, prompt, button, ready, openLink: urlButton(ready) }
}
