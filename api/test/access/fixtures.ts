import { expect } from 'bun:test'
import { findIntegration } from '../../src/connect'
import type { Harness } from '../helpers'

/**
 * The owner binds their Telegram: an owner link is issued (by the operator or an owner session) and
 * opened in the owner's private chat; the `/start <code>` goes through the same router a webhook or
 * the poller feeds. Returns the recipient the private chat became.
 */
export async function bindOwner(h: Harness, shopId: number, user: { id: number; first_name?: string }, issuer: Record<string, string>) {
  const link = await h.request('POST', `/shops/${shopId}/telegram/link`, { purpose: 'owner' }, issuer)
  expect(link.status).toBe(200)
  const code = new URL(link.json.connectLink).searchParams.get('start')!
  await startInPrivate(h, shopId, user, code)
}

/** `/start <code>` sent by `user` in their private chat with the shop's bot. */
export async function startInPrivate(h: Harness, shopId: number, user: { id: number; first_name?: string }, code: string) {
  const integration = (await findIntegration(h.sql, shopId))!
  const update = {
    update_id: Math.floor(Math.random() * 1e9),
    message: {
      message_id: 1,
      chat: { id: user.id, type: 'private', first_name: user.first_name },
      from: { id: user.id, first_name: user.first_name },
      text: `/start ${code}`,
    },
  }
  expect(await h.services.updates.handle(integration, update)).toBe('handled')
}
