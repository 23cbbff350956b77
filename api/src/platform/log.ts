/**
 * One JSON line per event. Every line passes through `redact`, so a bot token that slipped into an
 * error message (grammY builds `/bot<token>/method` URLs) never reaches the output.
 */
type Level = 'debug' | 'info' | 'warn' | 'error'
const order: Record<Level | 'silent', number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 }

/**
 * Every secret shape this service accepts or issues: bot tokens as connect accepts them (a 3–20 digit id,
 * a 30+ character secret), our API keys and owner sessions (`pfk_…`, `pfs_…`), and JWTs (launch tokens).
 */
const SECRET_RES: [RegExp, string][] = [
  [/\d{3,20}:[A-Za-z0-9_-]{30,}/g, '<redacted-token>'],
  [/\bpf[ks]_[A-Za-z0-9_-]{8,}/g, '<redacted-credential>'],
  [/\beyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*/g, '<redacted-jwt>'],
  // a password inside a connection string
  [/(postgres(?:ql)?:\/\/[^:/@\s]*):[^@\s]*@/gi, '$1:***@'],
]

/** Replaces anything shaped like a secret, wherever it stands in a string. */
export function redact(text: string): string {
  let out = text
  for (const [re, by] of SECRET_RES) out = out.replace(re, by)
  return out
}

export type Logger = {
  debug(event: string, fields?: Record<string, unknown>): void
  info(event: string, fields?: Record<string, unknown>): void
  warn(event: string, fields?: Record<string, unknown>): void
  error(event: string, fields?: Record<string, unknown>): void
}

export function createLogger(level: Level | 'silent' = 'info', write: (line: string) => void = (l) => process.stdout.write(l + '\n')): Logger {
  const min = order[level]
  const emit = (lvl: Level, event: string, fields?: Record<string, unknown>) => {
    if (order[lvl] < min) return
    const line = JSON.stringify({ t: new Date().toISOString(), level: lvl, event, ...fields }, (_k, v) =>
      v instanceof Error ? redact(v.message) : typeof v === 'bigint' ? v.toString() : v,
    )
    write(redact(line))
  }
  return {
    debug: (e, f) => emit('debug', e, f),
    info: (e, f) => emit('info', e, f),
    warn: (e, f) => emit('warn', e, f),
    error: (e, f) => emit('error', e, f),
  }
}
