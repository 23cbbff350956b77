import { openapi } from '@elysiajs/openapi'
import { Elysia } from 'elysia'
import { z } from 'zod'
import { accessRoutes, sessionRoutes } from './access'
import { connectRoutes, mockMessageRoutes, recipientRoutes, settingsRoutes } from './connect'
import { liveRoutes } from './live'
import { EVENT_PAYLOADS, eventRoutes } from './events'
import { shopRoutes } from './shops'
import { managedRoutes, managerWebhookRoutes } from './managed'
import { orderRoutes } from './orders'
import { photoRoutes } from './conversations'
import { mockStartRoutes, webhookRoutes } from './updates'
import type { Services } from './wiring'
import { accessControl } from './platform/http/auth'
import { rateLimit } from './platform/http/rate-limit'
import { forbiddenCharacterAt, hasBody, isJsonContentType } from './platform/http/body-guards'
import { ClientThrottle } from './platform/http/client-throttle'
import { openModeGuard } from './platform/http/open-mode'
import { securityHeaders } from './platform/http/security'
import { errorBody, errorHandler, HttpError } from './platform/http/errors'
import { completeDocument } from './platform/http/openapi-doc'
import { pagePlugin } from './platform/http/page'
import { SCALAR_ASSET } from './platform/ui-build'

/** The `data` of each platform event type, as `components.schemas.Event_<type>` in the API document. */
const EVENT_SCHEMAS = Object.fromEntries(
  Object.entries(EVENT_PAYLOADS).map(([type, schema]) => {
    const { $schema: _, ...json } = z.toJSONSchema(schema) as Record<string, unknown>
    return [
      `Event_${type.replace('.', '_')}`,
      { ...json, description: `data of \`${type}\` (webhook body and GET /events item: {id, type, occurredAt, shopId, data})` },
    ]
  }),
)

/** No request of this API nests JSON deeper than a few levels. */
const MAX_JSON_DEPTH = 32

/** True when arrays/objects nest deeper than `limit` (looks no deeper than that). */
export function nestedDeeperThan(value: unknown, limit: number): boolean {
  if (value === null || typeof value !== 'object') return false
  if (limit === 0) return true
  for (const v of Array.isArray(value) ? value : Object.values(value)) if (nestedDeeperThan(v, limit - 1)) return true
  return false
}

/** Reads a streamed body; null (and stops reading) as soon as it passes `limit` bytes. */
async function readLimited(body: ReadableStream<Uint8Array>, limit: number): Promise<string | null> {
  const reader = body.getReader()
  const chunks: Uint8Array[] = []
  let size = 0
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    size += value.byteLength
    if (size > limit) {
      await reader.cancel().catch(() => undefined)
      return null
    }
    chunks.push(value)
  }
  return Buffer.concat(chunks).toString('utf8')
}

/** Bodies above this are refused with 413 before they are read. */
export const BODY_LIMIT_BYTES = 64 * 1024

/** The HTTP app: cross-cutting plugins first (errors, size limit, auth, docs), then the features. */
export function createApp(s: Services, opts: { uiDist?: string } = {}) {
  const { sql, log } = s
  const started = new WeakMap<Request, number>()
  const oversized = new WeakSet<Request>()
  // Bun's own cap is the backstop (it answers a bare 413); our parser below stops at the limit first.
  return (
    new Elysia({ serve: { maxRequestBodySize: BODY_LIMIT_BYTES * 4 } })
      .use(errorHandler(log))
      .use(securityHeaders({ frameAncestors: s.config.FRAME_ANCESTORS }))
      .onRequest(({ request }) => void started.set(request, performance.now()))
      .onAfterResponse({ as: 'global' }, (ctx) => {
        const { request, set } = ctx
        const ms = performance.now() - (started.get(request) ?? performance.now())
        // by route template (`/shops/:shopId/orders`), so label values stay few whatever ids come in
        const route = (ctx as { route?: string }).route || 'unmatched'
        s.metrics.httpSeconds.observe({ method: request.method, route, status: String(set.status ?? 200) }, ms / 1000)
        if (ms > 1000) log.warn('slow_request', { method: request.method, path: new URL(request.url).pathname, status: set.status, ms: Math.round(ms) })
      })
      .onRequest(({ request, set }) => {
        const len = Number(request.headers.get('content-length') ?? 0)
        if (len > BODY_LIMIT_BYTES) {
          set.status = 413
          set.headers['content-type'] = 'application/json; charset=utf-8'
          return errorBody('payload_too_large', `The request body is over ${BODY_LIMIT_BYTES} bytes`)
        }
        // JSON only: a form or text/plain body is what a page of another site can send without asking
        if (hasBody(request) && !isJsonContentType(request.headers.get('content-type'))) {
          set.status = 415
          set.headers['content-type'] = 'application/json; charset=utf-8'
          return errorBody('unsupported_media_type', 'The request body must be JSON, sent as Content-Type: application/json')
        }
      })
      // JSON bodies are counted as they are read, so the limit holds for chunked bodies (no content-length) too.
      .onParse({ as: 'global' }, async ({ request }, contentType) => {
        if (!request.body || !/json/i.test(contentType)) return
        const text = await readLimited(request.body, BODY_LIMIT_BYTES)
        if (text === null) {
          // Elysia wraps errors thrown while parsing into a generic parse error; say 413 in onTransform.
          oversized.add(request)
          return {}
        }
        if (text === '') return undefined
        try {
          return JSON.parse(text)
        } catch {
          throw new HttpError(400, 'malformed_body', 'The request body is not valid JSON')
        }
      })
      .onTransform({ as: 'global' }, ({ body, query, request }) => {
        if (oversized.has(request)) throw new HttpError(413, 'payload_too_large', `The request body is over ${BODY_LIMIT_BYTES} bytes`)
        // Refuse absurdly nested bodies before validation: Elysia pretty-prints a refused value into its
        // error message, which costs O(depth²) — 20 000 levels of [] held the event loop for a second.
        if (nestedDeeperThan(body, MAX_JSON_DEPTH)) throw new HttpError(400, 'malformed_body', `The JSON body is nested deeper than ${MAX_JSON_DEPTH} levels`)
        const at = forbiddenCharacterAt(body) ?? forbiddenCharacterAt(query)
        if (at)
          throw new HttpError(422, 'validation_failed', `${at}: contains a NUL byte or an unpaired surrogate`, [{ path: at, message: 'forbidden character' }])
      })
      // The generated document plus what plugins answer before a route runs (see openapi-doc.ts).
      .onAfterHandle({ as: 'global' }, ({ request, response }) => {
        if (new URL(request.url).pathname !== '/swagger/json' || !response || typeof response !== 'object' || response instanceof Response) return
        return completeDocument(response as Record<string, unknown>, s.config.PUBLIC_URL ?? new URL(request.url).origin, { schemas: EVENT_SCHEMAS })
      })
      .use(s.config.ADMIN_TOKEN ? new Elysia({ name: 'open-mode-guard' }) : openModeGuard({ publicUrl: s.config.PUBLIC_URL }))
      .use(
        accessControl({
          adminToken: s.config.ADMIN_TOKEN,
          resolve: s.access.resolve,
          throttle: new ClientThrottle({
            sessionPerMinute: s.config.AUTH_SESSIONS_PER_MINUTE,
            sessionBurst: s.config.AUTH_SESSIONS_BURST,
            failuresPerMinute: s.config.AUTH_FAILURES_PER_MINUTE,
            failuresBurst: s.config.AUTH_FAILURES_BURST,
          }),
        }),
      )
      .use(
        rateLimit({
          ordersPerMinute: s.config.RATE_LIMIT_ORDERS_PER_MINUTE,
          ordersBurst: s.config.RATE_LIMIT_ORDERS_BURST,
          writesPerMinute: s.config.RATE_LIMIT_WRITES_PER_MINUTE,
          writesBurst: s.config.RATE_LIMIT_WRITES_BURST,
          testIntervalMs: s.config.TEST_MESSAGE_INTERVAL_MS,
          share: s.replicas.share,
        }),
      )
      .use(
        openapi({
          path: '/swagger',
          // self-hosted viewer (copied into ui/dist/assets by the page build): no CDN, no third-party script
          scalar: { cdn: `/assets/${SCALAR_ASSET}`, withDefaultFonts: false } as never,
          // Request schemas are documented as clients send them (before transforms such as Money → string).
          mapJsonSchema: { zod: (s: z.ZodType) => z.toJSONSchema(s, { io: 'input', unrepresentable: 'any' }) },
          documentation: {
            info: {
              title: 'Posiflora: order notifications in Telegram',
              version: '0.1.0',
              description:
                'Order intake with exactly one Telegram message per order, bot connection and status. Routes under /shops/{shopId}/ take `Authorization: Bearer <credential>`: the operator’s ADMIN_TOKEN (every shop), a shop API key `pfk_…` (its own orders and status) or an owner session `pfs_…` (its own shop). Errors: `{error, message, details?}`, in English; `error` is the machine code.',
            },
            components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
            security: [{ bearer: [] }],
          },
        }),
      )
      .get(
        '/metrics',
        async ({ set }) => {
          set.headers['content-type'] = s.metrics.registry.contentType
          return s.metrics.text()
        },
        { detail: { summary: 'Prometheus metrics (operator only when ADMIN_TOKEN is set)', tags: ['Operations'] } },
      )
      .get(
        '/health',
        async ({ set }) => {
          try {
            await Promise.race([sql`select 1`, Bun.sleep(2000).then(() => Promise.reject(new Error('timeout')))])
            return { status: 'ok' as const, database: 'ok' as const }
          } catch (err) {
            log.warn('health_database_unreachable', { error: err })
            set.status = 503
            return { status: 'degraded' as const, database: 'unreachable' as const }
          }
        },
        {
          response: {
            200: z.object({ status: z.literal('ok'), database: z.literal('ok') }),
            503: z.object({ status: z.literal('degraded'), database: z.literal('unreachable') }),
          },
          detail: { summary: 'Liveness and database reachability', tags: ['Operations'] },
        },
      )
      .use(shopRoutes(s.shops))
      .use(eventRoutes(s.events))
      .use(accessRoutes(s.access))
      .use(sessionRoutes(s.access))
      .use(orderRoutes(s.orders))
      .use(photoRoutes(s.photos))
      .use(connectRoutes(s.telegram))
      .use(recipientRoutes(s.recipients))
      .use(settingsRoutes(sql, s.recipients))
      .use(liveRoutes(sql, s.live))
      .use(mockStartRoutes(s.telegram, s.updates))
      .use(mockMessageRoutes(s))
      .use(webhookRoutes(s.updates, sql, log))
      .use(managedRoutes(s.managed, s.telegram))
      .use(managerWebhookRoutes(s.managed, log))
      .use(pagePlugin(opts.uiDist))
  )
}

export type App = ReturnType<typeof createApp>
