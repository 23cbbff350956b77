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
    .union([
      z.string().trim().regex(CHAT_ID_RE, 'must be an integer (negative for groups) or a @channelusername'),
      z
        .number()
        .int()
        .refine((n) => Number.isSafeInteger(n), 'is too large for a JSON number: send it as a string'),
    ])
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
  connectLinkPurpose: z
    .enum(['owner', 'recipient'])
    .nullable()
    .describe('owner: opened in a private chat, the link also makes that person the shop’s owner in Telegram'),
  createdAt: z.string(),
  updatedAt: z.string(),
})

export const State = z.enum(['not_connected', 'waiting_chat', 'active', 'paused', 'failing'])

export const StatusSchema = z.object({
  state: State,
  deliveryLagSeconds: z.number().describe('Age of the oldest due notification (0 when none waits): above Telegram’s limits messages queue, none is lost'),
  mode: z
    .enum(['real', 'mock'])
    .describe('`mock` (TELEGRAM_MODE=mock): nothing reaches Telegram, messages are recorded (GET …/telegram/mock-messages); `real`: the Bot API'),
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
  connectLink: z.string().nullable().describe('Only for the owner and the operator; null for an API key or a manager'),
  connectGroupLink: z.string().nullable(),
  connectLinkPurpose: z.enum(['owner', 'recipient']).nullable(),
  ownerInTelegram: z.boolean().describe('true once the owner bound their private chat with an owner link'),
  webhook: z.boolean().describe('true when updates arrive by webhook (PUBLIC_URL), false when polled'),
  miniApp: z.boolean().describe('true when the bot opens the shop page inside Telegram (an https PUBLIC_URL): the «Заказы» button, managers'),
  managed: z.boolean().describe('true when the bot was created through the platform’s manager bot (its token can be rotated: POST …/telegram/rotate-token)'),
  canCreateBot: z
    .boolean()
    .describe('true when a manager bot is configured (MANAGER_BOT_TOKEN): POST …/telegram/managed-link creates the shop’s bot in one tap'),
  updatedAt: z.string().nullable(),
})
export type Status = z.infer<typeof StatusSchema>

/** What a chat is for: the shop's staff get every notification, couriers only delivery cards. */
export const ROLES = ['staff', 'courier'] as const
export type Role = (typeof ROLES)[number]

export const EVENTS = ['order_created', 'order_status', 'order_cancelled', 'delivery_reminder', 'daily_summary'] as const
const HHMM = z.string().regex(/^([01][0-9]|2[0-3]):[0-5][0-9]$/, 'must be HH:MM (00:00–23:59)')
const ChatIdInput = z
  .union([
    z.string().trim().regex(CHAT_ID_RE, 'must be an integer (negative for groups) or a @channelusername'),
    z
      .number()
      .int()
      .refine((n) => Number.isSafeInteger(n), 'is too large for a JSON number: send it as a string'),
  ])
  .transform((v) => String(v))
  .refine((v) => CHAT_ID_RE.test(v), 'must be an integer (negative for groups) or a @channelusername')

/** What a recipient can be told (POST creates with these, PATCH changes any of them). */
export const RecipientBody = z.object({
  chatId: ChatIdInput.optional().describe('Integer-like (negative for groups) or @channelusername'),
  threadId: z.number().int().min(1).max(2_147_483_647).nullable().optional().describe('Forum topic (message_thread_id); null for the chat itself'),
  events: z
    .array(z.enum(EVENTS))
    .max(5)
    .transform((e) => [...new Set(e)])
    .optional()
    .describe('Which events send a message to this chat; omitted on create → all'),
  quietHours: z
    .object({ from: HHMM, to: HHMM })
    .refine((q) => q.from !== q.to, 'from and to must differ')
    .nullable()
    .optional()
    .describe('In the shop’s time zone; inside it messages go silently (disable_notification), never later'),
  enabled: z.boolean().optional(),
  role: z
    .enum(ROLES)
    .optional()
    .describe('staff (default): every notification; courier: only delivery cards, without the total, prices or the buyer’s name and phone'),
})
export type RecipientInput = z.infer<typeof RecipientBody>

export const RecipientSchema = z.object({
  id: z.number(),
  chatId: z.string().describe('Masked'),
  title: z.string().nullable(),
  type: z.string().nullable(),
  threadId: z.number().nullable(),
  events: z.array(z.enum(EVENTS)),
  quietHours: z.object({ from: z.string(), to: z.string() }).nullable(),
  enabled: z.boolean(),
  role: z.enum(ROLES).describe('staff: every notification; courier: delivery cards only (a courier chat has no events)'),
  state: z
    .enum(['active', 'paused', 'failing', 'removed'])
    .describe('failing: the last send failed (see lastErrorCode); removed: the bot was removed from the chat'),
  lastSentAt: z.string().nullable(),
  lastError: z.string().nullable(),
  lastErrorCode: z.string().nullable(),
})
export type Recipient = z.infer<typeof RecipientSchema>
