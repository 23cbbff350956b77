/**
 * The text of a Telegram notification. HTML parse mode, so every user-supplied field is escaped:
 * a customer called `<b>Bob</b> & <script>` appears exactly as typed. Whatever the input, the text
 * stays under Telegram's 4096-character limit.
 */

export const TELEGRAM_TEXT_LIMIT = 4096
const NBSP = '\u00a0'

export function escapeHtml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;')
}

/** `2490` → `2 490 ₽`, `1234.5` → `1 234,50 ₽` (non-breaking spaces), from the exact decimal string. */
export function formatRub(amount: string | number): string {
  const s = typeof amount === 'number' ? amount.toFixed(2) : amount.trim()
  const m = /^(-?)(\d+)(?:\.(\d+))?$/.exec(s)
  if (!m) return `${s}${NBSP}₽`
  const [, sign, int, frac = ''] = m
  const grouped = int!.replace(/^0+(?=\d)/, '').replace(/\B(?=(\d{3})+(?!\d))/g, NBSP)
  const cents = (frac + '00').slice(0, 2)
  return `${sign}${grouped}${cents === '00' ? '' : ',' + cents}${NBSP}₽`
}

/** `2026-11-23` → `23.11.2026`. */
export function formatDate(d: string): string {
  const m = /^(\d{4})-(\d{2})-(\d{2})/.exec(d)
  return m ? `${m[3]}.${m[2]}.${m[1]}` : d
}

export type OrderItem = { name: string; quantity: number; price?: string | null }

export type OrderForMessage = {
  number: string
  total: string
  customerName: string
  customerPhone?: string | null
  recipientName?: string | null
  recipientPhone?: string | null
  deliveryDate?: string | null
  deliveryTime?: string | null
  address?: string | null
  comment?: string | null
  items?: OrderItem[] | null
  cardText?: string | null
  surprise?: boolean
  status?: string
  acceptedBy?: string | null
  acceptedAt?: Date | string | null
  /** Fields the latest edit changed (API names): the message says «✏️ Изменено: …». */
  editedFields?: string[] | null
  /** who took the delivery (couriers) */
  courierName?: string | null
}

/** How a florist calls each field an edit can change. */
export const FIELD_LABELS: Record<string, string> = {
  total: 'сумма',
  customerName: 'клиент',
  customerPhone: 'телефон клиента',
  recipientName: 'получатель',
  recipientPhone: 'телефон получателя',
  deliveryDate: 'дата доставки',
  deliveryTime: 'время доставки',
  address: 'адрес',
  comment: 'комментарий',
  items: 'состав',
  cardText: 'открытка',
  surprise: 'сюрприз',
}

/** `['deliveryTime', 'address']` → `время доставки, адрес`. */
export const editedLine = (fields: string[]) => `✏️ Изменено: ${fields.map((f) => FIELD_LABELS[f] ?? f).join(', ')}`

export const STATUS_LABELS: Record<string, string> = {
  new: 'Новый',
  accepted: 'Принят',
  assembling: 'Собирается',
  delivering: 'Доставляется',
  done: 'Выполнен',
  cancelled: 'Отменён',
}

/** `14:05` in the shops' time zone (Moscow), as messages and toasts show it. */
export const moscowTime = (d: Date | string) => shopTime(d, 'Europe/Moscow')

/** `14:05` in a shop's own time zone. */
export const shopTime = (d: Date | string, timeZone: string) => new Date(d).toLocaleTimeString('ru-RU', { hour: '2-digit', minute: '2-digit', timeZone })

const plural = (n: number, one: string, few: string, many: string) => {
  const m10 = n % 10
  const m100 = n % 100
  return m10 === 1 && m100 !== 11 ? one : m10 >= 2 && m10 <= 4 && (m100 < 12 || m100 > 14) ? few : many
}

/**
 * In the order a florist reads it: a surprise first (it changes how the courier behaves), then when and
 * where, what to assemble, the postcard, then money and people, then the status. `cut` shortens long
 * fields; `maxItems` shows only the first lines of a long item list («и ещё N позиций»).
 */
function build(o: OrderForMessage, shopName: string, cut: number, maxItems: number, timeZone: string): string {
  const f = (v: string | null | undefined, max: number) => {
    if (!v) return null
    const limit = Math.max(8, Math.floor(max * cut))
    // cut by code points, never inside a surrogate pair (an emoji)
    const chars = Array.from(v)
    return escapeHtml(chars.length > limit ? chars.slice(0, limit - 1).join('') + '…' : v)
  }
  const lines = [`🌸 <b>Новый заказ №${f(o.number, 64)}</b> · ${f(shopName, 200)}`]
  if (o.surprise) lines.push('🤫 <b>Сюрприз — не звонить получателю!</b>')
  const when = [o.deliveryDate ? formatDate(o.deliveryDate) : null, f(o.deliveryTime, 50)].filter(Boolean).join(', ')
  if (when) lines.push(`🚚 <b>Доставка: ${when}</b>`)
  const address = f(o.address, 500)
  if (address) lines.push(`📍 Адрес: ${address}`)
  const recipient = [f(o.recipientName, 200), o.surprise ? null : f(o.recipientPhone, 40)].filter(Boolean).join(', ')
  if (recipient) lines.push(`Получатель: ${recipient}`)
  const items = o.items ?? []
  if (items.length) {
    lines.push('', '💐 <b>Собрать:</b>')
    for (const it of items.slice(0, maxItems)) {
      const price = it.price ? ` — ${formatRub(it.price)}` : ''
      lines.push(`• ${f(it.name, 200)} × ${it.quantity}${price}`)
    }
    const rest = items.length - Math.min(maxItems, items.length)
    if (rest > 0) lines.push(`и ещё ${rest} ${plural(rest, 'позиция', 'позиции', 'позиций')}`)
  }
  const card = f(o.cardText, 500)
  if (card) lines.push('', `💌 Открытка: «${card}»`)
  lines.push('', `💰 Сумма: <b>${formatRub(o.total)}</b>`)
  const customer = [f(o.customerName, 200), f(o.customerPhone, 40)].filter(Boolean).join(', ')
  lines.push(`👤 Клиент: ${customer}`)
  const comment = f(o.comment, 2000)
  if (comment) lines.push(`💬 Комментарий: ${comment}`)
  if (o.status && o.status !== 'new') {
    const who = o.status === 'accepted' && o.acceptedBy ? `: ${f(o.acceptedBy, 100)}${o.acceptedAt ? ', ' + shopTime(o.acceptedAt, timeZone) : ''}` : ''
    lines.push('', `<b>${STATUS_LABELS[o.status] ?? o.status}</b>${who}`)
  }
  if (o.courierName && o.status !== 'cancelled') lines.push(`🚚 Курьер: ${f(o.courierName, 100)}`)
  if (o.editedFields?.length) lines.push('', editedLine(o.editedFields))
  return lines.join('\n')
}

/**
 * The notification for a new order (and, with a status, the same message after an edit). Always under
 * Telegram's 4096 characters: a long item list is cut first (only if it must be), then long fields.
 */
export function renderOrderMessage(order: OrderForMessage, shopName: string, timeZone = 'Europe/Moscow'): string {
  const all = order.items?.length ?? 0
  const full = build(order, shopName, 1, all, timeZone)
  if (full.length < TELEGRAM_TEXT_LIMIT) return full
  for (let shown = all - 1; shown >= 0; shown--) {
    const text = build(order, shopName, 1, shown, timeZone)
    if (text.length < TELEGRAM_TEXT_LIMIT) return text
  }
  for (let cut = 0.7; cut > 0.05; cut *= 0.7) {
    const text = build(order, shopName, cut, 0, timeZone)
    if (text.length < TELEGRAM_TEXT_LIMIT) return text
  }
  return Array.from(build(order, shopName, 0.05, 0, timeZone))
    .slice(0, TELEGRAM_TEXT_LIMIT - 1)
    .join('')
}

/** For a recipient that did not get the order but follows its status (or cancellation): one short line. */
export function renderStatusLine(o: { number: string; status: string; acceptedBy?: string | null }, shopName: string): string {
  const icon = o.status === 'cancelled' ? '❌' : o.status === 'done' ? '✅' : '🔄'
  const who = o.status === 'accepted' && o.acceptedBy ? ` (${escapeHtml(o.acceptedBy)})` : ''
  return `${icon} ${escapeHtml(shopName)}: заказ №${escapeHtml(o.number)} — <b>${STATUS_LABELS[o.status] ?? escapeHtml(o.status)}</b>${who}`
}

export const testMessageText = (shopName: string) =>
  `✅ <b>Тестовое сообщение</b>\nУведомления о заказах магазина «${escapeHtml(shopName)}» будут приходить в этот чат.`

export const chatMovedText = (shopName: string) =>
  `ℹ️ Уведомления о заказах магазина «${escapeHtml(shopName)}» теперь приходят в другой чат. Если это ошибка, проверьте настройки в Posiflora.`

export const connectedMessageText = (shopName: string) =>
  `✅ Чат подключён к магазину «${escapeHtml(shopName)}».\nСюда будут приходить уведомления о новых заказах.`

/** The answer to a button pressed in a recipient chat the owner paused. */
export const pausedChatText = 'Этот чат приостановлен: уведомления и кнопки магазина здесь не работают. Включить его снова можно на странице настроек.'

export const staleCodeText = 'Эта ссылка для подключения устарела или уже использована. Откройте страницу настроек магазина и нажмите «Подключить чат» ещё раз.'

export const helpText =
  'Я присылаю уведомления о новых заказах магазина.\n\nВ подключённом чате работают команды:\n/today — доставки на сегодня\n/orders — последние заказы\n/order 1234 — заказ по номеру, с кнопками\n\nЧтобы подключить этот чат, откройте страницу настроек Telegram в Posiflora и нажмите «Подключить чат» — ссылка откроет меня с нужным кодом. Чтобы переподключить, сделайте то же ещё раз.'

/** The bot's command menu (`setMyCommands`); the commands answer only in the shop's recipient chats. */
export const BOT_COMMANDS = [
  { command: 'today', description: 'Доставки на сегодня' },
  { command: 'orders', description: 'Последние заказы' },
  { command: 'order', description: 'Заказ по номеру: /order 1234' },
  { command: 'help', description: 'Что умеет бот' },
]

/** One line of an order in `/orders`: number, time taken, sum, state, who ordered. */
export function renderOrderLine(
  o: { number: string; total: string; status: string; customerName: string; deliveryDate: string | null; deliveryTime: string | null; createdAt: string },
  timeZone: string,
): string {
  const cut = (s: string, n: number) =>
    escapeHtml(
      Array.from(s).length > n
        ? Array.from(s)
            .slice(0, n - 1)
            .join('') + '…'
        : s,
    )
  const when = o.deliveryDate ? ` · 🚚 ${formatDate(o.deliveryDate).slice(0, 5)}${o.deliveryTime ? ' ' + cut(o.deliveryTime, 20) : ''}` : ''
  return `• <b>№${cut(o.number, 40)}</b> · ${formatRub(o.total)} · ${STATUS_LABELS[o.status] ?? escapeHtml(o.status)}${when}\n   ${cut(o.customerName, 60)}, ${shopTime(o.createdAt, timeZone)}`
}
