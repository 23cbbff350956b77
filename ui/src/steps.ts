import type { Recipient, Status } from './api'

/** The steps of the first five minutes, each a `data-step` on the page with its action marked `data-next`. */
export type Step = 'create' | 'start' | 'test'

/**
 * What the owner does next: get a bot, bind a chat with «Запустить», see one message get through.
 * Null once a message has reached a chat (the setup is proven; the page is a dashboard from then on).
 */
export function nextStep(s: Status, recipients: Recipient[]): Step | null {
  if (s.state === 'not_connected') return 'create'
  if (s.state === 'waiting_chat') return 'start'
  if (s.state === 'active' && !s.lastSentAt && !recipients.some((r) => r.lastSentAt)) return 'test'
  return null
}

/** What a screen reader says when a step becomes the next one (the same words the page shows). */
export function stepAnnouncement(step: Step, s: Status): string {
  switch (step) {
    case 'create':
      return 'Подключите Telegram: создайте бота для магазина.'
    case 'start':
      return `Бот @${s.botUsername} ${s.managed ? 'создан' : 'подключён'}. Следующий шаг: откройте его в Telegram и нажмите «Запустить».`
    case 'test':
      return `Чат${s.chatTitle ? ` «${s.chatTitle}»` : ''} подключён. Последний шаг: отправьте тестовое сообщение.`
  }
}
