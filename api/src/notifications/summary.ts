import type { Sql } from '../platform/db/client'
import { escapeHtml, formatDate, formatRub, STATUS_LABELS, TELEGRAM_TEXT_LIMIT } from './message'

/**
 * The florist's morning: today's deliveries grouped by window, how many are not accepted yet, the
 * day's total. Also the reminder before a window. Both are outbox rows with a due time (no cron).
 */
export type SummaryRow = { number: string; total: string; status: string; recipient_name: string | null; address: string | null; slot: string | null }

/** `YYYY-MM-DD` of `now` in a time zone. */
export function localDay(now: Date, timeZone: string): string {
  return new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' }).format(now)
}

export function renderSummary(shopName: string, day: string, rows: SummaryRow[]): string {
  const active = rows.filter((r) => r.status !== 'cancelled')
  const notAccepted = active.filter((r) => r.status === 'new').length
  const total = active.reduce((sum, r) => sum + Math.round(Number(r.total) * 100), 0)
  const head = [`☀️ <b>Доставки на ${formatDate(day)}</b> · ${escapeHtml(shopName)}`]
  if (!active.length) return [...head, 'Сегодня доставок нет.'].join('\n')
  head.push(`Всего: ${active.length} на ${formatRub((total / 100).toFixed(2))}${notAccepted ? ` · <b>не приняты: ${notAccepted}</b>` : ' · все приняты'}`)
  const groups = new Map<string, SummaryRow[]>()
  for (const r of [...active].sort((a, b) => (a.slot ?? '99').localeCompare(b.slot ?? '99'))) {
    const k = r.slot ?? 'Без времени'
    groups.set(k, [...(groups.get(k) ?? []), r])
  }
  const body: string[] = []
  for (const [slot, list] of groups) {
    body.push('', `<b>${escapeHtml(slot)}</b>`)
    for (const r of list) {
      const who = [r.recipient_name, r.address]
        .filter(Boolean)
        .map((x) => escapeHtml(Array.from(x!).slice(0, 80).join('')))
        .join(', ')
      body.push(`• №${escapeHtml(r.number)}${who ? ` ${who}` : ''} — ${STATUS_LABELS[r.status] ?? r.status}`)
    }
  }
  let text = [...head, ...body].join('\n')
  for (let keep = body.length - 1; text.length >= TELEGRAM_TEXT_LIMIT && keep > 0; keep--) {
    const shown = body.slice(0, keep)
    const rest = active.length - shown.filter((l) => l.startsWith('• ')).length
    text = [...head, ...shown, `и ещё ${rest}`].join('\n')
  }
  return text
}

/** The day's deliveries of a shop (by its local date), in window order. */
export function deliveriesOn(sql: Sql, shopId: number | string, day: string): Promise<SummaryRow[]> {
  return sql<SummaryRow[]>`
    select number, total::text as total, status, recipient_name, address, delivery_time as slot
    from orders where shop_id = ${shopId} and delivery_date = ${day}::date
    order by delivery_slot_from nulls last, id`
}

/**
 * Writes the next morning summary of every shop (one row per `daily_summary` recipient and shop-local
 * day, due at `summaryTime` in the shop's zone). Idempotent: the unique index keeps restarts and
 * replicas from writing a day twice. `now` is injected so tests control the clock.
 */
export async function scheduleSummaries(sql: Sql, now: Date): Promise<number> {
  const rows = await sql`
    insert into telegram_outbox (shop_id, kind, chat_ref, due_key, next_attempt_at)
    select c.shop_id, 'daily_summary', c.id, to_char(d.day, 'YYYY-MM-DD'), (d.day + s.summary_time) at time zone s.time_zone
    from telegram_chats c
    join shops s on s.id = c.shop_id
    join telegram_integrations i on i.shop_id = c.shop_id and i.enabled
    cross join lateral (
      select case when (${now}::timestamptz at time zone s.time_zone)::time < s.summary_time
                  then (${now}::timestamptz at time zone s.time_zone)::date
                  else (${now}::timestamptz at time zone s.time_zone)::date + 1 end as day) d
    where c.enabled and 'daily_summary' = any(c.events)
    on conflict do nothing`
  return rows.count
}

/** «⏰ Через 60 минут доставка, заказ ещё не собран» and the essentials to act on it. */
export function renderReminder(
  o: { number: string; status: string; deliveryTime: string | null; address: string | null; recipientName: string | null },
  minutes: number,
): string {
  const lines = [
    `⏰ <b>Через ${minutes} ${minutes % 10 === 1 && minutes % 100 !== 11 ? 'минуту' : minutes % 10 >= 2 && minutes % 10 <= 4 && (minutes % 100 < 12 || minutes % 100 > 14) ? 'минуты' : 'минут'} доставка</b>, заказ ещё не собран`,
  ]
  lines.push(`Заказ №${escapeHtml(o.number)} · ${STATUS_LABELS[o.status] ?? o.status}${o.deliveryTime ? ` · ${escapeHtml(o.deliveryTime)}` : ''}`)
  const where = [o.recipientName, o.address]
    .filter(Boolean)
    .map((x) => escapeHtml(Array.from(x!).slice(0, 300).join('')))
    .join(', ')
  if (where) lines.push(`📍 ${where}`)
  return lines.join('\n')
}
