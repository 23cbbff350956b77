import { Elysia } from 'elysia'
import { isLoopback } from '../../config'
import { errorBody } from './errors'

/**
 * Open mode (no ADMIN_TOKEN) trusts whoever reaches the port, which is meant to be this machine only.
 * A web page in the developer's browser can reach it too: through DNS rebinding (a hostile name that
 * resolves to 127.0.0.1, so the Host header is that name) or a cross-site request (its Origin is the
 * page's). Both are refused: the Host must be loopback (or PUBLIC_URL's host, for a tunnel) and an
 * Origin, when sent, must be one of those too.
 */
export function openModeAllows(request: Request, publicUrl: string | undefined): { ok: true } | { ok: false; what: 'host' | 'origin' } {
  const allowedHost = (host: string) => isLoopback(host) || (!!publicUrl && host === new URL(publicUrl).hostname.toLowerCase())
  const host = hostnameOf(request.headers.get('host') ?? new URL(request.url).host)
  if (host === null || !allowedHost(host)) return { ok: false, what: 'host' }
  const origin = request.headers.get('origin')
  if (origin !== null) {
    let originHost: string | null = null
    try {
      originHost = new URL(origin).hostname.toLowerCase()
    } catch {}
    if (originHost === null || !allowedHost(originHost)) return { ok: false, what: 'origin' }
  }
  return { ok: true }
}

/** `localhost:3000` → `localhost`, `[::1]:3000` → `::1`; null when it is not a host. */
function hostnameOf(hostHeader: string): string | null {
  try {
    return new URL(`http://${hostHeader}`).hostname.toLowerCase()
  } catch {
    return null
  }
}

/** Registered only without ADMIN_TOKEN. */
export const openModeGuard = (p: { publicUrl: string | undefined }) =>
  new Elysia({ name: 'open-mode-guard' }).onRequest(({ request, set }) => {
    const r = openModeAllows(request, p.publicUrl)
    if (r.ok) return
    set.status = 403
    set.headers['content-type'] = 'application/json; charset=utf-8'
    return r.what === 'host'
      ? errorBody('forbidden_host', 'Without ADMIN_TOKEN the service answers only requests addressed to this machine (Host: localhost or 127.0.0.1)')
      : errorBody('forbidden_origin', 'Without ADMIN_TOKEN the service answers no request sent by a page of another site')
  })
