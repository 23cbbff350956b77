import { Elysia } from 'elysia'
import { z } from 'zod'
import { actorOf, principalOf, seesLinks } from '../platform/http/auth'
import { Invalid } from '../platform/http/errors'
import { ErrorSchema, Id } from '../platform/http/schemas'
import type { RecipientService } from './recipients'
import {
  getShopSettings,
  previewSummary,
  ShopSettingsPatch,
  ShopSettingsSchema,
  SummaryPreviewQuery,
  SummaryPreviewSchema,
  updateShopSettings,
} from './settings'
import type { Sql } from '../platform/db/client'
import { ConnectBody, IntegrationSchema, RecipientBody, RecipientSchema, StatusSchema } from './schema'
import type { TelegramService } from './service'

const ShopParams = z.object({ shopId: Id })
const errors = { 400: ErrorSchema, 404: ErrorSchema, 409: ErrorSchema, 422: ErrorSchema }

export const connectRoutes = (telegram: TelegramService) =>
  new Elysia({ name: 'telegram', detail: { tags: ['Telegram'] } })
    .post('/shops/:shopId/telegram/connect', ({ params, body, request }) => telegram.connect(params.shopId, body, actorOf(principalOf(request))), {
      params: ShopParams,
      parse: 'json',
      body: ConnectBody,
      response: { 200: IntegrationSchema, ...errors, 503: ErrorSchema },
      detail: {
        summary: 'Connect (or update) the shop’s bot',
        description:
          'Upsert by shop. The token is checked with getMe and stored encrypted; the answer carries it masked only. `botToken` may be omitted after the first connect. `chatId` may be omitted: the owner then opens `connectLink` and the bot captures the chat on /start. 422 when Telegram refuses the token, 503 when Telegram cannot be reached (nothing is stored in either case).',
      },
    })
    .get('/shops/:shopId/telegram/status', ({ params, request }) => telegram.status(params.shopId, { links: seesLinks(principalOf(request)) }), {
      params: ShopParams,
      response: { 200: StatusSchema, 400: ErrorSchema, 404: ErrorSchema },
      detail: {
        summary: 'Integration state, masked chat, last sent, 7-day counts, last error, connect link',
        description: 'The connect link (a one-time start code) is shown to the owner and the operator only: never to an API key or a manager.',
      },
    })
    .post('/shops/:shopId/telegram/test', ({ params }) => telegram.sendTest(params.shopId), {
      params: ShopParams,
      response: { 200: z.object({ sent: z.boolean(), error: z.string().nullable(), mock: z.boolean() }), ...errors },
      detail: {
        summary: 'Send a test message to the bound chat',
        description: '200 with `sent: false` and the reason when Telegram refused; 409 when no chat is bound yet.',
      },
    })
    .post('/shops/:shopId/telegram/link', ({ params, body, request }) => telegram.newLink(params.shopId, actorOf(principalOf(request)), body?.purpose), {
      params: ShopParams,
      body: z
        .object({
          purpose: z
            .enum(['owner', 'recipient'])
            .optional()
            .describe('owner: opened in your own private chat it makes you the shop’s owner in Telegram; default owner while the shop has none'),
        })
        .optional(),
      response: { 200: IntegrationSchema, ...errors },
      detail: { summary: 'Issue a fresh one-time t.me connect link (e.g. to move to another chat, or to bind the owner)' },
    })

const RecipientParams = z.object({ shopId: Id, id: Id })

/** Several chats per shop: the owner, the florists' group (or its topic), the courier. */
export const recipientRoutes = (recipients: RecipientService) =>
  new Elysia({ name: 'telegram-recipients', detail: { tags: ['Telegram'] } })
    .get('/shops/:shopId/telegram/chats', async ({ params }) => ({ items: await recipients.list(params.shopId) }), {
      params: ShopParams,
      response: { 200: z.object({ items: z.array(RecipientSchema) }), 400: ErrorSchema, 404: ErrorSchema },
      detail: { summary: 'The chats the shop’s bot writes to, with their events, topic, quiet hours and state' },
    })
    .post(
      '/shops/:shopId/telegram/chats',
      async ({ params, body, request, set }) => {
        if (!body.chatId) throw new Invalid('chatId is required', [{ path: 'chatId', message: 'required' }], 'validation_failed')
        set.status = 201
        return recipients.add(params.shopId, { ...body, chatId: body.chatId }, actorOf(principalOf(request)))
      },
      {
        params: ShopParams,
        parse: 'json',
        body: RecipientBody,
        response: { 201: RecipientSchema, ...errors },
        detail: {
          summary: 'Add a chat by its id (the connect link’s /start adds one by itself)',
          description: '409 `recipient_exists` for a chat (and topic) already added; 409 `not_connected` without a bot.',
        },
      },
    )
    .patch(
      '/shops/:shopId/telegram/chats/:id',
      ({ params, body, request }) => recipients.update(params.shopId, params.id, body, actorOf(principalOf(request))),
      {
        params: RecipientParams,
        parse: 'json',
        body: RecipientBody,
        response: { 200: RecipientSchema, ...errors },
        detail: {
          summary: 'Change a recipient: events, topic, quiet hours, enabled',
          description: 'The chat itself is never rewritten: a different `chatId` is 422 `chat_id_immutable` (delete the recipient and add the other chat).',
        },
      },
    )
    .delete(
      '/shops/:shopId/telegram/chats/:id',
      async ({ params, request, set }) => {
        await recipients.remove(params.shopId, params.id, actorOf(principalOf(request)))
        set.status = 204
        return null
      },
      { params: RecipientParams, response: { 204: z.null(), 400: ErrorSchema, 404: ErrorSchema }, detail: { summary: 'Stop writing to this chat' } },
    )
    .post('/shops/:shopId/telegram/chats/:id/test', ({ params }) => recipients.sendTest(params.shopId, params.id), {
      params: RecipientParams,
      response: { 200: z.object({ sent: z.boolean(), error: z.string().nullable(), errorCode: z.string().nullable(), mock: z.boolean() }), ...errors },
      detail: {
        summary: 'Send a test message to one recipient',
        description: '200 with `sent: false` and the reason when Telegram refused; the recipient shows it.',
      },
    })

/** The shop's day: time zone, reminder lead time, morning summary time. */
export const settingsRoutes = (sql: Sql, recipients: RecipientService) =>
  new Elysia({ name: 'telegram-settings', detail: { tags: ['Telegram'] } })
    .get('/shops/:shopId/telegram/settings', ({ params }) => getShopSettings(sql, params.shopId), {
      params: ShopParams,
      response: { 200: ShopSettingsSchema, 400: ErrorSchema, 404: ErrorSchema },
      detail: { summary: 'Time zone, reminder lead minutes and summary time (defaults Europe/Moscow, 60, 08:00)' },
    })
    .patch('/shops/:shopId/telegram/settings', ({ params, body, request }) => updateShopSettings(sql, params.shopId, body, actorOf(principalOf(request))), {
      params: ShopParams,
      parse: 'json',
      body: ShopSettingsPatch,
      response: { 200: ShopSettingsSchema, ...errors },
      detail: { summary: 'Change the shop’s time zone, reminder lead minutes or summary time' },
    })
    .get('/shops/:shopId/telegram/summary', ({ params, query }) => previewSummary(sql, params.shopId, query.day), {
      params: ShopParams,
      query: SummaryPreviewQuery,
      response: { 200: SummaryPreviewSchema, 400: ErrorSchema, 404: ErrorSchema },
      detail: {
        summary: 'Preview a morning summary (default: tomorrow’s) as the bot would send it now',
        description: 'Nothing is sent. `text` is Telegram HTML; `sendsAt` is when that day’s summary is due.',
      },
    })
    .post('/shops/:shopId/telegram/summary', ({ params }) => recipients.sendSummaryNow(params.shopId), {
      params: ShopParams,
      response: { 200: z.object({ sent: z.number(), failed: z.number(), deliveries: z.number(), text: z.string() }), ...errors },
      detail: {
        summary: 'Send today’s summary now to the daily_summary chats',
        description: '`sent`: chats it reached; `deliveries`: today’s deliveries in it (the text is returned too).',
      },
    })
