// A platform's webhook endpoint: verify the Standard Webhooks signature, skip repeats, answer 2xx fast.
// Run: WEBHOOK_SECRET=whsec_… PORT=8080 bun docs/examples/webhook-receiver.ts
import { Webhook, WebhookVerificationError } from 'standardwebhooks'

export type PlatformEvent = { id: string; type: string; occurredAt: string; shopId: number | null; data: Record<string, unknown> }

/**
 * A fetch-style handler (Bun.serve, Deno, Hono, Next.js route handlers). Retries carry the same
 * `webhook-id`: `seen` skips one already handled (keep it in your database, next to the change it made).
 */
export function webhookHandler(secret: string, onEvent: (e: PlatformEvent) => Promise<void> | void, seen = new Set<string>()) {
  const wh = new Webhook(secret)
  return async (req: Request): Promise<Response> => {
    const body = await req.text() // the raw body: re-serialised JSON would not match the signature
    let event: PlatformEvent
    try {
      event = wh.verify(body, Object.fromEntries(req.headers)) as PlatformEvent // signature and a 5-minute timestamp window
    } catch (err) {
      if (err instanceof WebhookVerificationError) return new Response('invalid signature', { status: 401 })
      throw err
    }
    const id = req.headers.get('webhook-id')!
    if (!seen.has(id)) {
      await onEvent(event)
      seen.add(id)
    }
    return new Response(null, { status: 204 })
  }
}

if (import.meta.main) {
  const fetch = webhookHandler(process.env.WEBHOOK_SECRET ?? '', (e) => console.log(e.type, JSON.stringify(e.data)))
  Bun.serve({ hostname: process.env.HOST ?? '127.0.0.1', port: Number(process.env.PORT ?? 8080), fetch })
}
