import { Elysia } from 'elysia'
import { z } from 'zod'
import type { Sql } from '../platform/db/client'
import { principalOf, seesLinks } from '../platform/http/auth'
import { ErrorSchema, ShopParams } from '../platform/http/schemas'
import { getShopOr404 } from '../platform/shops'
import type { LiveHub } from './hub'

/** `GET /shops/{id}/events`: the page's live stream (server-sent events), authorised like any shop route. */
export const liveRoutes = (sql: Sql, hub: LiveHub) =>
  new Elysia({ name: 'live', detail: { tags: ['Live'] } }).get(
    '/shops/:shopId/events',
    async ({ params, request, server }) => {
      await getShopOr404(sql, params.shopId)
      // HEAD: the stream's headers, no stream (Bun never answered a HEAD whose body is an open stream
      // when the path reached the app un-normalized, e.g. /shops/1/./events: the access fuzz found it)
      if (request.method === 'HEAD') return new Response(null, { headers: { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store' } })
      // a stream is idle between events: Bun's per-request idle timeout must not end it (heartbeats keep proxies happy)
      server?.timeout(request, 0)
      const p = principalOf(request)
      const sessionId = p && 'sessionId' in p ? p.sessionId : null
      return hub.open(params.shopId, request.signal, { sessionId, links: seesLinks(p), chats: p?.kind !== 'manager' })
    },
    {
      params: ShopParams,
      response: { 200: z.string().describe('text/event-stream'), 404: ErrorSchema, 429: ErrorSchema, 503: ErrorSchema },
      detail: {
        summary: 'Live changes of the shop for its open pages (server-sent events)',
        description:
          'Events: `ready` on open; `order` (an item as in GET /orders) when an order or its notification changes; `status` (as GET /telegram/status); ' +
          '`chats` (as GET /telegram/chats) when a recipient changes; `reload` after a burst too large to send item by item; `bye` before the stream ends ' +
          '(after 10 minutes: reconnect). A comment line every 15 s keeps the connection open. Send the credential as `Authorization: Bearer …` ' +
          '(read it with fetch; EventSource cannot send headers). 429 when the shop has too many open, 503 when the service does.',
      },
    },
  )
