import { Elysia } from 'elysia'
import { z } from 'zod'
import { actorOf, principalOf } from '../platform/http/auth'
import { ErrorSchema, Id } from '../platform/http/schemas'
import {
  CreateOrderBody,
  CreateOrderResponse,
  OrderListQuery,
  OrderListResponse,
  OrderSchema,
  PatchOrderBody,
  PatchOrderResponse,
  TelegramStatus,
} from './schema'
import type { OrderService } from './service'

export const orderRoutes = (orders: OrderService) =>
  new Elysia({ name: 'orders', detail: { tags: ['Orders'] } })
    .post(
      '/shops/:shopId/orders',
      async ({ params, body, set }) => {
        const r = await orders.create(params.shopId, body)
        set.status = r.created ? 201 : 200
        return { order: r.order, telegramStatus: r.telegramStatus, telegram: r.telegram }
      },
      {
        params: z.object({ shopId: Id }),
        parse: 'json',
        body: CreateOrderBody,
        response: { 200: CreateOrderResponse, 201: CreateOrderResponse, 400: ErrorSchema, 404: ErrorSchema, 409: ErrorSchema, 422: ErrorSchema },
        detail: {
          summary: 'Create an order and notify the shop in Telegram',
          description:
            'Idempotent by `number`: a repeat with the same content answers 200 with the stored order and sends nothing; the same number with a different total or customer is 409. The first Telegram attempt is made within a few seconds; failures are retried in the background.',
        },
      },
    )
    .get('/shops/:shopId/orders/:orderId', ({ params }) => orders.one(params.shopId, params.orderId), {
      params: z.object({ shopId: Id, orderId: Id }),
      response: { 200: OrderListResponse.shape.items.element, 400: ErrorSchema, 404: ErrorSchema },
      detail: { summary: 'One order, as the list shows it' },
    })
    .get(
      '/shops/:shopId/orders',
      async ({ params, query }) => {
        if (query.number) return orders.byNumber(params.shopId, query.number)
        return orders.list(params.shopId, query.limit ?? 20, query.cursor ?? null)
      },
      {
        params: z.object({ shopId: Id }),
        query: OrderListQuery,
        response: { 200: OrderListResponse, 400: ErrorSchema, 404: ErrorSchema },
        detail: {
          summary: 'Orders, newest first, with their Telegram notification',
          description: 'Cursor-paginated: `?limit=20&cursor=<nextCursor>`. `?number=A-1001` finds the order with that POS number (a list of one, or empty).',
        },
      },
    )
    .patch(
      '/shops/:shopId/orders/:orderId',
      ({ params, body, request }) => {
        const p = principalOf(request)
        // a session's person is who changed it, unless the page names someone
        const by = body.by ?? (p?.kind === 'owner' || p?.kind === 'manager' ? (p.name ?? undefined) : undefined)
        return orders.patch(params.shopId, params.orderId, { ...body, by }, actorOf(p))
      },
      {
        params: z.object({ shopId: Id, orderId: Id }),
        parse: 'json',
        body: PatchOrderBody,
        response: { 200: PatchOrderResponse, 400: ErrorSchema, 404: ErrorSchema, 409: ErrorSchema, 422: ErrorSchema },
        detail: {
          summary: 'Change the order’s status and/or its fields; every Telegram message of it is edited',
          description:
            'Status: new → accepted → assembling → delivering → done, or cancelled before done; the same status again is 200 with `changed: false`; an impossible step is 409 `invalid_transition`. Fields (`total`, `customerName`, `deliveryDate`, `deliveryTime`, `address`, `items`, …): every recipient’s message is edited to the new content with a «✏️ Изменено: …» line, reminders follow the new slot, `order.updated` lists the changed fields; a done or cancelled order is 409 `order_closed`. Fields are applied before the status.',
        },
      },
    )
    .post(
      '/shops/:shopId/orders/:orderId/telegram/resend',
      async ({ params }) => {
        const r = await orders.resend(params.shopId, params.orderId)
        return { order: r.order, telegramStatus: r.telegramStatus, telegram: r.telegram }
      },
      {
        params: z.object({ shopId: Id, orderId: Id }),
        response: {
          200: z.object({ order: OrderSchema, telegramStatus: TelegramStatus, telegram: CreateOrderResponse.shape.telegram }),
          400: ErrorSchema,
          404: ErrorSchema,
          409: ErrorSchema,
        },
        detail: { summary: 'Retry a failed notification now', description: '409 when it was already sent.' },
      },
    )
