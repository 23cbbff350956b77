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

/**
 * What Telegram's client provides a Mini App (a script for `addInitScript`): window.Telegram.WebApp
 * with the signed initData and Telegram's dark theme; `window.__tg` records what the page asked of it.
 */
export const telegramWebAppStub = (initData: string) => `
  window.__tg = { ready: 0, back: 'hidden', backCb: null, haptics: [] };
  window.Telegram = { WebApp: {
    initData: ${JSON.stringify(initData)},
    initDataUnsafe: {},
    platform: 'android',
    colorScheme: 'dark',
    themeParams: { bg_color: '#17212b', secondary_bg_color: '#232e3c', section_bg_color: '#17212b', text_color: '#f5f5f5',
                   hint_color: '#708499', link_color: '#6ab3f3', button_color: '#5288c1', button_text_color: '#ffffff', destructive_text_color: '#ec3942' },
    ready() { window.__tg.ready++ },
    expand() {},
    onEvent() {},
    BackButton: { show() { window.__tg.back = 'shown' }, hide() { window.__tg.back = 'hidden' }, onClick(cb) { window.__tg.backCb = cb }, offClick() {} },
    HapticFeedback: { impactOccurred(s) { window.__tg.haptics.push('impact:' + s) }, notificationOccurred(t) { window.__tg.haptics.push('notify:' + t) }, selectionChanged() {} },
  } };`
