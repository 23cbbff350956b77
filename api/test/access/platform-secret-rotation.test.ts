import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from 'bun:test'
import { signLaunchToken } from '../../src/access'
import { ConfigError, loadConfig } from '../../src/config'
import { createHarness, one, type Harness } from '../helpers'

/** Real HTTP and a real database on a shared 2-core machine: 5 s is too short under load. */
setDefaultTimeout(30_000)

const ADMIN = 'operator-secret-token-of-32-chars-or-more'
const NEW_SECRET = 'n'.repeat(40)
const OLD_SECRET = 'o'.repeat(40)
const OLDER_SECRET = 'q'.repeat(40)
const STRANGER = 'x'.repeat(40)

let h: Harness
beforeAll(async () => {
  h = await createHarness({ env: { ADMIN_TOKEN: ADMIN, PLATFORM_SECRET: NEW_SECRET, PLATFORM_SECRETS_PREVIOUS: `${OLD_SECRET}, ${OLDER_SECRET}` } })
}, 30_000)
afterAll(() => h.close(), 30_000)

const launch = async (secret: string) => (await signLaunchToken({ shopId: 1, secret })).token

describe('rotating PLATFORM_SECRET with PLATFORM_SECRETS_PREVIOUS', () => {
  test('launch tokens signed with the new secret or any previous one open a session; another secret is 401 and opens nothing', async () => {
    for (const secret of [NEW_SECRET, OLD_SECRET, OLDER_SECRET]) {
      const r = await h.post('/session', { launch: await launch(secret) })
      expect(r.status).toBe(201)
      expect(r.json.shopId).toBe(1)
    }
    const { n: before } = one(await h.sql<{ n: number }[]>`select count(*)::int as n from owner_sessions`)
    const r = await h.post('/session', { launch: await launch(STRANGER) })
    expect(r.status).toBe(401)
    expect(r.json.error).toBe('launch_invalid')
    const { n: after } = one(await h.sql<{ n: number }[]>`select count(*)::int as n from owner_sessions`)
    expect(after).toBe(before)
  })

  test('a token signed with a previous secret is still single use', async () => {
    const token = await launch(OLD_SECRET)
    expect((await h.post('/session', { launch: token })).status).toBe(201)
    const again = await h.post('/session', { launch: token })
    expect(again.status).toBe(401)
    expect(again.json.error).toBe('launch_reused')
  })

  test('owner links are signed with the current secret, so they keep working once the previous ones are dropped', async () => {
    const link = await h.post('/shops/1/owner-link', {}, { authorization: `Bearer ${ADMIN}` })
    expect(link.status).toBe(201)
    const token = /#launch=(.+)$/.exec(link.json.url)![1]!
    const after = await createHarness({ env: { ADMIN_TOKEN: ADMIN, PLATFORM_SECRET: NEW_SECRET } })
    try {
      expect((await after.post('/session', { launch: token })).status).toBe(201)
      expect((await after.post('/session', { launch: await launch(OLD_SECRET) })).status).toBe(401)
    } finally {
      await after.close()
    }
  }, 30_000)

  test('a previous secret shorter than 32 characters stops the start, naming the variable and not the value', () => {
    expect(() => loadConfig({ PLATFORM_SECRET: NEW_SECRET, PLATFORM_SECRETS_PREVIOUS: `${OLD_SECRET},short-one` })).toThrow(ConfigError)
    let message = ''
    try {
      loadConfig({ PLATFORM_SECRETS_PREVIOUS: 'short-one' })
    } catch (err) {
      message = (err as Error).message
    }
    expect(message).toStartWith('Invalid configuration: PLATFORM_SECRETS_PREVIOUS ')
    expect(message).not.toContain('short-one')
    expect(loadConfig({ PLATFORM_SECRETS_PREVIOUS: `${OLD_SECRET}, ${OLDER_SECRET}` }).previousPlatformSecrets).toEqual([OLD_SECRET, OLDER_SECRET])
  })
})
