import { z } from 'zod'

/** Path ids: positive decimal integers that fit PostgreSQL's bigint and JS's safe integers. */
export const Id = z
  .string()
  .regex(/^[1-9][0-9]{0,14}$/, 'must be a positive integer')
  .transform(Number)
export const ShopParams = z.object({ shopId: Id })
export const ErrorSchema = z.object({ error: z.string(), message: z.string(), details: z.unknown().optional() })
