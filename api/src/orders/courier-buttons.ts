import type { Keyboard } from '../bot-api'
import type { TokenCipher } from '../platform/crypto'
import { safeEqual } from '../platform/http/auth'

/**
 * The buttons of the courier flow and their callback data (at most 64 bytes, signed like «Принять»:
 * the MAC binds the action and the order to the shop, so data from another shop or a forged client is
 * refused). Who may press is checked on arrival: the courier chat for «Беру», the order's courier for
 * the private card, a staff chat for «Снять курьера».
 */
export type CourierAction = 'take' | 'release' | 'nophoto' | 'ok' | 'na' | 'rt'
const PREFIX: Record<CourierAction, string> = { take: 'k', release: 'r', nophoto: 'n', ok: 'dk', na: 'dn', rt: 'dr' }
const ACTION_OF = Object.fromEntries(Object.entries(PREFIX).map(([a, p]) => [p, a])) as Record<string, CourierAction>
const DATA_RE = /^(k|r|n|dk|dn|dr):([1-9][0-9]{0,18}):([A-Za-z0-9_-]{12})$/
const START_RE = /^c_([1-9][0-9]{0,18})_([A-Za-z0-9_-]{12})$/

export function courierCallbackData(cipher: TokenCipher, action: CourierAction, shopId: string | number, orderId: string | number): string {
  return `${PREFIX[action]}:${orderId}:${cipher.sign(`courier-${action}:${shopId}:${orderId}`)}`
}

/** The action and order of a courier-flow press, or null when the data is not ours for this shop. */
export function parseCourierCallback(
  cipher: TokenCipher,
  shopId: string | number,
  data: string | undefined,
): { action: CourierAction; orderId: number } | null {
  const m = DATA_RE.exec(data ?? '')
  if (!m) return null
  const action = ACTION_OF[m[1]!]!
  if (!safeEqual(cipher.sign(`courier-${action}:${shopId}:${m[2]}`), m[3]!)) return null
  return { action, orderId: Number(m[2]) }
}

/** `/start` code that leads a courier who never opened the bot to their card: bound to the order and to that Telegram user. */
export function courierStartCode(cipher: TokenCipher, shopId: string | number, orderId: string | number, userId: number): string {
  return `c_${orderId}_${cipher.sign(`courier-start:${shopId}:${orderId}:${userId}`)}`
}

/** The order of a courier's `/start` code, when it was made for this user of this shop. */
export function parseCourierStartCode(cipher: TokenCipher, shopId: string | number, code: string, userId: number): number | null {
  const m = START_RE.exec(code)
  if (!m) return null
  return safeEqual(cipher.sign(`courier-start:${shopId}:${m[1]}:${userId}`), m[2]!) ? Number(m[1]) : null
}

/** «🚚 Беру» while the order waits for a courier; nothing once taken, delivered or cancelled. */
export function courierCardKeyboard(cipher: TokenCipher) {
  return (d: { shop_id: string; order_id: string; status: string; courier_name?: string | null }): Keyboard | undefined =>
    (d.status === 'assembling' || d.status === 'delivering') && !d.courier_name
      ? [[{ text: '🚚 Беру', callbackData: courierCallbackData(cipher, 'take', d.shop_id, d.order_id) }]]
      : undefined
}

/** The courier's private card: copy the address and the phone, open a map, and report how it went. */
export function privateCardKeyboard(
  cipher: TokenCipher,
  shopId: string | number,
  orderId: string | number,
  o: { address: string | null; recipientPhone: string | null; mapUrl: string | null },
): Keyboard {
  const copy: Keyboard[number] = []
  if (o.address) copy.push({ text: '📋 Адрес', copyText: Array.from(o.address).slice(0, 256).join('') })
  if (o.recipientPhone) copy.push({ text: '📋 Телефон', copyText: Array.from(o.recipientPhone).slice(0, 256).join('') })
  const rows: Keyboard = []
  if (copy.length) rows.push(copy)
  if (o.mapUrl) rows.push([{ text: '🗺 Открыть на карте', url: o.mapUrl }])
  rows.push([{ text: '✅ Доставлено', callbackData: courierCallbackData(cipher, 'ok', shopId, orderId) }])
  rows.push([
    { text: '📵 Не дозвонился', callbackData: courierCallbackData(cipher, 'na', shopId, orderId) },
    { text: '↩️ Вернул в магазин', callbackData: courierCallbackData(cipher, 'rt', shopId, orderId) },
  ])
  return rows
}

/** «Без фото» under the request for a photo of the handover. */
export const noPhotoKeyboard = (cipher: TokenCipher, shopId: string | number, orderId: string | number): Keyboard => [
  [{ text: 'Без фото', callbackData: courierCallbackData(cipher, 'nophoto', shopId, orderId) }],
]
