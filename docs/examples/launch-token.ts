// The platform's side of an owner launch: sign a launch token and open our page with it.
// Run: PLATFORM_SECRET=… SHOP_ID=1 bun docs/examples/launch-token.ts   (Node: the same code, with jose installed)
import { SignJWT } from 'jose'

/** A launch token for one shop's page: HS256 with PLATFORM_SECRET, 5 minutes, single use (jti). */
export async function launchToken(secret: string, shopId: number, user?: { id: string; name: string }): Promise<string> {
  const now = Math.floor(Date.now() / 1000)
  const jwt = new SignJWT({ shop: String(shopId), ...(user ? { name: user.name } : {}) })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setIssuedAt(now)
    .setExpirationTime(now + 300) // at most 10 minutes ahead
    .setJti(crypto.randomUUID()) // a replay is refused: 401 launch_reused
  if (user) jwt.setSubject(user.id) // the platform's user, for the audit trail
  return jwt.sign(new TextEncoder().encode(secret))
}

if (import.meta.main) {
  const base = process.env.NOTIFY_URL ?? 'http://127.0.0.1:3000'
  const shopId = Number(process.env.SHOP_ID ?? 1)
  const token = await launchToken(process.env.PLATFORM_SECRET ?? '', shopId, { id: '17', name: 'Ольга' })
  // the token travels in the fragment: it never reaches a server log
  console.log(`${base}/shops/${shopId}/growth/telegram#launch=${token}`)
}
