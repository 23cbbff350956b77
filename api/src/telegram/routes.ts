import { Elysia } from 'elysia'
import { z } from 'zod'
import { actorOf, principalOf, safeEqual } from '../http/auth'
import { errorBody } from '../http/errors'
import type { Logger } from '../log'
import { ErrorSchema, Id } from '../shops/schema'
import type { TgUpdate } from './client'
import type { Onboarding } from './onboarding'
import { findIntegrationByWebhookId } from './repository'
import { ConnectBody, IntegrationSchema, StatusSchema } from './schema'
import { sha256 } from './secrets'
import type { TelegramService } from './service'

const ShopParams = z.object({ shopId: Id })
const errors = { 400: ErrorSchema, 404: ErrorSchema, 409: ErrorSchema, 422: ErrorSchema }

export const telegramRoutes = (telegram: TelegramService, onboarding: Onboarding) =>
  new Elysia({ name: 'telegram', detail: { tags: ['Telegram'] } })
    .post('/shops/:shopId/telegram/connect', ({ params, body, request }) => telegram.connect(params.shopId, body, actorOf(principalOf(request))), {
      params: ShopParams,
      body: ConnectBody,
      response: { 200: IntegrationSchema, ...errors, 503: ErrorSchema },
      detail: {
        summary: 'Connect (or update) the shop’s bot',
        description:
          'Upsert by shop. The token is checked with getMe and stored encrypted; the answer carries it masked only. `botToken` may be omitted after the first connect. `chatId` may be omitted: the owner then opens `connectLink` and the bot captures the chat on /start. 422 when Telegram refuses the token, 503 when Telegram cannot be reached (nothing is stored in either case).',
      },
    })
    .get('/shops/:shopId/telegram/status', ({ params }) => telegram.status(params.shopId), {
      params: ShopParams,
      response: { 200: StatusSchema, 400: ErrorSchema, 404: ErrorSchema },
      detail: { summary: 'Integration state, masked chat, last sent, 7-day counts, last error, connect link' },
    })
    .post('/shops/:shopId/telegram/test', ({ params }) => telegram.sendTest(params.shopId), {
      params: ShopParams,
      response: { 200: z.object({ sent: z.boolean(), error: z.string().nullable(), mock: z.boolean() }), ...errors },
      detail: { summary: 'Send a test message to the bound chat', description: '200 with `sent: false` and the reason when Telegram refused; 409 when no chat is bound yet.' },
    })
    .post('/shops/:shopId/telegram/link', ({ params, request }) => telegram.newLink(params.shopId, actorOf(principalOf(request))), {
      params: ShopParams,
      response: { 200: IntegrationSchema, ...errors },
      detail: { summary: 'Issue a fresh one-time t.me connect link (e.g. to move to another chat)' },
    })
    .post(
      '/shops/:shopId/telegram/mock/start',
      async ({ params, body }) => {
        const integration = await telegram.requireMockIntegration(params.shopId)
        const result = await onboarding.simulateStart(integration, body?.chatType ?? 'private')
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
export const webhookRoutes = (onboarding: Onboarding, sql: import('../db/client').Sql, log: Logger) =>
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
      const result = await onboarding.handle(integration, update)
      log.debug('webhook_update', { shopId: integration.shop_id, updateId: update.update_id, result })
      return { ok: true, result }
    },
    {
      params: z.object({ webhookId: z.string().max(100) }),
      body: z.unknown(),
      detail: { summary: 'Telegram webhook (secret-token checked)', description: 'Called by Telegram, not by integrators.' },
    },
  )
