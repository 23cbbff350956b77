import { createHash, timingSafeEqual } from 'node:crypto'
import { Elysia } from 'elysia'
import { errorBody } from './errors'

const digest = (s: string) => createHash('sha256').update(s).digest()

/** Constant-time comparison (of digests, so lengths leak nothing either). */
export function safeEqual(a: string, b: string): boolean {
  return timingSafeEqual(digest(a), digest(b))
}

/** The settings page itself loads without a token; the API it calls does not. */
const PAGE_RE = /^\/shops\/[^/]+\/growth\/telegram\/?$/

/**
 * Bearer auth for every `/shops/…` API route when ADMIN_TOKEN is set. Checked before routing, so an
 * unknown route under /shops answers 401 to a stranger rather than revealing what exists.
 */
export const bearerAuth = (adminToken: string | undefined) =>
  new Elysia({ name: 'bearer-auth' }).onRequest(({ request, set }) => {
    if (!adminToken) return
    const path = new URL(request.url).pathname
    if (!path.startsWith('/shops/')) return
    if (request.method === 'GET' && PAGE_RE.test(path)) return
    const header = request.headers.get('authorization') ?? ''
    const m = /^Bearer\s+(.+)$/i.exec(header)
    if (m && safeEqual(m[1]!.trim(), adminToken)) return
    set.status = 401
    set.headers['content-type'] = 'application/json; charset=utf-8'
    set.headers['www-authenticate'] = 'Bearer'
    return errorBody('unauthorized', 'A valid "Authorization: Bearer <ADMIN_TOKEN>" header is required')
  })
