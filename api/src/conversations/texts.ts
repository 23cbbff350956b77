import { escapeHtml, formatDate, type OrderItem } from '../notifications'

/**
 * What the buyer and the staff read, in one place. The buyer hears the shop (its name), never a staff
 * member's name, chat or id; the staff hear the buyer's first name, never their username or id.
 * HTML parse mode: everything typed by a person is escaped.
 */

const cut = (s: string, n: number) => {
  const chars = Array.from(s)
  return escapeHtml(chars.length > n ? `${chars.slice(0, n - 1).join('')}…` : s)
}

export type BuyerOrder = {
  number: string
  delivery_date: string | null
  delivery_time: string | null
  items: OrderItem[] | null
  status: string
}

/** The order as the buyer sees it: number, day and window, what is in it (never the recipient). */
function orderLines(o: BuyerOrder): string[] {
  const lines: string[] = []
  const when = [o.delivery_date ? formatDate(o.delivery_date) : null, o.delivery_time ? cut(o.delivery_time, 50) : null].filter(Boolean).join(', ')
  if (when) lines.push(`🚚 Доставка: ${when}`)
  const items = o.items ?? []
  if (items.length) {
    lines.push('💐 В заказе:')
    for (const it of items.slice(0, 20)) lines.push(`• ${cut(it.name, 120)} × ${it.quantity}`)
    if (items.length > 20) lines.push(`и ещё ${items.length - 20}`)
  }
  return lines
}

/** Where the order is now, in the buyer's words. */
export const BUYER_STATUS: Record<string, string> = {
  new: 'заказ получен, скоро мы его подтвердим',
  accepted: 'заказ принят, скоро начнём собирать',
  assembling: 'флорист собирает ваш букет',
  delivering: 'букет уже в пути',
  done: 'заказ доставлен',
  cancelled: 'заказ отменён',
}

export function buyerGreeting(shopName: string, o: BuyerOrder, resumed: boolean): string {
  const head = resumed
    ? `Снова с вами! 🌷 Это «${cut(shopName, 100)}». Будем писать сюда о заказе №${cut(o.number, 64)}.`
    : `Здравствуйте! 🌷 Это «${cut(shopName, 100)}».\nВы подписались на новости о заказе №${cut(o.number, 64)} — будем писать сюда, как он движется.`
  const body = orderLines(o)
  return [
    head,
    ...(body.length ? ['', ...body] : []),
    '',
    `Сейчас: ${BUYER_STATUS[o.status] ?? escapeHtml(o.status)}.`,
    'Если захотите что-то уточнить — просто напишите сюда. Отписаться: /stop',
  ].join('\n')
}

/** One warm line per status change. */
export function buyerStatusText(shopName: string, number: string, status: string): string | null {
  const n = `№${cut(number, 64)}`
  switch (status) {
    case 'accepted':
      return `✅ Заказ ${n} принят. Скоро начнём собирать букет.`
    case 'assembling':
      return `💐 Собираем ваш букет по заказу ${n}.`
    case 'delivering':
      return `🚚 Заказ ${n} в пути — скоро будет у получателя.`
    case 'done':
      return `🌸 Заказ ${n} доставлен. Спасибо, что выбрали «${cut(shopName, 100)}»!`
    case 'cancelled':
      return `Заказ ${n} отменён. Если это неожиданно — напишите нам сюда.`
    default:
      return null
  }
}

export const photoCaption = (number: string) => `Вот ваш букет по заказу №${cut(number, 64)} 💐\nВсё нравится?`
export const APPROVE_BUTTON = '👍 Всё нравится'
export const CHANGE_BUTTON = '✏️ Хочу изменить'
export const askChangeText = 'Напишите, что изменить, — передадим флористу.'
export const approvedThanks = 'Спасибо! Передали флористу 🌷'
export const changeThanks = 'Спасибо! Передали флористу — он свяжется, если что-то уточнит.'
export const stalePhotoToast = 'Это фото уже не актуально — есть новее'
export const linkTakenText =
  'Эта ссылка уже открыта другим человеком: новости о заказе получает тот, кто открыл её первым. Если это ошибка, напишите, пожалуйста, в магазин.'
export const unknownOrderText = 'Не нашли такой заказ. Проверьте, пожалуйста, ссылку.'
export const stoppedText = (number: string) =>
  `Хорошо, больше не пишем о заказе №${cut(number, 64)}. Чтобы снова получать новости, откройте ссылку из заказа ещё раз.`
export const tooManyText = 'Вы отправили много сообщений подряд — флорист ответит, как только сможет. Попробуйте написать чуть позже.'

/** To the staff: the buyer's message, under the order's message. */
export const relayText = (firstName: string, text: string) => `💬 ${cut(firstName, 60)}: ${cut(text, 3500)}`
export const relayCaption = (firstName: string, caption: string | null) => `💬 ${cut(firstName, 60)}${caption ? `: ${cut(caption, 900)}` : ''}`
export const buyerName = (firstName: string | null) => firstName?.trim() || 'Покупатель'

export const photoAddedText = (number: string, subscribed: boolean) =>
  subscribed
    ? `📷 Фото добавлено к заказу №${cut(number, 64)} и отправлено покупателю`
    : `📷 Фото добавлено к заказу №${cut(number, 64)} — покупатель не подписан`
export const notSubscribedReplyText = 'Покупатель не подписан на заказ — сообщение не отправлено.'

export function photoAnswerText(number: string, firstName: string, approval: 'approved' | 'changes_requested', comment: string | null): string {
  const who = cut(firstName, 60)
  return approval === 'approved'
    ? `👍 ${who}: фото букета по заказу №${cut(number, 64)} — всё нравится`
    : `✏️ ${who} просит изменить букет по заказу №${cut(number, 64)}${comment ? `:\n«${cut(comment, 2000)}»` : ''}`
}
