import postgres from 'postgres'

export type Sql = postgres.Sql<{}>

/**
 * The one postgres.js pool of the process. Short connect timeout: when the database is gone a request
 * fails fast with 503 instead of hanging; postgres.js reconnects by itself once it is back.
 *
 * `backoff` is capped at one second: postgres.js' default grows with a retry counter shared by the
 * whole pool (3^n/100 s, up to 20 s), and a query handed to a connection that is waiting out that
 * delay waits with it — after a database restart requests hung for 10–20 s and the dispatcher
 * stalled (found by the chaos suite; `patches/postgres@3.4.9.patch` fixes the crash half).
 */
export function createSql(url: string, opts: { max?: number } = {}): Sql {
  return postgres(url, {
    max: opts.max ?? 20,
    connect_timeout: 3,
    idle_timeout: 30,
    backoff: (attempt: number) => Math.min(0.05 * 2 ** attempt, 1),
    max_lifetime: 60 * 30,
    onnotice: () => {},
    connection: { application_name: 'posiflora-telegram' },
  })
}

/** True when the error means "the database cannot be reached", as opposed to a bad statement. */
export function isDatabaseUnavailable(err: unknown): boolean {
  if (!err || typeof err !== 'object') return false
  const e = err as { code?: string; errno?: string }
  const code = e.code ?? e.errno ?? ''
  return (
    [
      'ECONNREFUSED',
      'ECONNRESET',
      'ETIMEDOUT',
      'EPIPE',
      'ENOTFOUND',
      'CONNECTION_CLOSED',
      'CONNECTION_ENDED',
      'CONNECTION_DESTROYED',
      'CONNECT_TIMEOUT',
      'ConnectionRefused',
      'ConnectionClosed',
    ].includes(code) ||
    code.startsWith('08') || // connection exception class
    code === '57P01' ||
    code === '57P02' ||
    code === '57P03' // admin shutdown, crash shutdown, cannot connect now
  )
}
