import { createHmac } from 'node:crypto'
import { safeEqual } from '../platform/http/auth'

/**
 * Telegram Mini App `initData`, validated exactly as Telegram documents it: the data-check-string is
 * every field but `hash`, as `key=value`, sorted by key, joined with "\n"; the secret key is
 * HMAC-SHA256 of the bot token under the key "WebAppData"; the hash is the hex HMAC-SHA256 of the
 * data-check-string under that secret. Only the shop's own bot can have signed it.
 */
export type TelegramUser = { id: number; first_name?: string; last_name?: string; username?: string }

export class InitDataRejected extends Error {
  constructor(readonly reason: 'malformed' | 'bad_signature' | 'stale') {
    super(reason)
  }
}

/** Mini App data is fresh this long: enough to open the app, short enough that a leaked copy soon expires. */
export const INIT_DATA_MAX_AGE_SEC = 5 * 60

export function validateInitData(
  initData: string,
  botToken: string,
  now = new Date(),
  maxAgeSec = INIT_DATA_MAX_AGE_SEC,
): { user: TelegramUser; authDate: Date; signature: string } {
  let params: URLSearchParams
  try {
    params = new URLSearchParams(initData)
  } catch {
    throw new InitDataRejected('malformed')
  }
  const hash = params.get('hash')
  if (!hash || !/^[0-9a-f]{64}$/.test(hash)) throw new InitDataRejected('malformed')
  const dataCheckString = [...params.entries()]
    .filter(([k]) => k !== 'hash')
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join('\n')
  const secret = createHmac('sha256', 'WebAppData').update(botToken).digest()
  const expected = createHmac('sha256', secret).update(dataCheckString).digest('hex')
  if (!safeEqual(expected, hash)) throw new InitDataRejected('bad_signature')
  const authDate = Number(params.get('auth_date'))
  if (!Number.isSafeInteger(authDate) || authDate <= 0) throw new InitDataRejected('malformed')
  const age = now.getTime() / 1000 - authDate
  if (age > maxAgeSec || age < -60) throw new InitDataRejected('stale')
  let user: TelegramUser
  try {
    user = JSON.parse(params.get('user') ?? '') as TelegramUser
  } catch {
    throw new InitDataRejected('malformed')
  }
  if (!user || !Number.isSafeInteger(user.id)) throw new InitDataRejected('malformed')
  return { user, authDate: new Date(authDate * 1000), signature: hash }
}
