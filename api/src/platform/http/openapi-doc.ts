import { accessOf } from './auth'

type Json = Record<string, any>

const ERROR_REF = {
  description: 'Error: `{error, message, details?}`',
  content: {
    'application/json': {
      schema: { type: 'object', required: ['error', 'message'], properties: { error: { type: 'string' }, message: { type: 'string' }, details: {} } },
    },
  },
}
const STANDARD: Record<string, string> = {
  '400': 'Malformed id, query or JSON',
  '401': 'No credential, or an unknown, revoked or expired one (`unauthorized`, `session_expired`)',
  '403': 'A valid credential of another shop, or of a kind this route does not admit (`forbidden`)',
  '404': 'Unknown shop or resource',
  '413': 'The body is over 64 KiB (`payload_too_large`)',
  '415': 'The body is not JSON (`unsupported_media_type`): send Content-Type: application/json',
  '422': 'The body does not validate (`validation_failed`, with `details`)',
  '429': 'Too many requests for this shop (`rate_limited`, with `Retry-After`)',
}
const INTEGER_PARAMS = new Set(['shopId', 'orderId', 'keyId', 'chatId', 'id', 'telegramUserId', 'sessionId', 'photoId'])
/** Query parameters that are whole numbers (zod's `coerce` documents them as anything). */
const INTEGER_QUERY = new Set(['limit', 'after', 'offset'])

const error = (status: string) => ({ ...ERROR_REF, description: STANDARD[status] ?? ERROR_REF.description })

/**
 * Makes the generated OpenAPI document say what the server does, for every route by construction
 * (routes added later included): the auth, size and rate-limit answers that plugins give before a
 * route runs, integer path ids (a generated client then takes `shopId: 1`), the server and licence.
 */
export function completeDocument(doc: Json, serverUrl: string, extra: { schemas?: Json } = {}): Json {
  doc.info = { ...doc.info, license: { name: 'Proprietary', identifier: 'LicenseRef-Posiflora' } }
  // schemas no route names (e.g. the `data` of each platform event type), for integrators
  if (extra.schemas) doc.components = { ...doc.components, schemas: { ...doc.components?.schemas, ...extra.schemas } }
  doc.servers = [{ url: serverUrl, description: 'this server' }]
  for (const [path, ops] of Object.entries<Json>(doc.paths ?? {})) {
    const concrete = path.replace(/\{[^}]+\}/g, '1')
    for (const [method, op] of Object.entries<Json>(ops)) {
      if (typeof op !== 'object' || !op) continue
      op.responses ??= {}
      const access = accessOf(method.toUpperCase(), concrete)
      const add = (status: string) => (op.responses[status] ??= error(status))
      if (access !== 'public') {
        add('401')
        add('403')
      }
      if (op.requestBody) {
        // JSON only (any other body is 415): document just that
        const content = op.requestBody.content ?? {}
        op.requestBody.content = { 'application/json': content['application/json'] ?? Object.values<Json>(content)[0] ?? { schema: {} } }
        add('415')
        add('413')
        add('400')
        if (!path.startsWith('/telegram/webhook/')) add('422')
      }
      if ((/^\/shops\/\{shopId\}/.test(path) && method !== 'get') || path === '/session') add('429')
      if (/\{shopId\}/.test(path)) {
        add('400')
        add('404')
      }
      for (const [status, r] of Object.entries<Json>(op.responses)) if (/^[45]/.test(status) && !r.content) op.responses[status] = error(status)
      if (op.responses['204']) op.responses['204'] = { description: 'No content' }
      for (const p of op.parameters ?? []) {
        if (p.in === 'path' && INTEGER_PARAMS.has(p.name)) p.schema = { type: 'integer', minimum: 1, maximum: 999_999_999_999_999 }
        // validated from the query string's text, but a number to every client
        if (p.in === 'query' && INTEGER_QUERY.has(p.name)) {
          const { maximum } = p.schema ?? {}
          p.schema = { type: 'integer', minimum: p.name === 'limit' ? 1 : 0, ...(typeof maximum === 'number' ? { maximum } : {}) }
        }
      }
    }
  }
  const webhook = doc.paths?.['/telegram/webhook/{webhookId}']?.post
  if (webhook) {
    webhook.responses ??= {}
    webhook.responses['200'] = {
      description: 'Handled (or ignored, for updates we do not act on)',
      content: { 'application/json': { schema: { type: 'object', properties: { ok: { type: 'boolean' }, result: { type: 'string' } } } } },
    }
    webhook.responses['401'] = { ...error('401'), description: 'Unknown webhook id or wrong X-Telegram-Bot-Api-Secret-Token' }
  }
  return doc
}
