import { Elysia } from 'elysia'
import { z } from 'zod'
import type { TgUpdate } from '../bot-api'
import { findIntegrationByWebhookId, StatusSchema, type TelegramService } from '../connect'
import { sha256 } from '../platform/crypto'
import type { Sql } from '../platform/db/client'
import { safeEqual } from '../platform/http/auth'
import { errorBody } from '../platform/http/errors'
import { ErrorSchema, Id } from '../platform/http/schemas'
import type { Logger } from '../platform/log'
import type { UpdateRouter } from './router'

const ShopParams = z.object({ shopId: Id })
const errors = { 400: ErrorSchema, 404: ErrorSchema, 409: ErrorSchema, 422: ErrorSchema }

/** Demo only: feeds a made-up /start through the same router a real update takes. */
export const mockStartRoutes = (telegram: TelegramService, router: UpdateRouter) =>
  new Elysia({ name: 'telegram-mock', detail: { tags: ['Telegram'] } }).post(
    '/shops/:shopId/telegram/mock/start',
    async ({ params, body }) => {
      const integration = await telegram.requireMockIntegration(params.shopId)
      const result = await router.simulateStart(integration, body?.chatType ?? 'private')
      return { result, status: await telegram.status(params.shopId) }
    },
    {
      params: ShopParams,
      body: z.object({ chatType: z.enum(['private', 'group']).optional() }).optional(),
      response: { 200: z.object({ result: z.string(), status: StatusSchema }), ...errors },
      detail: {
        summary: 'Demo only (TELEGRAM_MODE=mock): act as if the owner pressed the connect link',
        description: 'Feeds `/start <code>` from a made-up chat through the same onboarding code a real update takes. 409 in real mode.',
      },
    },
  )

/**
 * Telegram's side: `POST /telegram/webhook/<webhookId>`. The id is random and public (it is in the
 * webhook URL and so in access logs), the `X-Telegram-Bot-Api-Secret-Token` header is the proof.
 * Any well-authenticated update gets 200 quickly, even one we do not understand, so Telegram does
 * not redeliver it forever.
 */
export const webhookRoutes = (router: UpdateRouter, sql: Sql, log: Logger) =>
  new Elysia({ name: 'telegram-webhook', detail: { tags: ['Telegram'] } }).post(
    '/telegram/webhook/:webhookId',
    async ({ params, body, request, set }) => {
      const integration = /^[A-Za-z0-9_-]{8,64}$/.test(params.webhookId) ? await findIntegrationByWebhookId(sql, params.webhookId) : null
      const secret = request.headers.get('x-telegram-bot-api-secret-token') ?? ''
      if (!integration || !secret || !safeEqual(sha256(secret), integration.webhook_secret_hash)) {
        set.status = 401
        return errorBody('unauthorized', 'Unknown webhook or wrong X-Telegram-Bot-Api-Secret-Token')
      }
      const update = body as TgUpdate
      if (!update || typeof update !== 'object' || !Number.isSafeInteger(update.update_id)) return { ok: true, result: 'ignored' }
      const result = await router.handle(integration, update)
      log.debug('webhook_update', { shopId: integration.shop_id, updateId: update.update_id, result })
      return { ok: true, result }
    },
    {
      params: z.object({ webhookId: z.string().max(100) }),
      parse: 'json',
      body: z.unknown(),
      detail: { summary: 'Telegram webhook (secret-token checked)', description: 'Called by Telegram, not by integrators.' },
    },
  )
