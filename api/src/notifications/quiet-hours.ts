/**
 * Quiet hours of a recipient, in the shop's time zone: inside them messages go with
 * `disable_notification` (silently), never later — an order at night is still an order.
 * `from`/`to` are "HH:MM" (or PostgreSQL's "HH:MM:SS"); a window may cross midnight (22:00–08:00).
 */
export function inQuietHours(now: Date, timeZone: string, from: string | null, to: string | null): boolean {
  if (!from || !to) return false
  const minutes = (hhmm: string) => {
    const [h, m] = hhmm.split(':').map(Number)
    return h! * 60 + m!
  }
  const parts = new Intl.DateTimeFormat('en-GB', { timeZone, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).formatToParts(now)
  const local = Number(parts.find((p) => p.type === 'hour')!.value) * 60 + Number(parts.find((p) => p.type === 'minute')!.value)
  const a = minutes(from)
  const b = minutes(to)
  if (a === b) return false
  return a < b ? local >= a && local < b : local >= a || local < b
}
