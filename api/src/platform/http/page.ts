import { existsSync } from 'node:fs'
import path from 'node:path'
import { Elysia } from 'elysia'
import { SCALAR_ASSET } from '../ui-build'

/** A five-petal flower in the page's accent colour (browsers ask for /favicon.ico on their own). */
const FAVICON_SVG = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><g fill="#e11d74">${[0, 72, 144, 216, 288]
  .map((a) => `<ellipse cx="16" cy="8.5" rx="5" ry="7.5" transform="rotate(${a} 16 16)"/>`)
  .join('')}</g><circle cx="16" cy="16" r="4.5" fill="#facc15"/></svg>`

export const UI_DIST = path.resolve(import.meta.dir, '../../../../ui/dist')

/**
 * The built settings page: `index.html` for every `/shops/:shopId/growth/telegram` deep link and the
 * hashed assets under /assets. No auth here; the page asks for the token and sends it to the API.
 */
export const pagePlugin = (distDir = UI_DIST) => {
  const index = path.join(distDir, 'index.html')
  const html = () =>
    existsSync(index)
      ? new Response(Bun.file(index), { headers: { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-cache' } })
      : new Response('<!doctype html><meta charset="utf-8"><p>Страница не собрана: запустите <code>bun run build:ui</code>.</p>', {
          status: 503,
          headers: { 'content-type': 'text/html; charset=utf-8' },
        })
  const favicon = () => new Response(FAVICON_SVG, { headers: { 'content-type': 'image/svg+xml', 'cache-control': 'public, max-age=86400' } })
  return new Elysia({ name: 'page' })
    .get('/favicon.svg', favicon, { detail: { hide: true } })
    .get('/favicon.ico', favicon, { detail: { hide: true } })
    .get('/', ({ redirect }) => redirect('/shops/1/growth/telegram'), { detail: { hide: true } })
    .get('/shops/:shopId/growth/telegram', html, { detail: { hide: true } })
    .get('/shops/:shopId/growth/telegram/', html, { detail: { hide: true } })
    .get(
      '/assets/*',
      ({ params, set }) => {
        const rel = path.normalize(params['*']).replace(/^(\.\.[/\\])+/, '')
        const file = path.join(distDir, 'assets', rel)
        if (!file.startsWith(path.join(distDir, 'assets')) || !existsSync(file)) {
          set.status = 404
          return { error: 'not_found', message: 'No such asset' }
        }
        // hashed names never change; the docs viewer keeps its name across versions
        const cache = rel === SCALAR_ASSET ? 'no-cache' : 'public, max-age=31536000, immutable'
        return new Response(Bun.file(file), { headers: { 'cache-control': cache } })
      },
      { detail: { hide: true } },
    )
}
