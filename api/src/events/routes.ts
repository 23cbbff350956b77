import { Elysia } from 'elysia'
import { z } from 'zod'
import { principalOf } from '../platform/http/auth'
import { ErrorSchema, Id } from '../platform/http/schemas'
import {
  DeliveriesQuery,
  DeliverySchema,
  EndpointCreateBody,
  EndpointCreatedSchema,
  EndpointPatchBody,
  EndpointSchema,
  FeedQuery,
  FeedResponse,
} from './schema'
import type { EventService } from './service'

const errors = { 400: ErrorSchema, 403: ErrorSchema, 404: ErrorSchema, 409: ErrorSchema, 422: ErrorSchema }
const IdParams = z.object({ id: Id })

/** The feed and the webhook endpoints: the operator sees every shop, a shop API key its own. */
export const eventRoutes = (events: EventService) =>
  new Elysia({ name: 'events', detail: { tags: ['Platform events'] } })
    .get('/events', ({ query, request }) => events.feed(principalOf(request), query), {
      query: FeedQuery,
      response: { 200: FeedResponse, ...errors },
      detail: {
        summary: 'The event feed, oldest first, from a cursor',
        description:
          'Every change a platform cares about, written in the same transaction as the change. Poll with `after=<nextCursor>`; kept at least 30 days. The operator sees every shop, a shop API key its own shop only.',
      },
    })
    .post(
      '/webhooks/endpoints',
      async ({ body, request, set }) => {
        set.status = 201
        return events.create(principalOf(request), body)
      },
      {
        parse: 'json',
        body: EndpointCreateBody,
        response: { 201: EndpointCreatedSchema, ...errors },
        detail: {
          summary: 'Register a webhook endpoint',
          description:
            'Deliveries are `POST <url>` with `{id, type, occurredAt, shopId, data}` and the Standard Webhooks headers `webhook-id` (the event id, the same on every retry), `webhook-timestamp`, `webhook-signature` (`v1,<base64 HMAC-SHA256>` keyed with the bytes after `whsec_`). 2xx within 15 s = delivered; otherwise retried (first retry within 10 s, then growing delays for more than a day). The `secret` is shown this once.',
        },
      },
    )
    .get('/webhooks/endpoints', ({ request }) => events.list(principalOf(request)), {
      response: { 200: z.object({ items: z.array(EndpointSchema) }), ...errors },
      detail: { summary: 'Webhook endpoints (never their secrets)' },
    })
    .get('/webhooks/endpoints/:id', ({ params, request }) => events.get(principalOf(request), params.id), {
      params: IdParams,
      response: { 200: EndpointSchema, ...errors },
      detail: { summary: 'One webhook endpoint' },
    })
    .patch('/webhooks/endpoints/:id', ({ params, body, request }) => events.update(principalOf(request), params.id, body), {
      params: IdParams,
      parse: 'json',
      body: EndpointPatchBody,
      response: { 200: EndpointSchema, ...errors },
      detail: { summary: 'Change an endpoint’s URL or types, or switch it off and on' },
    })
    .delete(
      '/webhooks/endpoints/:id',
      async ({ params, request, set }) => {
        await events.remove(principalOf(request), params.id)
        set.status = 204
      },
      { params: IdParams, response: { 204: z.void(), ...errors }, detail: { summary: 'Remove an endpoint (its pending deliveries go with it)' } },
    )
    .post('/webhooks/endpoints/:id/rotate-secret', ({ params, request }) => events.rotate(principalOf(request), params.id), {
      params: IdParams,
      response: { 200: z.object({ secret: z.string(), previousValidUntil: z.string() }), ...errors },
      detail: { summary: 'A new secret; the old one keeps signing alongside for 24 h (two signatures in `webhook-signature`)' },
    })
    .post(
      '/webhooks/endpoints/:id/test',
      async ({ params, request, set }) => {
        set.status = 202
        return events.test(principalOf(request), params.id)
      },
      {
        params: IdParams,
        response: { 202: z.object({ eventId: z.string() }), ...errors },
        detail: { summary: 'Send a `webhook.test` event to this endpoint' },
      },
    )
    .get('/webhooks/endpoints/:id/deliveries', ({ params, query, request }) => events.deliveries(principalOf(request), params.id, query), {
      params: IdParams,
      query: DeliveriesQuery,
      response: { 200: z.object({ items: z.array(DeliverySchema), nextCursor: z.string().nullable() }), ...errors },
      detail: { summary: 'The endpoint’s delivery log, newest first' },
    })
    .post(
      '/webhooks/deliveries/:id/retry',
      async ({ params, request, set }) => {
        await events.retry(principalOf(request), params.id)
        set.status = 202
        return { queued: true }
      },
      {
        params: IdParams,
        response: { 202: z.object({ queued: z.boolean() }), ...errors },
        detail: { summary: 'Deliver this event to its endpoint again now (the same webhook-id)' },
      },
    )
