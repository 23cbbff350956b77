import { z } from 'zod'
import { ERROR_CODES_DOC } from '../bot-api'

/** `<bot id>:<secret>` as BotFather issues it; checked before Telegram is asked. */
export const BOT_TOKEN_RE = /^\d{3,20}:[A-Za-z0-9_-]{30,64}$/
export const CHAT_ID_RE = /^(-?[1-9][0-9]{0,19}|@[A-Za-z][A-Za-z0-9_]{3,63})$/

export const ConnectBody = z.object({
  botToken: z
    .string()
    .trim()
    .regex(BOT_TOKEN_RE, 'must look like 123456789:AA… (the token from @BotFather)')
    .optional()
    .describe('Required on the first connect; omit to keep the stored token'),
  chatId: z
    .union([z.string().trim().regex(CHAT_ID_RE, 'must be an integer (negative for groups) or a @channelusername'), z.number().int().refine((n) => Number.isSafeInteger(n), 'is too large for a JSON number: send it as a string')])
    .transform((v) => String(v))
    .refine((v) => CHAT_ID_RE.test(v), 'must be an integer (negative for groups) or a @channelusername')
    .optional()
    .nullable()
    .describe('Optional: captured by /start during onboarding. Integer-like (negative for groups) or @channelusername'),
  enabled: z.boolean(),
})
export type ConnectInput = z.infer<typeof ConnectBody>

export const IntegrationSchema = z.object({
  shopId: z.number(),
  botUsername: z.string(),
  botToken: z.string().describe('Masked, e.g. 123456:AA…xyz; never the full token'),
  chatId: z.string().nullable().describe('Masked'),
  enabled: z.boolean(),
  connectLink: z.string().nullable(),
  connectGroupLink: z.string().nullable(),
  createdAt: z.string(),
  updatedAt: z.string(),
})

export const State = z.enum(['not_connected', 'waiting_chat', 'active', 'paused', 'failing'])

export const StatusSchema = z.object({
  state: State,
  mode: z.enum(['real', 'mock']),
  enabled: z.boolean(),
  botUsername: z.string().nullable(),
  botToken: z.string().nullable().describe('Masked'),
  chatId: z.string().nullable().describe('Masked'),
  chatTitle: z.string().nullable(),
  chatType: z.string().nullable(),
  botInChat: z.boolean().nullable().describe('false once Telegram reported the bot removed or blocked'),
  lastSentAt: z.string().nullable(),
  sentCount: z.number().describe('Last 7 days'),
  failedCount: z.number().describe('Last 7 days'),
  lastError: z.string().nullable(),
  lastErrorCode: z.string().nullable().describe(ERROR_CODES_DOC),
  lastErrorAt: z.string().nullable(),
  connectLink: z.string().nullable(),
  connectGroupLink: z.string().nullable(),
  webhook: z.boolean().describe('true when updates arrive by webhook (PUBLIC_URL), false when polled'),
  updatedAt: z.string().nullable(),
})
export type Status = z.infer<typeof StatusSchema>
