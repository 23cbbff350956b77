import { z } from 'zod'
import { insertAudit } from '../platform/audit'
import type { Sql } from '../platform/db/client'
import type { Actor } from '../platform/http/auth'
import { NotFound } from '../platform/http/errors'
import { deliveriesOn, renderSummary } from '../notifications'

/** A shop's day: its time zone (messages, quiet hours), how early reminders go, when the summary goes. */
const isTimeZone = (tz: string) => {
  try {
    new Intl.DateTimeFormat('en', { timeZone: tz })
    return /\//.test(tz) || tz === 'UTC'
  } catch {
    return false
  }
}

export const ShopSettingsSchema = z.object({
  timeZone: z.string().describe('IANA time zone, e.g. Europe/Moscow'),
  reminderLeadMinutes: z.number().int(),
  summaryTime: z.string().describe('HH:MM in the shop’s time zone'),
  acceptWithinMinutes: z
    .number()
    .int()
    .nullable()
    .describe('An order still new this many minutes after it came in is raised once more in the staff chats and to the owner; null: off'),
})
export type ShopSettings = z.infer<typeof ShopSettingsSchema>

export const ShopSettingsPatch = z
  .object({
    timeZone: z.string().trim().min(1).max(64).refine(isTimeZone, 'must be an IANA time zone such as Europe/Moscow or Asia/Vladivostok').optional(),
    reminderLeadMinutes: z.number().int().min(5).max(1440).optional(),
    summaryTime: z
      .string()
      .regex(/^([01][0-9]|2[0-3]):[0-5][0-9]$/, 'must be HH:MM (00:00–23:59)')
      .optional(),
    acceptWithinMinutes: z.number().int().min(1).max(240).nullable().optional().describe('1–240 minutes, or null to switch the second call off'),
  })
  .strict()

type Row = { time_zone: string; reminder_lead_minutes: number; summary_time: string; accept_within_minutes: number | null }
const toSettings = (r: Row): ShopSettings => ({
  timeZone: r.time_zone,
  reminderLeadMinutes: r.reminder_lead_minutes,
  summaryTime: r.summary_time.slice(0, 5),
  acceptWithinMinutes: r.accept_within_minutes,
})

export async function getShopSettings(sql: Sql, shopId: number): Promise<ShopSettings> {
  const [row] = await sql<Row[]>`select time_zone, reminder_lead_minutes, summary_time::text, accept_within_minutes from shops where id = ${shopId}`
  if (!row) throw new NotFound(`Shop ${shopId} does not exist`, 'shop_not_found')
  return toSettings(row)
}

export async function updateShopSettings(sql: Sql, shopId: number, p: z.infer<typeof ShopSettingsPatch>, actor: Actor): Promise<ShopSettings> {
  const [row] = await sql<Row[]>`
    update shops set
      time_zone = coalesce(${p.timeZone ?? null}, time_zone),
      reminder_lead_minutes = coalesce(${p.reminderLeadMinutes ?? null}::int, reminder_lead_minutes),
      summary_time = coalesce(${p.summaryTime ?? null}::time, summary_time),
      accept_within_minutes = case when ${p.acceptWithinMinutes !== undefined} then ${p.acceptWithinMinutes ?? null}::int else accept_within_minutes end
    where id = ${shopId}
    returning time_zone, reminder_lead_minutes, summary_time::text, accept_within_minutes`
  if (!row) throw new NotFound(`Shop ${shopId} does not exist`, 'shop_not_found')
  await insertAudit(sql, { shopId, actor, action: 'settings_changed', details: p })
  return toSettings(row)
}

export const SummaryPreviewQuery = z.object({
  day: z
    .string()
    .refine(
      (d) => /^\d{4}-\d{2}-\d{2}$/.test(d) && !Number.isNaN(Date.parse(`${d}T00:00:00Z`)) && new Date(`${d}T00:00:00Z`).toISOString().startsWith(d),
      'must be a real date as YYYY-MM-DD',
    )
    .optional()
    .describe('The shop-local day (default: tomorrow in the shop’s time zone)'),
})

export const SummaryPreviewSchema = z.object({
  day: z.string().describe('YYYY-MM-DD, the shop’s local day'),
  sendsAt: z.string().describe('When that morning’s summary goes (ISO 8601): the day at summaryTime in the shop’s zone'),
  deliveries: z.number().describe('Deliveries that day, cancelled ones left out'),
  text: z.string().describe('The message exactly as the bot would send it now (Telegram HTML)'),
})

/** What the morning summary of `day` (default: tomorrow, shop-local) would say if it went now. */
export async function previewSummary(sql: Sql, shopId: number, day?: string): Promise<z.infer<typeof SummaryPreviewSchema>> {
  const [shop] = await sql<{ name: string; time_zone: string; day: string; sends_at: Date }[]>`
    select s.name, s.time_zone, d.day::text as day, (d.day + s.summary_time) at time zone s.time_zone as sends_at
    from shops s cross join lateral (select coalesce(${day ?? null}::date, (now() at time zone s.time_zone)::date + 1) as day) d
    where s.id = ${shopId}`
  if (!shop) throw new NotFound(`Shop ${shopId} does not exist`, 'shop_not_found')
  const rows = await deliveriesOn(sql, shopId, shop.day)
  return {
    day: shop.day,
    sendsAt: new Date(shop.sends_at).toISOString(),
    deliveries: rows.filter((r) => r.status !== 'cancelled').length,
    text: renderSummary(shop.name, shop.day, rows),
  }
}
