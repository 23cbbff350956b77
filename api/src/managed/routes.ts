import { Elysia } from 'elysia'
import { z } from 'zod'
import type { TgUpdate } from '../bot-api'
import { StatusSchema, type TelegramService } from '../connect'
import { actorOf, principalOf, safeEqual } from '../platform/http/auth'
import { errorBody } from '../platform/http/errors'
import { ErrorSchema, Id } from '../platform/http/schemas'
import type { Logger } from '../platform/log'
import type { ManagedBotService } from './service'

const ShopParams = z.object({ shopId: Id })
const errors = { 400: ErrorSchema, 404: ErrorSchema, 409: ErrorSchema, 422: ErrorSchema }

/** One tap to a bot: the owner's link to the manager bot, token rotation, and the demo of Telegram's part. */
export const managedRoutes = (managed: ManagedBotService, telegram: TelegramService) =>
  new Elysia({ name: 'telegram-managed', detail: { tags: ['Telegram'] } })
    .post(
      '/shops/:shopId/telegram/managed-link',
      async ({ params, request, set }) => {
        const link = await managed.createLink(params.shopId, actorOf(principalOf(request)))
        set.status = 201
        return link
      },
      {
        params: ShopParams,
        response: { 201: z.object({ url: z.string(), expiresAt: z.string() }), ...errors, 503: ErrorSchema },
        detail: {
          summary: 'A one-time link to the platform’s manager bot that creates the shop’s bot in one tap',
          description:
            '`url` is `https://t.me/<manager bot>?start=<code>`, valid for 30 minutes and for one person: the first who opens it gets a «Создать бота» button (`request_managed_bot`); the bot they create is connected to the shop as a pasted token would be (`status.managed` becomes true) and they get a button that opens it with its connect link. 409 `managed_bots_off` without MANAGER_BOT_TOKEN, 409 `manager_bot_rejected` when Telegram refuses the manager bot, 503 when Telegram cannot be reached.',
        },
      },
    )
    .post('/shops/:shopId/telegram/rotate-token', ({ params, request }) => managed.rotate(params.shopId, actorOf(principalOf(request))), {
      params: ShopParams,
      response: { 200: z.object({ botUsername: z.string(), rotatedAt: z.string() }), ...errors, 503: ErrorSchema },
      detail: {
        summary: 'Replace the token of a bot created through the manager bot',
        description:
          'Telegram revokes the old token and issues a new one (`replaceManagedBotToken`); it is stored encrypted and used from the next call on. 409 `not_managed` for a pasted token (rotate it in @BotFather and connect the new one), 409 `not_connected` without a bot.',
      },
    })
    .post(
      '/shops/:shopId/telegram/mock/managed-bot',
      async ({ params }) => {
        const result = await managed.simulate(params.shopId)
        return { ...result, status: await telegram.status(params.shopId) }
      },
      {
        params: ShopParams,
        response: { 200: z.object({ start: z.string(), created: z.string(), status: StatusSchema }), ...errors },
        detail: {
          summary: 'Demo only (TELEGRAM_MODE=mock): act as if the owner opened the managed link and created the bot',
          description:
            'Plays Telegram’s part for the shop’s latest live managed link: `/start <code>` from a made-up person, then the `managed_bot` update for the bot they created, through the same code real updates take. The owner’s chat is then bound with `POST …/telegram/mock/start`. 409 in real mode.',
        },
      },
    )

/**
 * Telegram's side for the manager bot: `POST /telegram/manager-webhook/<id>`, the id and the
 * `X-Telegram-Bot-Api-Secret-Token` header both derived from MANAGER_BOT_TOKEN.
 */
export const managerWebhookRoutes = (managed: ManagedBotService, log: Logger) =>
  new Elysia({ name: 'telegram-manager-webhook', detail: { tags: ['Telegram'] } }).post(
    '/telegram/manager-webhook/:webhookId',
    async ({ params, body, request, set }) => {
      const secret = request.headers.get('x-telegram-bot-api-secret-token') ?? ''
      if (!managed.manager.isWebhook(params.webhookId, secret, safeEqual)) {
        set.status = 401
        return errorBody('unauthorized', 'Unknown webhook or wrong X-Telegram-Bot-Api-Secret-Token')
      }
      const update = body as TgUpdate
      if (!update || typeof update !== 'object' || !Number.isSafeInteger(update.update_id)) return { ok: true, result: 'ignored' }
      const result = await managed.handle(update)
      log.debug('manager_webhook_update', { updateId: update.update_id, result })
      return { ok: true, result }
    },
    {
      params: z.object({ webhookId: z.string().max(100) }),
      parse: 'json',
      body: z.unknown(),
      detail: { summary: 'The manager bot’s Telegram webhook (secret-token checked)', description: 'Called by Telegram, not by integrators.' },
    },
  )
