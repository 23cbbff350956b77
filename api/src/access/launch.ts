import { errors, jwtVerify, SignJWT } from 'jose'
import { randomUUID } from 'node:crypto'

/**
 * Launch tokens: how the platform that shows our page vouches for a shop owner, modelled on Shopify's
 * embedded-app session tokens. The platform signs a short-lived HS256 JWT with PLATFORM_SECRET and opens
 * `/shops/{id}/growth/telegram#launch=<jwt>`; the page trades it once for an owner session.
 */
export const LAUNCH_MAX_LIFETIME_SEC = 10 * 60
/** Clock difference between the platform and us that we tolerate. */
const CLOCK_SKEW_SEC = 30

export type LaunchClaims = { shopId: number; jti: string; expiresAt: Date; subject: string | null; name: string | null }

export class LaunchRejected extends Error {
  constructor(readonly reason: 'malformed' | 'bad_signature' | 'expired' | 'too_long' | 'missing_claim') {
    super(reason)
  }
}

const keyOf = (secret: string) => new TextEncoder().encode(secret)

/**
 * Verifies signature, algorithm, expiry and claims. Single use is the caller's job (it needs the database).
 * `secrets`: PLATFORM_SECRET first, then PLATFORM_SECRETS_PREVIOUS, so the platform can move to a new
 * secret while tokens signed with the old one (and owners already on their way in) still work.
 */
export async function verifyLaunchToken(token: string, secrets: string | readonly string[], now = new Date()): Promise<LaunchClaims> {
  let payload
  const keys = typeof secrets === 'string' ? [secrets] : secrets
  for (const [i, secret] of keys.entries()) {
    try {
      ;({ payload } = await jwtVerify(token, keyOf(secret), {
        algorithms: ['HS256'],
        currentDate: now,
        clockTolerance: CLOCK_SKEW_SEC,
        requiredClaims: ['exp', 'jti'],
      }))
      break
    } catch (err) {
      if (err instanceof errors.JWSSignatureVerificationFailed && i < keys.length - 1) continue
      if (err instanceof errors.JWTExpired) throw new LaunchRejected('expired')
      if (err instanceof errors.JWSSignatureVerificationFailed) throw new LaunchRejected('bad_signature')
      if (err instanceof errors.JWTClaimValidationFailed) throw new LaunchRejected('missing_claim')
      throw new LaunchRejected('malformed')
    }
  }
  if (!payload) throw new LaunchRejected('bad_signature')
  const nowSec = Math.floor(now.getTime() / 1000)
  if (payload.exp! - nowSec > LAUNCH_MAX_LIFETIME_SEC + CLOCK_SKEW_SEC) throw new LaunchRejected('too_long')
  const shop = payload.shop
  const shopId =
    typeof shop === 'string' && /^[1-9][0-9]{0,14}$/.test(shop)
      ? Number(shop)
      : typeof shop === 'number' && Number.isSafeInteger(shop) && shop > 0
        ? shop
        : null
  if (shopId === null || typeof payload.jti !== 'string' || payload.jti.length > 200) throw new LaunchRejected('missing_claim')
  return {
    shopId,
    jti: payload.jti,
    expiresAt: new Date(payload.exp! * 1000),
    subject: typeof payload.sub === 'string' ? payload.sub.slice(0, 200) : null,
    name: typeof payload.name === 'string' ? payload.name.slice(0, 200) : null,
  }
}

/** What the platform does (and our owner-link route, for support and demos). */
export async function signLaunchToken(p: {
  shopId: number
  secret: string
  now?: Date
  ttlSec?: number
  subject?: string
  name?: string
}): Promise<{ token: string; expiresAt: Date }> {
  const now = p.now ?? new Date()
  const iat = Math.floor(now.getTime() / 1000)
  const exp = iat + Math.min(p.ttlSec ?? LAUNCH_MAX_LIFETIME_SEC, LAUNCH_MAX_LIFETIME_SEC)
  const jwt = new SignJWT({ shop: String(p.shopId), ...(p.name ? { name: p.name } : {}) })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setIssuedAt(iat)
    .setExpirationTime(exp)
    .setJti(randomUUID())
  if (p.subject) jwt.setSubject(p.subject)
  return { token: await jwt.sign(keyOf(p.secret)), expiresAt: new Date(exp * 1000) }
}
