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
    .get('/shops/:shopId/orders', ({ params, query }) => orders.list(params.shopId, query.limit ?? 20, query.cursor ?? null), {
      params: z.object({ shopId: Id }),
      query: OrderListQuery,
      response: { 200: OrderListResponse, 400: ErrorSchema, 404: ErrorSchema },
      detail: { summary: 'Orders, newest first, with their Telegram notification', description: 'Cursor-paginated: `?limit=20&cursor=<nextCursor>`.' },
    })
    .patch(
      '/shops/:shopId/orders/:orderId',
      async ({ params, body, request }) => {
        const actor = actorOf(principalOf(request))
        const released = body.courier === null ? await orders.releaseCourier(params.shopId, params.orderId, actor) : null
        return body.status ? orders.changeStatus(params.shopId, params.orderId, body.status, body.by, actor) : released!
      },
      {
        params: z.object({ shopId: Id, orderId: Id }),
        parse: 'json',
        body: PatchOrderBody,
        response: { 200: PatchOrderResponse, 400: ErrorSchema, 404: ErrorSchema, 409: ErrorSchema, 422: ErrorSchema },
        detail: {
          summary: 'Change the order status; its Telegram message is edited to show it',
          description:
            'new → accepted → assembling → delivering → done, or cancelled before done. The same status again is 200 with `changed: false`; an impossible step is 409 `invalid_transition`.',
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
