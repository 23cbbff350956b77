import type { TokenCipher } from '../platform/crypto'
import { safeEqual } from '../platform/http/auth'

/**
 * The buyer link's start code: `b<orderId>_<mac>`. The MAC binds the order to the shop, so a code is
 * worth nothing in another shop's bot and cannot be guessed from an order number; nothing is stored
 * until someone opens it. Fits Telegram's `start` parameter (64 characters of [A-Za-z0-9_-]).
 */
const CODE_RE = /^b([1-9][0-9]{0,18})_([A-Za-z0-9_-]{16})$/

export const buyerCode = (cipher: TokenCipher, shopId: number | string, orderId: number | string) =>
  `b${orderId}_${cipher.sign(`buyer:${shopId}:${orderId}`, 16)}`

/** The order a start code is the buyer link of, in this shop; null when it is not (another shop's, a connect code). */
export function parseBuyerCode(cipher: TokenCipher, shopId: number | string, code: string): number | null {
  const m = CODE_RE.exec(code)
  if (!m) return null
  return safeEqual(cipher.sign(`buyer:${shopId}:${m[1]}`, 16), m[2]!) ? Number(m[1]) : null
}

/** `https://t.me/<shop bot>?start=<code>` while a bot is connected, else null. */
export const buyerLink = (cipher: TokenCipher, shopId: number | string, orderId: number | string, botUsername: string | null | undefined) =>
  botUsername ? `https://t.me/${botUsername}?start=${buyerCode(cipher, shopId, orderId)}` : null

/**
 * The buyer's photo buttons: `p:<a|c>:<photoId>:<mac>` (approve / ask for a change). As with the order
 * buttons, the MAC binds action and photo to the shop, and the press is also checked to come from the
 * order's buyer.
 */
const PRESS_RE = /^p:([ac]):([1-9][0-9]{0,18}):([A-Za-z0-9_-]{12})$/

export const photoCallbackData = (cipher: TokenCipher, shopId: number | string, photoId: number | string, action: 'a' | 'c') =>
  `p:${action}:${photoId}:${cipher.sign(`photo:${shopId}:${photoId}:${action}`)}`

export function parsePhotoCallback(cipher: TokenCipher, shopId: number | string, data: string | undefined): { photoId: number; approve: boolean } | null {
  const m = PRESS_RE.exec(data ?? '')
  if (!m) return null
  if (!safeEqual(cipher.sign(`photo:${shopId}:${m[2]}:${m[1]}`), m[3]!)) return null
  return { photoId: Number(m[2]), approve: m[1] === 'a' }
}
