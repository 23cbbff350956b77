/**
 * What a request body and its strings may be. The API speaks JSON only: a body of any other type
 * would be parsed by rules nobody reviewed (form bodies, `text/plain` read as JSON), and a page on
 * another origin can send those without a CORS preflight. Strings that PostgreSQL or Telegram cannot
 * store or send (NUL, lone UTF-16 surrogates) are refused up front instead of failing deep inside.
 */

/** `application/json` and `application/<something>+json`, with any parameters (charset). */
export function isJsonContentType(contentType: string | null): boolean {
  if (!contentType) return false
  const type = contentType.split(';', 1)[0]!.trim().toLowerCase()
  return type === 'application/json' || /^application\/[a-z0-9.+-]+\+json$/.test(type)
}

/** True when the request carries a body (a length above 0, or a stream of unknown length). */
export function hasBody(request: Request): boolean {
  const len = request.headers.get('content-length')
  if (len !== null) return Number(len) > 0
  return request.body !== null
}

/** NUL, or a UTF-16 surrogate without its pair (what `\ud800` in JSON decodes to). */
const FORBIDDEN = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/

/** The path (`items.0.name`) of the first string (or key) holding a forbidden character, or null. */
export function forbiddenCharacterAt(value: unknown, path = '', depth = 0): string | null {
  if (typeof value === 'string') return FORBIDDEN.test(value) ? path || '(value)' : null
  if (value === null || typeof value !== 'object' || depth > 64) return null
  for (const [k, v] of Object.entries(value)) {
    const at = path ? `${path}.${k}` : k
    if (FORBIDDEN.test(k)) return at
    const found = forbiddenCharacterAt(v, at, depth + 1)
    if (found) return found
  }
  return null
}
