import { z } from 'zod'

/** IANA zones PostgreSQL knows are checked by the database; this only keeps the shape sane. */
const TimeZone = z
  .string()
  .trim()
  .regex(/^[A-Za-z][A-Za-z0-9_+\-/]{1,63}$/, 'must be an IANA time zone such as Europe/Moscow')

export const ShopCreateBody = z.object({
  externalId: z.string().trim().min(1).max(200).describe('The platform’s own id of the shop: the upsert key'),
  name: z.string().trim().min(1).max(200).describe('What Telegram messages show'),
  timeZone: TimeZone.optional(),
})

export const ShopPatchBody = z.object({
  name: z.string().trim().min(1).max(200).optional(),
  timeZone: TimeZone.optional(),
})

export const ShopSchema = z.object({
  id: z.number(),
  externalId: z.string().nullable(),
  name: z.string(),
  timeZone: z.string(),
  createdAt: z.string(),
})

export const ShopListQuery = z.object({ externalId: z.string().trim().min(1).max(200).optional() })
