import { Elysia } from 'elysia'
import { z } from 'zod'
import { actorOf, principalOf } from '../platform/http/auth'
import { ErrorSchema, Id } from '../platform/http/schemas'
import { ConnectBody, IntegrationSchema, StatusSchema } from './schema'
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
