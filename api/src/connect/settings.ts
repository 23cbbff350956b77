import { z } from 'zod'
import { insertAudit } from '../platform/audit'
import type { Sql } from '../platform/db/client'
import type { Actor } from '../platform/http/auth'
import { NotFound } from '../platform/http/errors'

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
  })
  .strict()

type Row = { time_zone: string; reminder_lead_minutes: number; summary_time: string }
const toSettings = (r: Row): ShopSettings => ({ timeZone: r.time_zone, reminderLeadMinutes: r.reminder_lead_minutes, summaryTime: r.summary_time.slice(0, 5) })

export async function getShopSettings(sql: Sql, shopId: number): Promise<ShopSettings> {
  const [row] = await sql<Row[]>`select time_zone, reminder_lead_minutes, summary_time::text from shops where id = ${shopId}`
  if (!row) throw new NotFound(`Shop ${shopId} does not exist`, 'shop_not_found')
  return toSettings(row)
}

export async function updateShopSettings(sql: Sql, shopId: number, p: z.infer<typeof ShopSettingsPatch>, actor: Actor): Promise<ShopSettings> {
  const [row] = await sql<Row[]>`
    update shops set
      time_zone = coalesce(${p.timeZone ?? null}, time_zone),
      reminder_lead_minutes = coalesce(${p.reminderLeadMinutes ?? null}::int, reminder_lead_minutes),
      summary_time = coalesce(${p.summaryTime ?? null}::time, summary_time)
    where id = ${shopId}
    returning time_zone, reminder_lead_minutes, summary_time::text`
  if (!row) throw new NotFound(`Shop ${shopId} does not exist`, 'shop_not_found')
  await insertAudit(sql, { shopId, actor, action: 'settings_changed', details: p })
  return toSettings(row)
}
