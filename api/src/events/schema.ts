import { z } from 'zod'
import { EVENT_TYPES } from './types'

const EventType = z.enum(EVENT_TYPES)

export const EventSchema = z.object({
  id: z.string().describe('evt_<n>: also the `webhook-id` of every delivery of this event'),
  type: z.string().describe(EVENT_TYPES.join(', ')),
  occurredAt: z.string(),
  shopId: z.number().nullable(),
  data: z
    .record(z.string(), z.unknown())
    .describe('Always `shopId`; order events also `orderId`, `number` and a per-order `sequence` (see the event payloads below)'),
})

export const FeedQuery = z.object({
  after: z.string().max(40).optional().describe('The last event id you have (`nextCursor` of the previous page); omitted: from the oldest kept'),
  limit: z.coerce.number().int().min(1).max(1000).optional(),
  // Elysia hands a comma-separated value over as a list
  types: z
    .union([z.string().max(1000), z.array(z.string().max(100)).max(50)])
    .optional()
    .describe('Comma-separated event types'),
})

export const FeedResponse = z.object({ items: z.array(EventSchema), nextCursor: z.string().nullable() })

const Url = z
  .string()
  .trim()
  .max(2000)
  .url()
  .refine((u) => /^https?:\/\//i.test(u), 'must be an http(s) URL')

export const EndpointCreateBody = z.object({
  url: Url.describe('Where to POST events; a shop API key may register only https to a public address'),
  events: z.array(EventType).max(EVENT_TYPES.length).optional().nullable().describe('Omitted or empty: every type'),
  shopId: z.number().int().positive().optional().nullable().describe('Omitted: every shop (operator only); a shop key is held to its own'),
  description: z.string().trim().max(500).optional(),
})

export const EndpointPatchBody = z.object({
  url: Url.optional(),
  events: z.array(EventType).max(EVENT_TYPES.length).optional().nullable(),
  enabled: z.boolean().optional(),
  description: z.string().trim().max(500).optional(),
})

export const EndpointSchema = z.object({
  id: z.number(),
  url: z.string(),
  events: z.array(z.string()).nullable(),
  shopId: z.number().nullable(),
  description: z.string(),
  enabled: z.boolean(),
  disabledReason: z.string().nullable(),
  failingSince: z.string().nullable(),
  secretRotatedUntil: z.string().nullable(),
  createdAt: z.string(),
  updatedAt: z.string(),
})

export const EndpointCreatedSchema = EndpointSchema.extend({ secret: z.string().describe('whsec_<base64>: shown this once') })

export const DeliverySchema = z.object({
  id: z.number(),
  eventId: z.string(),
  type: z.string(),
  status: z.enum(['pending', 'delivered', 'failed']),
  attempts: z.number(),
  lastStatusCode: z.number().nullable(),
  lastError: z.string().nullable(),
  nextAttemptAt: z.string().nullable(),
  deliveredAt: z.string().nullable(),
})

export const DeliveriesQuery = z.object({ cursor: z.coerce.number().int().positive().optional(), limit: z.coerce.number().int().min(1).max(200).optional() })

/** The `data` of each event type, for integrators reading the OpenAPI document. */
const OrderRef = { shopId: z.number(), orderId: z.number(), number: z.string(), sequence: z.number().describe('per order, from 1: order by it') }
export const EVENT_PAYLOADS: Record<string, z.ZodType> = {
  'order.created': z.object({ ...OrderRef, total: z.string(), status: z.string() }),
  'order.updated': z.object({ ...OrderRef, changed: z.array(z.string()) }),
  'order.status_changed': z.object({
    ...OrderRef,
    from: z.string(),
    to: z.string(),
    by: z.object({ source: z.enum(['telegram', 'api', 'page']), name: z.string().optional() }),
  }),
  'notification.sent': z.object({ ...OrderRef, recipientId: z.number(), kind: z.string() }),
  'notification.failed': z.object({ ...OrderRef, recipientId: z.number(), kind: z.string(), errorCode: z.string().optional() }),
  'telegram.connected': z.object({ shopId: z.number(), botUsername: z.string(), managed: z.boolean().optional() }),
  'telegram.disconnected': z.object({ shopId: z.number(), botUsername: z.string().optional(), reason: z.string().optional() }),
  'recipient.added': z.object({ shopId: z.number(), recipientId: z.number(), type: z.string().nullable().optional(), title: z.string().nullable().optional() }),
  'recipient.removed': z.object({ shopId: z.number(), recipientId: z.number() }),
  'webhook.test': z.object({ shopId: z.number().nullable(), endpointId: z.number() }),
  'webhook.disabled': z.object({ shopId: z.number().nullable(), endpointId: z.number(), url: z.string(), reason: z.string() }),
}
