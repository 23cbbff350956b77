import { z } from 'zod'

/**
 * Every environment variable the service reads, parsed once. Nothing else in the code reads
 * `process.env`, so this file is the whole operator-facing surface (see CONTRACT.md).
 */
const emptyAsUndefined = (v: unknown) => (typeof v === 'string' && v.trim() === '' ? undefined : v)

const httpUrl = z
  .string()
  .url()
  .refine((u) => /^https?:\/\//.test(u), 'must start with http:// or https://')
  .transform((u) => u.replace(/\/+$/, ''))

const intMs = (def: number, min: number, max: number) => z.preprocess(emptyAsUndefined, z.coerce.number().int().min(min).max(max).default(def))

export const EnvSchema = z.object({
  PORT: z.preprocess(emptyAsUndefined, z.coerce.number().int().min(0).max(65535).default(3000)),
  HOST: z.preprocess(
    emptyAsUndefined,
    z
      .string()
      .regex(/^[A-Za-z0-9.:\-[\]]+$/, 'must be a host name or IP address')
      .optional(),
  ),
  DATABASE_URL: z.preprocess(
    emptyAsUndefined,
    z
      .string()
      .regex(/^postgres(ql)?:\/\/\S+$/, 'must be a postgres:// or postgresql:// URL')
      .optional(),
  ),
  ADMIN_TOKEN: z.preprocess(emptyAsUndefined, z.string().min(32, 'must be at least 32 characters (e.g. openssl rand -hex 16)').optional()),
  /** Unset: `real` with NODE_ENV=production, else `mock` (a production start never fakes its sends by accident). */
  TELEGRAM_MODE: z.preprocess(emptyAsUndefined, z.enum(['real', 'mock']).optional()),
  /** `1` seeds the demo shop and its orders on start. Unset: on in development, off with NODE_ENV=production. */
  SEED_DEMO: z.preprocess(emptyAsUndefined, z.enum(['0', '1', 'true', 'false']).optional()),
  TELEGRAM_API_ROOT: z.preprocess(emptyAsUndefined, httpUrl.default('https://api.telegram.org')),
  PUBLIC_URL: z.preprocess(emptyAsUndefined, httpUrl.optional()),
  ENCRYPTION_KEY: z.preprocess(
    emptyAsUndefined,
    z
      .string()
      .refine((k) => decodeKey(k) !== null, 'must be 32 bytes as 64 hex characters or base64')
      .optional(),
  ),
  /** The platform's own bot, with bot management switched on in @BotFather: creates shops' bots in one tap. Unset: that path is off. */
  MANAGER_BOT_TOKEN: z.preprocess(
    emptyAsUndefined,
    z
      .string()
      .trim()
      .regex(/^\d{3,20}:[A-Za-z0-9_-]{30,64}$/, 'must look like 123456789:AA… (the token of the manager bot from @BotFather)')
      .optional(),
  ),
  /** HMAC key shared with the platform that signs owner launch tokens (HS256). */
  PLATFORM_SECRET: z.preprocess(emptyAsUndefined, z.string().min(32, 'must be at least 32 characters').optional()),
  /** Older PLATFORM_SECRET values (comma-separated), still accepted on launch tokens while the platform moves to the new one. */
  PLATFORM_SECRETS_PREVIOUS: z.preprocess(
    emptyAsUndefined,
    z
      .string()
      .refine((v) => v.split(',').every((k) => k.trim().length >= 32), 'must be comma-separated secrets of at least 32 characters each')
      .optional(),
  ),
  /** Per-shop limits (per replica): order intake, other writes (per minute; 0 turns one off), test messages. */
  RATE_LIMIT_ORDERS_PER_MINUTE: intMs(600, 0, 1_000_000),
  RATE_LIMIT_ORDERS_BURST: intMs(120, 1, 1_000_000),
  RATE_LIMIT_WRITES_PER_MINUTE: intMs(120, 0, 1_000_000),
  RATE_LIMIT_WRITES_BURST: intMs(30, 1, 1_000_000),
  TEST_MESSAGE_INTERVAL_MS: intMs(3000, 0, 3_600_000),
  /** Per client address (per replica): POST /session attempts and failed credentials per minute (0 turns one off), and bursts. */
  AUTH_SESSIONS_PER_MINUTE: intMs(30, 0, 1_000_000),
  AUTH_SESSIONS_BURST: intMs(10, 1, 1_000_000),
  AUTH_FAILURES_PER_MINUTE: intMs(20, 0, 1_000_000),
  AUTH_FAILURES_BURST: intMs(10, 1, 1_000_000),
  /** Live pages (server-sent events) this replica holds at most, in all and per shop. */
  LIVE_MAX_STREAMS: intMs(1000, 1, 100_000),
  LIVE_MAX_STREAMS_PER_SHOP: intMs(20, 1, 1000),
  /** Older ENCRYPTION_KEY values (comma-separated), still read until `bun run keys:reencrypt` moves every token. */
  ENCRYPTION_KEYS_PREVIOUS: z.preprocess(
    emptyAsUndefined,
    z
      .string()
      .refine((v) => v.split(',').every((k) => decodeKey(k) !== null), 'must be comma-separated 32-byte keys (64 hex characters or base64)')
      .optional(),
  ),
  DATA_DIR: z.preprocess(emptyAsUndefined, z.string().default('./data')),
  /** Deadline of one Bot API call; the first attempt inside an order request uses it too. */
  TELEGRAM_TIMEOUT_MS: intMs(4000, 100, 60_000),
  /** First retry delay; later ones double (with jitter) up to RETRY_MAX_DELAY_MS. */
  RETRY_BASE_DELAY_MS: intMs(2000, 10, 3_600_000),
  RETRY_MAX_DELAY_MS: intMs(600_000, 10, 86_400_000),
  RETRY_MAX_ATTEMPTS: intMs(12, 1, 100),
  /** Longest sleep of an idle dispatcher; its own process's work and rows committed elsewhere wake it at once. */
  DISPATCH_INTERVAL_MS: intMs(500, 10, 60_000),
  /** Attempts one process keeps in flight (each to a different chat); a send spends most of its time waiting for the Bot API. */
  DISPATCH_CONCURRENCY: intMs(64, 1, 1000),
  /** The dispatcher writes to one chat at most this often (Telegram: ~1 message/s per chat)… */
  TELEGRAM_CHAT_INTERVAL_MS: intMs(1000, 0, 60_000),
  /** …and to a group at most this often (Telegram: ~20 messages/min per group). */
  TELEGRAM_GROUP_INTERVAL_MS: intMs(1000, 0, 600_000),
  /** Messages a group gets within any one minute (Telegram: about 20); 0 turns the window off. */
  TELEGRAM_GROUP_PER_MINUTE: intMs(20, 0, 100),
  /** How often the getUpdates poller asks bots waiting for /start (only without PUBLIC_URL). */
  POLL_INTERVAL_MS: intMs(1500, 10, 60_000),
  /** `production` refuses to start without ENCRYPTION_KEY (a generated key file is a development convenience). */
  NODE_ENV: z.preprocess(emptyAsUndefined, z.string().optional()),
  /** Origins allowed to frame the settings page (the platform's admin), space-separated; CSP frame-ancestors. */
  FRAME_ANCESTORS: z.preprocess(
    emptyAsUndefined,
    z
      .string()
      .regex(/^(('self'|https?:\/\/[A-Za-z0-9.\-:*]+)\s*)+$/, "must be space-separated origins such as https://admin.posiflora.com (or 'self')")
      .optional(),
  ),
  /** Webhook deliveries: one attempt's deadline, the delays before each retry (ms, comma-separated), event retention. */
  WEBHOOK_TIMEOUT_MS: intMs(15_000, 100, 60_000),
  WEBHOOK_RETRY_DELAYS_MS: z.preprocess(
    emptyAsUndefined,
    z
      .string()
      .regex(/^\d{1,9}(,\d{1,9}){0,29}$/, 'must be comma-separated delays in milliseconds')
      .transform((v) => v.split(',').map(Number))
      .optional(),
  ),
  EVENTS_RETENTION_DAYS: intMs(35, 30, 3650),
  LOG_LEVEL: z.preprocess(emptyAsUndefined, z.enum(['debug', 'info', 'warn', 'error', 'silent']).default('info')),
})

export type Env = z.infer<typeof EnvSchema>

export type Config = Omit<Env, 'TELEGRAM_MODE'> & {
  TELEGRAM_MODE: 'real' | 'mock'
  /** SEED_DEMO resolved: seed the demo shop and orders on start. */
  seedDemo: boolean
  /** PLATFORM_SECRETS_PREVIOUS split: launch tokens signed with one of these still verify. */
  previousPlatformSecrets: string[]
  host: string
  encryptionKey: Buffer | null
  previousEncryptionKeys: Buffer[]
}

/** A 32-byte key from 64 hex chars or base64 (standard or url-safe); null when it is neither. */
export function decodeKey(raw: string): Buffer | null {
  const s = raw.trim()
  if (/^[0-9a-fA-F]{64}$/.test(s)) return Buffer.from(s, 'hex')
  if (/^[A-Za-z0-9+/_-]{43}=?$/.test(s)) {
    const buf = Buffer.from(s.replace(/-/g, '+').replace(/_/g, '/'), 'base64')
    if (buf.length === 32) return buf
  }
  return null
}

/** 127.0.0.0/8, ::1 and localhost: addresses only this machine can reach. */
export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase()
  return h === 'localhost' || h === '::1' || /^127(\.\d{1,3}){3}$/.test(h)
}

/** `postgres://user:secret@host/db` → `postgres://user:***@host/db`, also when the URL does not parse. */
export function withoutPassword(url: string): string {
  return url.replace(/^([a-z]+:\/\/[^:/@\s]*):[^@\s]*@/i, '$1:***@')
}

export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    detail: string,
  ) {
    super(`Invalid configuration: ${variable} ${detail}`)
  }
}

/** Parses the environment; throws one ConfigError naming the first bad variable. */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const parsed = EnvSchema.safeParse(env)
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!
    const variable = String(issue.path[0] ?? 'environment')
    const got = env[variable]
    const shown =
      variable === 'ADMIN_TOKEN' ||
      variable === 'MANAGER_BOT_TOKEN' ||
      variable === 'ENCRYPTION_KEY' ||
      variable === 'ENCRYPTION_KEYS_PREVIOUS' ||
      variable === 'PLATFORM_SECRET' ||
      variable === 'PLATFORM_SECRETS_PREVIOUS'
        ? ''
        : variable === 'DATABASE_URL'
          ? ` (got ${JSON.stringify(withoutPassword(got ?? ''))})`
          : ` (got ${JSON.stringify(got)})`
    throw new ConfigError(variable, `${issue.message}${shown}`)
  }
  const e = parsed.data
  const host = e.HOST ?? (e.ADMIN_TOKEN ? '0.0.0.0' : '127.0.0.1')
  // Open mode (no ADMIN_TOKEN) is for a laptop: anyone who can reach the port could read every shop.
  if (!e.ADMIN_TOKEN && !isLoopback(host)) throw new ConfigError('HOST', `${host} is not a loopback address: set ADMIN_TOKEN before listening on the network`)
  if (e.NODE_ENV === 'production' && !e.ENCRYPTION_KEY)
    throw new ConfigError(
      'ENCRYPTION_KEY',
      'is required when NODE_ENV=production (a generated key file lost with its container makes every stored bot token unreadable)',
    )
  const production = e.NODE_ENV === 'production'
  return {
    ...e,
    TELEGRAM_MODE: e.TELEGRAM_MODE ?? (production ? 'real' : 'mock'),
    seedDemo: e.SEED_DEMO === undefined ? !production : e.SEED_DEMO === '1' || e.SEED_DEMO === 'true',
    previousPlatformSecrets: e.PLATFORM_SECRETS_PREVIOUS ? e.PLATFORM_SECRETS_PREVIOUS.split(',').map((k) => k.trim()) : [],
    host,
    encryptionKey: e.ENCRYPTION_KEY ? decodeKey(e.ENCRYPTION_KEY) : null,
    previousEncryptionKeys: e.ENCRYPTION_KEYS_PREVIOUS ? e.ENCRYPTION_KEYS_PREVIOUS.split(',').map((k) => decodeKey(k)!) : [],
  }
}
