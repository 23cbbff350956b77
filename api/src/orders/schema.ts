import { z } from 'zod'
import { ConversationEntrySchema, OrderBuyerSchema, OrderPhotoSchema } from '../conversations'
import { ERROR_CODES_DOC } from '../bot-api'

const trimmed = (min: number, max: number) => z.string().trim().min(min).max(max)
const optionalText = (max: number) =>
  z.preprocess((v) => (typeof v === 'string' && v.trim() === '' ? undefined : v), z.string().trim().max(max).optional().nullable())

/** A money amount: non-negative, at most 2 decimals, below 10 000 000 000. Kept as an exact decimal string. */
export const Money = z
  // the input branches say in the API document what the server accepts; the transform decides
  .union([
    z.number().min(0).lt(10_000_000_000),
    z
      .string()
      .trim()
      .regex(/^\d{1,10}(\.\d{1,2})?$/),
  ])
  .transform((v, ctx) => {
    const s = typeof v === 'number' ? (Number.isFinite(v) ? String(v) : 'NaN') : v
    if (!/^\d{1,10}(\.\d{1,2})?$/.test(s) || /e/i.test(s)) {
      ctx.addIssue({ code: 'custom', message: 'must be a non-negative amount below 10 000 000 000 with at most 2 decimals' })
      return z.NEVER
    }
    return s
  })

export const CreateOrderBody = z.object({
  number: trimmed(1, 64).describe('The POS order number, unique per shop; a repeat is idempotent'),
  total: Money.describe('Order total in rubles, e.g. 2490 or "1234.50"'),
  customerName: trimmed(1, 200),
  customerPhone: optionalText(40),
  recipientName: optionalText(200),
  recipientPhone: optionalText(40),
  deliveryDate: z
    .preprocess(
      (v) => (v === '' ? undefined : v),
      z
        .string()
        .regex(/^\d{4}-\d{2}-\d{2}$/, 'must be YYYY-MM-DD')
        .refine((d) => !Number.isNaN(Date.parse(d)), 'must be a real date')
        .optional()
        .nullable(),
    )
    .describe('YYYY-MM-DD'),
  deliveryTime: z
    .preprocess((v) => (typeof v === 'string' && v.trim() === '' ? undefined : v), z.string().trim().max(50).optional().nullable())
    .transform((v, ctx) => {
      if (v == null) return { text: null, from: null, to: null }
      const slot = parseSlot(v)
      if (slot === 'invalid') {
        ctx.addIssue({ code: 'custom', message: 'a delivery window must be HH:MM or HH:MM–HH:MM with real times, the end after the start' })
        return z.NEVER
      }
      return slot ?? { text: v, from: null, to: null }
    })
    .describe('A delivery window: "14:00–16:00", "14:00-16:00" or "14:00" (free text is kept as it is, without reminders)'),
  items: z
    .array(
      z.object({
        name: trimmed(1, 200),
        quantity: z.number().int().min(1).max(1000),
        price: Money.optional()
          .nullable()
          .describe(
            'The line’s amount in rubles for the whole quantity, not per unit (15 roses for 3750 in all show as "× 15 — 3 750 ₽"). Shown as sent: the service neither multiplies nor adds it up; `total` is the order’s sum',
          ),
      }),
    )
    .max(50)
    .optional()
    .nullable()
    .describe('What to assemble: at most 50 lines'),
  cardText: optionalText(500).describe('The postcard text, up to 500 characters'),
  surprise: z.boolean().optional().describe('A surprise: do not call the recipient'),
  address: optionalText(500),
  comment: optionalText(2000),
})
export type CreateOrderInput = z.infer<typeof CreateOrderBody>

/**
 * "14:00–16:00", "14:00-16:00", "14:00" → the window (normalised text with an en dash); "invalid" for
 * something shaped like a window whose times are not real or end before they start; null for free text.
 */
export function parseSlot(v: string): { text: string; from: string; to: string | null } | 'invalid' | null {
  const m = /^(\d{1,2}):(\d{2})(?:\s*[–—-]\s*(\d{1,2}):(\d{2}))?$/.exec(v.trim())
  if (!m) return /^\d{1,2}[:.]\d{2}/.test(v.trim()) ? 'invalid' : null
  const hm = (h: string, mi: string) => (Number(h) <= 23 && Number(mi) <= 59 ? `${h.padStart(2, '0')}:${mi}` : null)
  const from = hm(m[1]!, m[2]!)
  const to = m[3] ? hm(m[3], m[4]!) : null
  if (!from || (m[3] && (!to || to <= from))) return 'invalid'
  return { text: to ? `${from}–${to}` : from, from, to }
}

export const TelegramStatus = z.enum(['sent', 'failed', 'skipped', 'pending'])

export const OrderSchema = z.object({
  id: z.number(),
  shopId: z.number(),
  number: z.string(),
  total: z.string().describe('Exact decimal, e.g. "2490.00"'),
  customerName: z.string(),
  customerPhone: z.string().nullable(),
  recipientName: z.string().nullable(),
  recipientPhone: z.string().nullable(),
  deliveryDate: z.string().nullable(),
  deliveryTime: z.string().nullable(),
  address: z.string().nullable(),
  comment: z.string().nullable(),
  items: z.array(z.object({ name: z.string(), quantity: z.number(), price: z.string().nullable() })).nullable(),
  cardText: z.string().nullable(),
  surprise: z.boolean(),
  status: z.string(),
  acceptedBy: z.string().nullable(),
  acceptedAt: z.string().nullable(),
  createdAt: z.string(),
  courier: z
    .object({ name: z.string(), at: z.string().nullable() })
    .nullable()
    .describe('Who took the delivery (the first press of «🚚 Беру» in a courier chat), or null'),
  deliveredAt: z.string().nullable().describe('When the courier reported it delivered'),
  deliveryPhoto: z
    .object({ id: z.number(), url: z.string().describe('The image (GET, with the same credential)') })
    .nullable()
    .describe('The courier’s photo of the handover, or null'),
})
export type Order = z.infer<typeof OrderSchema>

const BuyerLink = z
  .string()
  .nullable()
  .describe(
    'https://t.me/<shop bot>?start=<code> while a bot is connected, else null: show it after checkout or send it by SMS; the first person to open it gets the order’s news in Telegram',
  )

/** The order as the POS gets it back from intake: with the buyer link. */
export const CreatedOrderSchema = OrderSchema.extend({ buyerLink: BuyerLink })

export const CreateOrderResponse = z.object({
  order: CreatedOrderSchema,
  telegramStatus: TelegramStatus.describe('sent | failed | skipped; pending only on a repeat while the first attempt is still running'),
  telegram: z
    .object({
      error: z.string().nullable(),
      errorCode: z.string().nullable().describe(ERROR_CODES_DOC),
      retrying: z.boolean(),
      nextAttemptAt: z.string().nullable(),
      attempts: z.number(),
    })
    .describe('Details of the notification attempt'),
})

export const NotificationSchema = z.object({
  status: z
    .enum(['sent', 'failed', 'pending', 'skipped'])
    .describe('pending: queued or being retried; skipped: Telegram was not set up when the order came in'),
  error: z.string().nullable(),
  errorCode: z.string().nullable().describe(ERROR_CODES_DOC),
  sentAt: z.string().nullable(),
  attempts: z.number(),
  retrying: z.boolean(),
  nextAttemptAt: z.string().nullable(),
  updatedAt: z.string().nullable(),
})

export const OrderListQuery = z.object({
  limit: z
    .string()
    .regex(/^[1-9][0-9]{0,2}$/, 'must be 1–100')
    .transform(Number)
    .refine((n) => n <= 100, 'must be 1–100')
    .optional(),
  cursor: z
    .string()
    .regex(/^[1-9][0-9]{0,14}$/, 'must be a cursor from a previous page')
    .transform(Number)
    .optional(),
  number: z.string().trim().min(1).max(64).optional().describe('The POS number of one order'),
})

export const OrderListResponse = z.object({
  items: z.array(
    OrderSchema.extend({
      buyerLink: BuyerLink,
      buyer: OrderBuyerSchema,
      photos: z.array(OrderPhotoSchema).describe('Photos of the order (a staff reply with a photo to its message), oldest first'),
      conversation: z.array(ConversationEntrySchema).describe('The buyer’s messages and the staff replies (last 30 days), oldest first'),
      statusChangedBy: z.string().nullable().describe('Who made the latest status change (audit trail)'),
      notification: NotificationSchema,
      recipients: z
        .array(
          z.object({
            id: z.number(),
            title: z.string().nullable(),
            chatId: z.string().describe('Masked'),
            threadId: z.number().nullable(),
            state: z.enum(['sent', 'pending', 'failed']),
            error: z.string().nullable(),
            errorCode: z.string().nullable(),
            sentAt: z.string().nullable(),
          }),
        )
        .describe('The new-order message per recipient chat'),
    }),
  ),
  nextCursor: z.string().nullable().describe('Pass as ?cursor= for the next (older) page; null at the end'),
})

export const ORDER_STATUSES = ['new', 'accepted', 'assembling', 'delivering', 'done', 'cancelled'] as const
export type OrderStatus = (typeof ORDER_STATUSES)[number]

/** Where an order may go from each status: forward one step, or cancelled until it is done. */
export const NEXT_STATUSES: Record<OrderStatus, readonly OrderStatus[]> = {
  new: ['accepted', 'cancelled'],
  accepted: ['assembling', 'cancelled'],
  assembling: ['delivering', 'cancelled'],
  delivering: ['done', 'cancelled'],
  done: [],
  cancelled: [],
}

/** The statuses an order may come from to reach `to`. */
export const previousStatuses = (to: OrderStatus): OrderStatus[] => ORDER_STATUSES.filter((s) => NEXT_STATUSES[s].includes(to))

/** The order fields a PATCH may change (the POS's own record of the order moved). */
export const EDITABLE_FIELDS = [
  'total',
  'customerName',
  'customerPhone',
  'recipientName',
  'recipientPhone',
  'deliveryDate',
  'deliveryTime',
  'address',
  'comment',
  'items',
  'cardText',
  'surprise',
] as const
export type EditableField = (typeof EDITABLE_FIELDS)[number]

const S = CreateOrderBody.shape
export const PatchOrderBody = z
  .object({
    status: z.enum(ORDER_STATUSES).optional().describe('new → accepted → assembling → delivering → done; cancelled from any but done'),
    by: z.string().trim().min(1).max(100).optional().describe('Who made the change (shown in Telegram); defaults to «менеджер»'),
    total: S.total.optional(),
    customerName: S.customerName.optional(),
    customerPhone: S.customerPhone,
    recipientName: S.recipientName,
    recipientPhone: S.recipientPhone,
    deliveryDate: S.deliveryDate,
    deliveryTime: S.deliveryTime.optional(),
    address: S.address,
    comment: S.comment,
    items: S.items,
    cardText: S.cardText,
    surprise: S.surprise,
    courier: z.null().optional().describe('null takes the courier off the order: the delivery card goes back to the couriers’ chat'),
  })
  .refine((b) => b.status !== undefined || b.courier !== undefined || EDITABLE_FIELDS.some((f) => (b as Record<string, unknown>)[f] !== undefined), {
    message: 'send a status, courier: null and/or at least one order field to change',
  })
export type PatchOrderInput = z.infer<typeof PatchOrderBody>

export const PatchOrderResponse = z.object({
  order: OrderSchema,
  changed: z.boolean().describe('false when nothing changed (the same status, the same values)'),
  changedFields: z.array(z.string()).describe('The order fields this request changed (`order.updated` lists the same)'),
  telegramEdit: z.enum(['queued', 'none']).describe('queued: the Telegram message will be edited to show the status'),
})
