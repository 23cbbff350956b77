import { escapeHtml, formatDate, shopTime } from './message'

/**
 * What couriers see, and what staff hear from them. A courier is often hired for the day: the texts
 * here carry only what a delivery needs (when, where, to whom) — never the total, prices, or the
 * buyer's name and phone. The order's full message stays in the staff chats.
 */

/** The fields a courier may see; nothing else is passed in, so nothing else can leak. */
export type DeliveryFields = {
  number: string
  deliveryDate: string | null
  deliveryTime: string | null
  address: string | null
  recipientName: string | null
  recipientPhone: string | null
  comment: string | null
  surprise: boolean
}

/** The delivery fields of an order row as SQL returns them (the only columns a courier's card may read). */
export type DeliveryRow = {
  number: string
  delivery_date: string | null
  delivery_time: string | null
  address: string | null
  recipient_name: string | null
  recipient_phone: string | null
  comment: string | null
  surprise: boolean
}

/** Row → card fields, written once for the group card and the private card. */
export const deliveryFieldsOf = (o: DeliveryRow): DeliveryFields => ({
  number: o.number,
  deliveryDate: o.delivery_date,
  deliveryTime: o.delivery_time,
  address: o.address,
  recipientName: o.recipient_name,
  recipientPhone: o.recipient_phone,
  comment: o.comment,
  surprise: o.surprise,
})

const cut = (v: string | null | undefined, max: number) => {
  if (!v) return null
  const chars = Array.from(v)
  return escapeHtml(chars.length > max ? chars.slice(0, max - 1).join('') + '…' : v)
}

function deliveryLines(o: DeliveryFields): string[] {
  const lines: string[] = []
  if (o.surprise) lines.push('🤫 <b>Сюрприз — не звонить получателю!</b>')
  const when = [o.deliveryDate ? formatDate(o.deliveryDate) : null, cut(o.deliveryTime, 50)].filter(Boolean).join(', ')
  lines.push(`🕒 <b>${when || 'Время не указано'}</b>`)
  lines.push(`📍 ${cut(o.address, 500) ?? 'Адрес не указан'}`)
  const recipient = [cut(o.recipientName, 200), o.surprise ? null : cut(o.recipientPhone, 40)].filter(Boolean).join(', ')
  if (recipient) lines.push(`👤 Получатель: ${recipient}`)
  const comment = cut(o.comment, 1500)
  if (comment) lines.push(`💬 ${comment}`)
  return lines
}

/**
 * The card in a courier chat: open (with «🚚 Беру» under it), taken (who and when), or over (delivered,
 * cancelled). `status` and `courier` decide which; the delivery fields are the same in every state.
 */
export function renderCourierCard(
  o: DeliveryFields & { status: string; courierName: string | null; courierAt: Date | string | null },
  shopName: string,
  timeZone: string,
): string {
  const lines = [`🚚 <b>Доставка №${cut(o.number, 64)}</b> · ${cut(shopName, 200)}`, ...deliveryLines(o), '']
  if (o.status === 'cancelled') lines.push('❌ <b>Заказ отменён</b>')
  else if (o.status === 'done') lines.push(`✅ <b>Доставлен</b>${o.courierName ? `: ${cut(o.courierName, 100)}` : ''}`)
  else if (o.courierName) lines.push(`✋ <b>Взял: ${cut(o.courierName, 100)}</b>${o.courierAt ? `, ${shopTime(o.courierAt, timeZone)}` : ''}`)
  else lines.push('Кто возьмёт? Нажмите «🚚 Беру».')
  return lines.join('\n')
}

/** The old card, once staff took its courier off: the order is offered again in a new message below. */
export const renderCourierCardRetired = (number: string) => `↩️ Курьер снят с заказа №${escapeHtml(number)} — он снова ждёт курьера ниже.`

/** The courier's own card in their private chat with the bot. */
export function renderPrivateCard(o: DeliveryFields, shopName: string, state: 'active' | 'done' | 'released' | 'cancelled'): string {
  const lines = [`🚚 <b>Ваша доставка №${cut(o.number, 64)}</b> · ${cut(shopName, 200)}`, ...deliveryLines(o)]
  if (state === 'done') lines.push('', '✅ <b>Доставлено.</b> Спасибо!')
  else if (state === 'released') lines.push('', '↩️ <b>Магазин снял вас с этого заказа.</b>')
  else if (state === 'cancelled') lines.push('', '❌ <b>Заказ отменён.</b>')
  else lines.push('', 'Когда вручите — нажмите «✅ Доставлено».')
  return lines.join('\n')
}

/** A link that opens the address in a map app (Yandex Maps understands free text). */
export const mapUrl = (address: string) => `https://yandex.ru/maps/?text=${encodeURIComponent(address)}`

export type DeliveryOutcome = 'delivered' | 'no_answer' | 'returned'

/** What the staff chats are told (a reply to the order's message; with the photo as its caption when there is one). */
export function renderCourierReport(o: { number: string; courierName: string | null; address: string | null }, outcome: DeliveryOutcome): string {
  const who = o.courierName ? cut(o.courierName, 100) : 'Курьер'
  const head =
    outcome === 'delivered'
      ? `✅ <b>Заказ №${cut(o.number, 64)} доставлен</b>`
      : outcome === 'no_answer'
        ? `📵 <b>Заказ №${cut(o.number, 64)}: курьер не дозвонился до получателя</b>`
        : `↩️ <b>Заказ №${cut(o.number, 64)}: курьер вернул букет в магазин</b>`
  const address = cut(o.address, 300)
  return [head, `Курьер: ${who}`, ...(address ? [`📍 ${address}`] : [])].join('\n')
}

/** The same news for the buyer, in plain words and without the courier's name. */
export function renderBuyerDeliveryNews(number: string, outcome: DeliveryOutcome): string {
  // the buyer feature already says «доставлен» at the status change: this is the caption of the photo
  if (outcome === 'delivered') return `📷 Так мы вручили ваш заказ №${escapeHtml(number)}. Спасибо, что выбрали нас!`
  if (outcome === 'no_answer') return `📵 Курьер не смог дозвониться до получателя заказа №${escapeHtml(number)}. Магазин свяжется с вами.`
  return `↩️ Курьер не смог вручить заказ №${escapeHtml(number)} и вернул букет в магазин. Магазин свяжется с вами.`
}

/** The second call for an order nobody accepted. */
export function renderUnaccepted(o: { number: string; createdAt: Date | string }, minutes: number, timeZone: string): string {
  return [
    `⏰ <b>Заказ №${cut(o.number, 64)} никто не принял</b> за ${minutes} мин.`,
    `Пришёл в ${shopTime(o.createdAt, timeZone)} — нажмите «Принять», чтобы покупатель не ушёл.`,
  ].join('\n')
}
