import { Elysia } from 'elysia'
import { z } from 'zod'
import { TelegramError, type TelegramClient } from '../bot-api'
import { findIntegration, safeDecrypt } from '../connect'
import type { TokenCipher } from '../platform/crypto'
import type { Sql } from '../platform/db/client'
import { NotFound, UpstreamUnavailable } from '../platform/http/errors'
import { ErrorSchema, Id } from '../platform/http/schemas'
import { PhotoCache } from './photo-cache'
import { findPhoto } from './photos'

const TYPES: Record<string, string> = { jpg: 'image/jpeg', jpeg: 'image/jpeg', png: 'image/png', webp: 'image/webp', gif: 'image/gif' }
const typeOf = (path: string) => TYPES[path.split('.').pop()?.toLowerCase() ?? ''] ?? 'image/jpeg'

/**
 * An order's photo as an image, streamed through the shop's bot (`getFile`, then the download):
 * Telegram keeps the file, a bounded cache keeps the recent ones. The page shows it; a platform may
 * fetch it with the shop's API key for its own admin.
 */
export const photoRoutes = (deps: { sql: Sql; client: TelegramClient; cipher: TokenCipher; timeoutMs: number; cache?: PhotoCache }) => {
  const cache = deps.cache ?? new PhotoCache()
  return new Elysia({ name: 'order-photos', detail: { tags: ['Orders'] } }).get(
    '/shops/:shopId/orders/:orderId/photos/:photoId',
    async ({ params }) => {
      const photo = await findPhoto(deps.sql, params.shopId, params.orderId, params.photoId)
      if (!photo) throw new NotFound(`Photo ${params.photoId} of order ${params.orderId} does not exist in shop ${params.shopId}`, 'photo_not_found')
      const key = `${params.shopId}:${photo.file_id}`
      let hit = cache.get(key)
      if (!hit) {
        const integration = await findIntegration(deps.sql, params.shopId)
        const token = integration ? safeDecrypt(deps.cipher, integration.bot_token, params.shopId) : null
        if (!token) throw new NotFound('The shop’s bot is not connected: its photos cannot be fetched', 'not_connected')
        try {
          const signal = AbortSignal.timeout(deps.timeoutMs * 2)
          const file = await deps.client.getFile(token, photo.file_id, signal)
          const bytes = await deps.client.downloadFile(token, file.filePath, signal)
          hit = { bytes, type: typeOf(file.filePath) }
          cache.set(key, bytes, hit.type)
        } catch (err) {
          if (!(err instanceof TelegramError)) throw err
          if (err.kind === 'transient') throw new UpstreamUnavailable('Telegram did not give the photo right now; try again')
          throw new NotFound('Telegram no longer has this photo for the shop’s bot', 'photo_gone')
        }
      }
      return new Response(Buffer.from(hit.bytes), {
        headers: { 'content-type': hit.type, 'cache-control': 'private, max-age=3600', 'content-length': String(hit.bytes.length) },
      })
    },
    {
      params: z.object({ shopId: Id, orderId: Id, photoId: Id }),
      response: { 200: z.any().describe('The image (image/jpeg, image/png, …)'), 400: ErrorSchema, 404: ErrorSchema, 503: ErrorSchema },
      detail: {
        summary: 'An order’s photo (the image)',
        description:
          'Streamed from Telegram through the shop’s bot (`getFile`), with a bounded in-memory cache. 404 `photo_gone` when Telegram no longer has it.',
      },
    },
  )
}
