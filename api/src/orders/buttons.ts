import { safeEqual } from '../platform/http/auth'
import type { Keyboard } from '../bot-api'
import type { TokenCipher } from '../platform/crypto'
import { courierCallbackData } from './courier-buttons'

/**
 * The inline buttons of an order message and their callback data. Telegram limits callback data to
 * 64 bytes and anyone in the chat can press a button (a client can even forge the data), so the data
 * is `a:<orderId>:<mac>`: the MAC binds the action and order to the shop, and the receiving side also
 * checks that the pressed message is the one we sent for that order.
 */
const ACCEPT_RE = /^a:([1-9][0-9]{0,18}):([A-Za-z0-9_-]{12})$/

export function acceptCallbackData(cipher: TokenCipher, shopId: string | number, orderId: string | number): string {
  return `a:${orderId}:${cipher.sign(`accept:${shopId}:${orderId}`)}`
}

/** The order an «Принять» press is about, or null when the data is not ours for this shop. */
export function parseAcceptCallback(cipher: TokenCipher, shopId: string | number, data: string | undefined): number | null {
  const m = ACCEPT_RE.exec(data ?? '')
  if (!m) return null
  if (!safeEqual(cipher.sign(`accept:${shopId}:${m[1]}`), m[2]!)) return null
  return Number(m[1])
}

/** The order's page for «Открыть» (only when the service has a public address). */
export const orderPageUrl = (publicUrl: string, shopId: string | number, orderId: string | number) =>
  `${publicUrl}/shops/${shopId}/growth/telegram?order=${orderId}#order-${orderId}`

/** The page as a Telegram Mini App: Telegram adds its own `#tgWebAppData=…`, so the order goes in the query. */
export const miniAppUrl = (publicUrl: string, shopId: string | number, orderId?: string | number) =>
  `${publicUrl}/shops/${shopId}/growth/telegram${orderId ? `?order=${orderId}` : ''}`

/** A private chat (a user id is positive); `web_app` buttons work only there, and only for an https page. */
export const canOpenMiniApp = (publicUrl: string | undefined, chatId: string | null | undefined) =>
  !!publicUrl && publicUrl.startsWith('https://') && !!chatId && /^[1-9][0-9]*$/.test(chatId)

/**
 * «Принять» while the order is new, «Открыть» whenever PUBLIC_URL is set: in a private chat it opens
 * the page inside Telegram (a Mini App signed in by Telegram), in a group a plain link; nothing else.
 */
export function orderKeyboard(cipher: TokenCipher, publicUrl: string | undefined) {
  return (d: {
    shop_id: string | number
    order_id: string | number | null
    status: string
    chat_id?: string | null
    courier_name?: string | null
  }): Keyboard | undefined => {
    const row: Keyboard[number] = []
    // staff may take the courier off while the delivery is not over
    if (d.courier_name && d.order_id && (d.status === 'assembling' || d.status === 'delivering'))
      row.push({ text: 'Снять курьера', callbackData: courierCallbackData(cipher, 'release', d.shop_id, d.order_id) })
    if (d.status === 'new' && d.order_id) row.push({ text: 'Принять', callbackData: acceptCallbackData(cipher, d.shop_id, d.order_id) })
    if (publicUrl)
      row.push(
        canOpenMiniApp(publicUrl, d.chat_id)
          ? { text: 'Открыть', webApp: miniAppUrl(publicUrl, d.shop_id, d.order_id ?? undefined) }
          : { text: 'Открыть', url: orderPageUrl(publicUrl, d.shop_id, d.order_id ?? '') },
      )
    return row.length ? [row] : undefined
  }
}
