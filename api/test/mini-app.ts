import { createHmac } from 'node:crypto'

/**
 * initData computed the way Telegram documents it for Mini Apps (not with our code): fields as
 * key=value sorted and joined by "\n"; secret = HMAC_SHA256("WebAppData", bot_token); hash = hex HMAC.
 */
export function telegramInitData(
  botToken: string,
  user: Record<string, unknown>,
  authDate = Math.floor(Date.now() / 1000),
  queryId = `AAH${crypto.randomUUID().replaceAll('-', '').slice(0, 21)}`,
): string {
  // every launch of a Mini App gets its own query_id, so two launches never sign the same data
  const fields: Record<string, string> = { auth_date: String(authDate), query_id: queryId, user: JSON.stringify(user) }
  const dataCheckString = Object.keys(fields)
    .sort()
    .map((k) => `${k}=${fields[k]}`)
    .join('\n')
  const secret = createHmac('sha256', 'WebAppData').update(botToken).digest()
  const hash = createHmac('sha256', secret).update(dataCheckString).digest('hex')
  return new URLSearchParams({ ...fields, hash }).toString()
}
