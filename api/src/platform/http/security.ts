import { Elysia } from 'elysia'

/**
 * Security headers on every answer, the page's and the API's. The page loads only its own scripts
 * (the API docs' viewer is self-hosted too), so an injected inline script does not run; it may be framed
 * only by the platform's admin (`FRAME_ANCESTORS`), which shows it in an iframe.
 */
export function contentSecurityPolicy(path: string, frameAncestors: string): string {
  // Scalar (/swagger) styles itself inline; nothing else needs inline styles or any inline script.
  const style = path.startsWith('/swagger') ? "'self' 'unsafe-inline'" : "'self'"
  return [
    "default-src 'self'",
    "script-src 'self'",
    `style-src ${style}`,
    "img-src 'self' data: blob:",
    "font-src 'self' data:",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    `frame-ancestors ${frameAncestors}`,
  ].join('; ')
}

/**
 * Telegram Web (web.telegram.org, both its clients) shows a Mini App in an iframe: the page must let it
 * frame it, or «Заказы» opens blank there. The apps on phones and desktops use a web view, not a frame.
 */
export const TELEGRAM_WEB = 'https://web.telegram.org'

/** `'self'`, Telegram Web and the platform's admin (FRAME_ANCESTORS), once each. */
export function frameAncestorsOf(configured: string | undefined): string {
  return [...new Set(["'self'", TELEGRAM_WEB, ...(configured ?? '').split(/\s+/).filter(Boolean)])].join(' ')
}

export const securityHeaders = (p: { frameAncestors: string | undefined }) =>
  new Elysia({ name: 'security-headers' }).onRequest(({ request, set }) => {
    const path = new URL(request.url).pathname
    set.headers['content-security-policy'] = contentSecurityPolicy(path, frameAncestorsOf(p.frameAncestors))
    set.headers['x-content-type-options'] = 'nosniff'
    // The page's URL carries a launch token in its fragment (never sent) and shop ids in its path: send neither.
    set.headers['referrer-policy'] = 'no-referrer'
  })
