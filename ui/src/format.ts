import type { ErrorCode, Notification, State } from './api'

/** The integration state as the owner reads it; the badge tone follows it. */
export const STATE_WORDS: Record<State, { label: string; tone: 'neutral' | 'waiting' | 'ok' | 'paused' | 'bad' }> = {
  not_connected: { label: 'Не подключено', tone: 'neutral' },
  waiting_chat: { label: 'Ждём «Запустить»', tone: 'waiting' },
  active: { label: 'Работает', tone: 'ok' },
  paused: { label: 'На паузе', tone: 'paused' },
  failing: { label: 'Ошибки', tone: 'bad' },
}

const ORDER_STATUS_WORDS: Record<string, string> = {
  new: 'Новый',
  accepted: 'Принят',
  assembling: 'Собирается',
  delivering: 'В доставке',
  done: 'Выполнен',
  cancelled: 'Отменён',
}

export const orderStatusWord = (s: string | undefined): string | null => (s ? (ORDER_STATUS_WORDS[s] ?? s) : null)

const exactFmt = new Intl.DateTimeFormat('ru-RU', { day: 'numeric', month: 'long', year: 'numeric', hour: '2-digit', minute: '2-digit', second: '2-digit' })
const shortFmt = new Intl.DateTimeFormat('ru-RU', { day: 'numeric', month: 'short', hour: '2-digit', minute: '2-digit' })
const timeFmt = new Intl.DateTimeFormat('ru-RU', { hour: '2-digit', minute: '2-digit', second: '2-digit' })
const rtf = new Intl.RelativeTimeFormat('ru', { numeric: 'auto' })

export const exactTime = (iso: string): string => exactFmt.format(new Date(iso))
export const shortTime = (iso: string): string => shortFmt.format(new Date(iso))
export const clockTime = (iso: string): string => timeFmt.format(new Date(iso))

/** «только что», «5 минут назад», «вчера» — relative to `now` so a ticking clock re-renders it. */
export function relativeTime(iso: string, now: number): string {
  const sec = Math.round((new Date(iso).getTime() - now) / 1000)
  const abs = Math.abs(sec)
  if (abs < 45) return 'только что'
  if (abs < 3600) return rtf.format(Math.round(sec / 60), 'minute')
  if (abs < 86400) return rtf.format(Math.round(sec / 3600), 'hour')
  if (abs < 86400 * 30) return rtf.format(Math.round(sec / 86400), 'day')
  return shortTime(iso)
}

export const formatMoney = (total: string): string => {
  const n = Number(total)
  return Number.isFinite(n) ? `${n.toLocaleString('ru-RU', { minimumFractionDigits: Number.isInteger(n) ? 0 : 2, maximumFractionDigits: 2 })}\u00a0₽` : total
}

export type Advice = { title: string; action: string }

/**
 * A Telegram failure in plain words with what the owner can do about it. The API's reasons are
 * already Russian but carry Telegram's English description; this keeps the part a person acts on.
 */
/** What the owner should do, by the API's machine-readable reason. */
const ADVICE_BY_CODE: Partial<Record<ErrorCode, Advice>> = {
  bot_blocked: {
    title: 'Бот заблокирован в Telegram',
    action: 'Откройте чат с ботом и нажмите «Разблокировать» (или «Перезапустить»), затем нажмите «Повторить».',
  },
  bot_kicked: { title: 'Бота удалили из группы', action: 'Добавьте бота обратно в группу (ссылка «Добавить бота в группу» выше), затем нажмите «Повторить».' },
  forbidden: { title: 'Боту запрещено писать в этот чат', action: 'Добавьте бота в чат и разрешите ему отправлять сообщения, затем нажмите «Повторить».' },
  token_revoked: {
    title: 'Telegram не принимает токен бота',
    action: 'Получите токен заново в @BotFather (команда /token) и сохраните его в настройках ниже.',
  },
  token_unreadable: { title: 'Сохранённый токен не читается', action: 'Сохраните токен бота заново в настройках ниже.' },
  chat_not_found: { title: 'Чат не найден', action: 'Проверьте chatId или подключите чат заново кнопкой «Открыть в Telegram».' },
  telegram_unavailable: { title: 'Telegram временно недоступен', action: 'Отправка повторится автоматически, ничего делать не нужно.' },
  rate_limited: { title: 'Telegram попросил подождать', action: 'Отправка повторится автоматически, ничего делать не нужно.' },
  attempts_exhausted: { title: 'Telegram долго не отвечал', action: 'Попытки закончились: нажмите «Повторить», когда Telegram снова доступен.' },
  not_connected: { title: 'Бот не был подключён', action: 'Сохраните токен бота и подключите чат, затем нажмите «Повторить».' },
  no_chat: { title: 'Чат ещё не был подключён', action: 'Подключите чат кнопкой «Открыть в Telegram», затем нажмите «Повторить».' },
  disabled: { title: 'Уведомления были выключены', action: 'Включите уведомления в настройках ниже, затем нажмите «Повторить».' },
}

export function explainError(reason: string, code?: string | null): Advice {
  const known = code ? ADVICE_BY_CODE[code as ErrorCode] : undefined
  if (known) return known
  // Older rows (and the test message) carry only the text: recognise it by its words.
  const r = reason.toLowerCase()
  if (/blocked|заблокир|kicked|удал[её]н из|not a member|bot was removed/.test(r))
    return {
      title: 'Бот заблокирован или удалён из чата',
      action: 'Откройте чат с ботом в Telegram и нажмите «Перезапустить» (или добавьте бота обратно в группу), затем нажмите «Повторить».',
    }
  if (/unauthorized|токен|token/.test(r))
    return { title: 'Telegram не принимает токен бота', action: 'Получите токен заново в @BotFather (команда /token) и сохраните его в настройках ниже.' }
  if (/chat not found|чат не найден|peer_id_invalid|user not found/.test(r))
    return { title: 'Чат не найден', action: 'Проверьте chatId или подключите чат заново кнопкой «Открыть в Telegram».' }
  if (/супергрупп|upgraded/.test(r))
    return { title: 'Группа стала супергруппой', action: 'Адрес чата обновится сам; если ошибка повторится, подключите группу заново.' }
  if (/не ответил|недоступен|ошибка связи|подождать|too many|timeout|50\d/.test(r))
    return { title: 'Telegram временно недоступен', action: 'Отправка повторится автоматически, ничего делать не нужно.' }
  return { title: 'Telegram отклонил сообщение', action: 'Проверьте настройки и отправьте тестовое сообщение; если не поможет — напишите в поддержку.' }
}

export type NotificationWords = { label: string; tone: 'ok' | 'bad' | 'waiting' | 'neutral' }

export function notificationWords(n: Notification): NotificationWords {
  switch (n.status) {
    case 'sent':
      return { label: 'Отправлено', tone: 'ok' }
    case 'failed':
      return n.retrying ? { label: 'Ошибка, повторим', tone: 'waiting' } : { label: 'Не отправлено', tone: 'bad' }
    case 'pending':
      return { label: 'Отправляется', tone: 'waiting' }
    case 'skipped':
      return { label: 'Не отправлялось', tone: 'neutral' }
  }
}
