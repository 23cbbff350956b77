/**
 * The client side of the suite: one `call` for every request (each response body is kept for the
 * secrets check), a POS-like order poster that retries what a real POS would retry, a small worker
 * pool and percentiles.
 */
export const allBodies: string[] = []

export type Res = { status: number; text: string; json: unknown; ms: number; at: number; path: string; error?: string }

export async function call(
  base: string,
  method: string,
  path: string,
  opts: { body?: string; headers?: Record<string, string>; timeoutMs?: number } = {},
): Promise<Res> {
  const t0 = performance.now()
  const at = Date.now()
  try {
    const r = await fetch(base + path, {
      method,
      headers: opts.headers,
      body: opts.body,
      signal: AbortSignal.timeout(opts.timeoutMs ?? 15_000),
    })
    const text = await r.text()
    allBodies.push(text)
    let json: unknown
    try {
      json = JSON.parse(text)
    } catch {}
    return { status: r.status, text, json, ms: performance.now() - t0, at, path }
  } catch (err) {
    const e = err as { code?: string; name?: string; message?: string }
    return { status: 0, text: '', json: undefined, ms: performance.now() - t0, at, path, error: e.code ?? e.name ?? String(e.message) }
  }
}

export const jsonHeaders = (auth?: string): Record<string, string> => ({
  'content-type': 'application/json',
  ...(auth ? { authorization: `Bearer ${auth}` } : {}),
})

export type OrderBody = { number: string; total: string | number; customerName: string; [k: string]: unknown }

export type PostOutcome = {
  number: string
  shopId: number
  final: Res | null
  attempts: Res[]
}

/**
 * Posts one order the way a POS does: a connection error, a timeout or a 503 is retried with the
 * same body (idempotent by number) until an answer comes or `deadlineMs` passes; any other answer
 * is final.
 */
export async function postOrder(
  bases: () => string,
  shopId: number,
  body: OrderBody,
  opts: { auth?: string; deadlineMs?: number; timeoutMs?: number; onAttempt?: (r: Res) => void; shouldStop?: () => boolean } = {},
): Promise<PostOutcome> {
  const attempts: Res[] = []
  const until = Date.now() + (opts.deadlineMs ?? 120_000)
  const payload = JSON.stringify(body)
  for (let i = 0; ; i++) {
    const r = await call(bases(), 'POST', `/shops/${shopId}/orders`, { body: payload, headers: jsonHeaders(opts.auth), timeoutMs: opts.timeoutMs ?? 15_000 })
    attempts.push(r)
    opts.onAttempt?.(r)
    const retry = r.status === 0 || r.status === 503
    if (!retry) return { number: body.number, shopId, final: r, attempts }
    if (Date.now() > until || opts.shouldStop?.()) return { number: body.number, shopId, final: null, attempts }
    await Bun.sleep(Math.min(1000, 50 * 2 ** Math.min(i, 4)) * (0.5 + Math.random()))
  }
}

/** Runs `fn` over `items` with at most `concurrency` in flight. */
export async function pool<T, R>(items: T[], concurrency: number, fn: (item: T, i: number) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length)
  let next = 0
  await Promise.all(
    Array.from({ length: Math.min(concurrency, items.length) }, async () => {
      for (let i = next++; i < items.length; i = next++) out[i] = await fn(items[i]!, i)
    }),
  )
  return out
}

export function pct(values: number[], p: number): number {
  if (values.length === 0) return NaN
  const s = [...values].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!
}

export const r0 = (n: number) => Math.round(n)
export const r1 = (n: number) => Math.round(n * 10) / 10

/** Polls `check` until it returns true or `timeoutMs` passes; returns the time it took (or -1). */
export async function waitFor(check: () => Promise<boolean>, timeoutMs: number, everyMs = 250): Promise<number> {
  const t0 = Date.now()
  while (Date.now() - t0 < timeoutMs) {
    if (await check().catch(() => false)) return Date.now() - t0
    await Bun.sleep(everyMs)
  }
  return -1
}

export function shuffle<T>(a: T[], random: () => number = Math.random): T[] {
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1))
    ;[a[i], a[j]] = [a[j]!, a[i]!]
  }
  return a
}
