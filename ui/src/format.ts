import type { Notification, State } from './api'

/** The integration state as the owner reads it; the badge tone follows it. */
export const STATE_WORDS: Record<State, { label: string; tone: 'neutral' | 'waiting' | 'ok' | 'paused' | 'bad' }> = {
  not_connected: { label: 'Не подключено', tone: 'neutral' },
  waiting_chat: { label: 'Ждём /start', tone: 'waiting' },
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

export const orderStatusWord = (s: string | undefined): string | null => (s ? ORDER_STATUS_WORDS[s] ?? s : null)

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
export function explainError(reason: string): Advice {
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
  if (/супергрупп|upgraded/.test(r)) return { title: 'Группа стала супергруппой', action: 'Адрес чата обновится сам; если ошибка повторится, подключите группу заново.' }
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
