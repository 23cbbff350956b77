import { openapi } from '@elysiajs/openapi'
import { Elysia } from 'elysia'
import { z } from 'zod'
import { orderRoutes } from '../orders/routes'
import type { Services } from '../services'
import { telegramRoutes, webhookRoutes } from '../telegram/routes'
import { bearerAuth } from './auth'
import { errorBody, errorHandler } from './errors'
import { pagePlugin } from './page'

/** Bodies above this are refused with 413 before they are read. */
export const BODY_LIMIT_BYTES = 64 * 1024

/** The HTTP app: cross-cutting plugins first (errors, size limit, auth, docs), then the features. */
export function createApp(s: Services, opts: { uiDist?: string } = {}) {
  const { sql, log } = s
  return new Elysia({ serve: { maxRequestBodySize: 1024 * 1024 } })
    .use(errorHandler(log))
    .onRequest(({ request, set }) => {
      const len = Number(request.headers.get('content-length') ?? 0)
      if (len > BODY_LIMIT_BYTES) {
        set.status = 413
        set.headers['content-type'] = 'application/json; charset=utf-8'
        return errorBody('payload_too_large', `The request body is over ${BODY_LIMIT_BYTES} bytes`)
      }
    })
    .use(bearerAuth(s.config.ADMIN_TOKEN))
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
        } catch {
          set.status = 503
          return { status: 'degraded' as const, database: 'unreachable' as const }
        }
      },
      {
        response: { 200: z.object({ status: z.literal('ok'), database: z.literal('ok') }), 503: z.object({ status: z.literal('degraded'), database: z.literal('unreachable') }) },
        detail: { summary: 'Liveness and database reachability', tags: ['Operations'] },
      },
    )
    .use(orderRoutes(s.orders))
    .use(telegramRoutes(s.telegram, s.onboarding))
    .use(webhookRoutes(s.onboarding, sql, log))
    .use(pagePlugin(opts.uiDist))
}

export type App = ReturnType<typeof createApp>
