import { Elysia } from 'elysia'
import { z } from 'zod'
import { MockClient, type TelegramClient } from '../bot-api'
import type { TokenCipher } from '../platform/crypto'
import type { Sql } from '../platform/db/client'
import { Conflict } from '../platform/http/errors'
import { ErrorSchema, Id } from '../platform/http/schemas'
import { getShopOr404 } from '../platform/shops'
import { findIntegration } from './repository'
import { safeDecrypt } from './service'

/** At most this many calls are answered (the mock keeps 200 per bot). */
const MAX_LIMIT = 200

const ButtonSchema = z.object({
  text: z.string(),
  url: z.string().optional(),
  webApp: z.string().optional(),
  callbackData: z.string().optional(),
})

export const MockMessageSchema = z.object({
  method: z
    .string()
    .describe('sendMessage (a new message), editMessageText (a message changed in place) or answerCallbackQuery (a toast after a button press)'),
  chatId: z.string().nullable(),
  threadId: z.number().nullable().describe('Forum topic, when the chat has one'),
  messageId: z.number().nullable(),
  text: z.string().describe('Telegram HTML, as it would have been sent'),
  buttons: z.array(z.array(ButtonSchema)).describe('The inline keyboard, row by row'),
  silent: z.boolean().describe('Sent without a sound (quiet hours)'),
  at: z.string(),
})
export type MockMessage = z.infer<typeof MockMessageSchema>

/**
 * TELEGRAM_MODE=mock only: what the shop's bot would have sent, newest first, as recorded by the
 * mock client in this process (in memory: a restart or another replica starts empty). So a developer
 * sees what a florist would get without a real bot. 409 `not_mock_mode` in real mode.
 */
export async function listMockMessages(
  deps: { sql: Sql; client: TelegramClient; cipher: TokenCipher },
  shopId: number,
  limit: number,
): Promise<{ mode: 'mock'; items: MockMessage[] }> {
  await getShopOr404(deps.sql, shopId)
  if (!(deps.client instanceof MockClient))
    throw new Conflict('Recorded messages exist only in TELEGRAM_MODE=mock: real messages are in Telegram', 'not_mock_mode')
  const row = await findIntegration(deps.sql, shopId)
  const token = row ? safeDecrypt(deps.cipher, row.bot_token, shopId) : null
  if (!token) return { mode: 'mock', items: [] }
  return {
    mode: 'mock',
    items: deps.client.recorded(token, limit).map((r) => ({
      method: r.method,
      chatId: r.chatId ?? null,
      threadId: r.threadId ?? null,
      messageId: r.messageId ?? null,
      text: r.text ?? '',
      buttons: r.keyboard ?? [],
      silent: !!r.silent,
      at: r.at.toISOString(),
    })),
  }
}

export const mockMessageRoutes = (deps: { sql: Sql; client: TelegramClient; cipher: TokenCipher }) =>
  new Elysia({ name: 'telegram-mock-messages', detail: { tags: ['Telegram'] } }).get(
    '/shops/:shopId/telegram/mock-messages',
    ({ params, query }) => listMockMessages(deps, params.shopId, query.limit ?? 50),
    {
      params: z.object({ shopId: Id }),
      query: z.object({ limit: z.coerce.number().int().min(1).max(MAX_LIMIT).optional() }),
      response: {
        200: z.object({ mode: z.literal('mock'), items: z.array(MockMessageSchema) }),
        400: ErrorSchema,
        404: ErrorSchema,
        409: ErrorSchema,
        422: ErrorSchema,
      },
      detail: {
        summary: 'Demo only (TELEGRAM_MODE=mock): the messages the shop’s bot would have sent, newest first',
        description:
          'What the mock client recorded in this process for the shop’s current bot: text, chat, buttons, time; at most `limit` (default 50, max 200). Kept in memory, so a restart starts empty. 409 `not_mock_mode` in real mode.',
      },
    },
  )
