import { Elysia } from 'elysia'
import { z } from 'zod'
import { actorOf, principalOf } from '../platform/http/auth'
import { ErrorSchema, Id } from '../platform/http/schemas'
import { ShopCreateBody, ShopListQuery, ShopPatchBody, ShopSchema } from './schema'
import type { ShopService } from './service'

const errors = { 400: ErrorSchema, 404: ErrorSchema, 422: ErrorSchema }
const ShopParams = z.object({ shopId: Id })

/** Provisioning by the platform (operator): upsert by its own id, read, rename, offboard. */
export const shopRoutes = (shops: ShopService) =>
  new Elysia({ name: 'shops', detail: { tags: ['Shops'] } })
    .post(
      '/shops',
      async ({ body, set }) => {
        const r = await shops.upsert(body)
        set.status = r.created ? 201 : 200
        return r.shop
      },
      {
        parse: 'json',
        body: ShopCreateBody,
        response: { 200: ShopSchema, 201: ShopSchema, ...errors },
        detail: {
          summary: 'Provision a shop (upsert by externalId)',
          description: '201 for a new shop; the same `externalId` again is 200 with the same shop, its name and zone updated.',
        },
      },
    )
    .get('/shops', ({ query }) => shops.list(query.externalId), {
      query: ShopListQuery,
      response: { 200: z.object({ items: z.array(ShopSchema) }), ...errors },
      detail: { summary: 'Find shops (by the platform’s externalId)' },
    })
    .get('/shops/:shopId', ({ params }) => shops.get(params.shopId), {
      params: ShopParams,
      response: { 200: ShopSchema, ...errors },
      detail: { summary: 'One shop' },
    })
    .patch('/shops/:shopId', ({ params, body }) => shops.update(params.shopId, body), {
      params: ShopParams,
      parse: 'json',
      body: ShopPatchBody,
      response: { 200: ShopSchema, ...errors },
      detail: { summary: 'Rename a shop or change its time zone (the name is what Telegram messages show)' },
    })
    .delete(
      '/shops/:shopId',
      async ({ params, request, set }) => {
        await shops.remove(params.shopId, actorOf(principalOf(request)))
        set.status = 204
      },
      {
        params: ShopParams,
        response: { 204: z.void(), ...errors },
        detail: {
          summary: 'Offboard a shop',
          description:
            'The bot’s webhook is removed; keys, sessions and links stop working at once; the shop’s orders, messages, logs and events are deleted. A line saying who removed it is kept.',
        },
      },
    )
