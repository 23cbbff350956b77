import { openapi } from '@elysiajs/openapi'
import { Elysia } from 'elysia'
import { z } from 'zod'
import { accessRoutes } from './access'
import { connectRoutes } from './connect'
import { orderRoutes } from './orders'
import { mockStartRoutes, webhookRoutes } from './updates'
import type { Services } from './wiring'
import { accessControl } from './platform/http/auth'
import { rateLimit } from './platform/http/rate-limit'
import { errorBody, errorHandler, HttpError } from './platform/http/errors'
import { pagePlugin } from './platform/http/page'

/** No request of this API nests JSON deeper than a few levels. */
const MAX_JSON_DEPTH = 32

/** True when arrays/objects nest deeper than `limit` (looks no deeper than that). */
export function nestedDeeperThan(value: unknown, limit: number): boolean {
  if (value === null || typeof value !== 'object') return false
  if (limit === 0) return true
  for (const v of Array.isArray(value) ? value : Object.values(value)) if (nestedDeeperThan(v, limit - 1)) return true
  return false
}

/** Bodies above this are refused with 413 before they are read. */
export const BODY_LIMIT_BYTES = 64 * 1024

/** The HTTP app: cross-cutting plugins first (errors, size limit, auth, docs), then the features. */
export function createApp(s: Services, opts: { uiDist?: string } = {}) {
  const { sql, log } = s
  const started = new WeakMap<Request, number>()
  return new Elysia({ serve: { maxRequestBodySize: 1024 * 1024 } })
    .use(errorHandler(log))
    .onRequest(({ request }) => void started.set(request, performance.now()))
    .onAfterResponse({ as: 'global' }, ({ request, set }) => {
      const ms = performance.now() - (started.get(request) ?? performance.now())
      if (ms > 1000) log.warn('slow_request', { method: request.method, path: new URL(request.url).pathname, status: set.status, ms: Math.round(ms) })
    })
    .onRequest(({ request, set }) => {
      const len = Number(request.headers.get('content-length') ?? 0)
      if (len > BODY_LIMIT_BYTES) {
        set.status = 413
        set.headers['content-type'] = 'application/json; charset=utf-8'
        return errorBody('payload_too_large', `The request body is over ${BODY_LIMIT_BYTES} bytes`)
      }
    })
    .onTransform({ as: 'global' }, ({ body }) => {
      // Refuse absurdly nested bodies before validation: Elysia pretty-prints a refused value into its
      // error message, which costs O(depth²) — 20 000 levels of [] held the event loop for a second.
      if (nestedDeeperThan(body, MAX_JSON_DEPTH)) throw new HttpError(400, 'malformed_body', `The JSON body is nested deeper than ${MAX_JSON_DEPTH} levels`)
    })
    .use(accessControl({ adminToken: s.config.ADMIN_TOKEN, resolve: s.access.resolve }))
    .use(
      rateLimit({
        ordersPerMinute: s.config.RATE_LIMIT_ORDERS_PER_MINUTE,
        ordersBurst: s.config.RATE_LIMIT_ORDERS_BURST,
        writesPerMinute: s.config.RATE_LIMIT_WRITES_PER_MINUTE,
        writesBurst: s.config.RATE_LIMIT_WRITES_BURST,
        testIntervalMs: s.config.TEST_MESSAGE_INTERVAL_MS,
      }),
    )
    .use(
      openapi({
        path: '/swagger',
        // Request schemas are documented as clients send them (before transforms such as Money → string).
        mapJsonSchema: { zod: (s: z.ZodType) => z.toJSONSchema(s, { io: 'input', unrepresentable: 'any' }) },
        documentation: {
          info: {
            title: 'Posiflora: order notifications in Telegram',
            version: '0.1.0',
            description:
              'Order intake with exactly one Telegram message per order, bot connection and status. Every /shops/{shopId}/… route takes `Authorization: Bearer <ADMIN_TOKEN>` when ADMIN_TOKEN is set. Errors: `{error, message, details?}`.',
          },
          components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
          security: [{ bearer: [] }],
        },
      }),
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
        response: { 200: z.object({ status: z.literal('ok'), database: z.literal('ok') }), 503: z.object({ status: z.literal('degraded'), database: z.literal('unreachable') }) },
        detail: { summary: 'Liveness and database reachability', tags: ['Operations'] },
      },
    )
    .use(accessRoutes(s.access))
    .use(orderRoutes(s.orders))
    .use(connectRoutes(s.telegram))
    .use(mockStartRoutes(s.telegram, s.updates))
    .use(webhookRoutes(s.updates, sql, log))
    .use(pagePlugin(opts.uiDist))
}

export type App = ReturnType<typeof createApp>
