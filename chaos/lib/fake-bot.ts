import { B, type Behaviour } from '../../api/test/fake-telegram'

/**
 * The Bot API as the chaos suite needs it: like api/test/fake-telegram.ts (same behaviour kinds), but
 * the behaviour is drawn per call from a policy, and every message the fake *accepted* is recorded
 * with the order number it carries — a message counts as sent when the fake answered `ok: true`,
 * whether or not the caller was still there to read the answer (`clientGone`), exactly as Telegram
 * would have delivered it.
 */
export type Accept = { token: string; number: string | null; chat: string; at: number; clientGone: boolean; messageId: number }
export type Policy = (token: string, method: string) => Behaviour

/** Order numbers of the suite look like `CR-17-0042` (scenario, shop, sequence). */
const NUMBER_RE = /№([A-Z]{2}-\d+-\d+)\b/

export class ChaosBot {
  readonly accepts: Accept[] = []
  readonly served: Record<string, number> = {}
  policy: Policy = () => B.ok
  private messageId = 1
  private readonly server: ReturnType<typeof Bun.serve>

  constructor() {
    this.server = Bun.serve({ port: 0, hostname: '127.0.0.1', idleTimeout: 60, fetch: (req) => this.handle(req) })
  }

  get url(): string {
    return `http://127.0.0.1:${this.server.port}`
  }

  /** Accepted messages per order number and recipient chat, keyed `number@chat` (only messages that carry one of the suite's numbers). */
  acceptsByNumber(prefix: string): Map<string, Accept[]> {
    const m = new Map<string, Accept[]>()
    for (const a of this.accepts) {
      if (!a.number?.startsWith(prefix)) continue
      const key = `${a.number}@${a.chat}`
      m.set(key, [...(m.get(key) ?? []), a])
    }
    return m
  }

  private count(kind: string) {
    this.served[kind] = (this.served[kind] ?? 0) + 1
  }

  private async handle(req: Request): Promise<Response> {
    const m = /^\/bot([^/]+)\/([A-Za-z]+)$/.exec(new URL(req.url).pathname)
    if (!m) return Response.json({ ok: false, error_code: 404, description: 'Not Found' }, { status: 404 })
    const token = decodeURIComponent(m[1]!)
    const method = m[2]!
    const text = await req.text()
    let payload: Record<string, unknown> = {}
    try {
      payload = text ? (JSON.parse(text) as Record<string, unknown>) : {}
    } catch {}
    const botId = Number(token.split(':')[0])
    if (method === 'getUpdates') return Response.json({ ok: true, result: [] })
    if (method === 'getMe') return Response.json({ ok: true, result: { id: botId, is_bot: true, first_name: 'Chaos bot', username: `chaos${botId}_bot` } })
    if (method !== 'sendMessage') return Response.json({ ok: true, result: true })

    const b = this.policy(token, method)
    this.count(b.kind === 'error' ? `e${b.status}` : b.kind)
    if (b.kind === 'hang') {
      // Until the caller gives up (its own timeout), at most 15 s.
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 15_000)
        req.signal.addEventListener('abort', () => (clearTimeout(t), resolve()), { once: true })
      })
      return Response.json({ ok: false, error_code: 504, description: 'hung' }, { status: 504 })
    }
    if (b.kind === 'slow') await Bun.sleep(b.ms)
    if (b.kind === 'html') return new Response('<html><body>Bad Gateway</body></html>', { status: b.status, headers: { 'content-type': 'text/html' } })
    if (b.kind === 'error')
      return Response.json({ ok: false, error_code: b.status, description: b.description, parameters: b.parameters }, { status: b.status })
    const messageText = String(payload.text ?? '')
    const id = this.messageId++
    this.accepts.push({
      token,
      number: NUMBER_RE.exec(messageText)?.[1] ?? null,
      chat: String(payload.chat_id),
      at: Date.now(),
      clientGone: req.signal.aborted,
      messageId: id,
    })
    const chatId = payload.chat_id
    const numeric = typeof chatId === 'string' && /^-?\d+$/.test(chatId) ? Number(chatId) : chatId
    return Response.json({
      ok: true,
      result: { message_id: id, date: Math.floor(Date.now() / 1000), chat: { id: numeric, type: 'private' }, text: messageText },
    })
  }

  stop(): void {
    this.server.stop(true)
  }
}

/** The random mix of the crash and replica scenarios. */
export function mixedPolicy(random: () => number = Math.random): Policy {
  return () => {
    const r = random()
    if (r < 0.55) return B.ok
    if (r < 0.7) return B.e500
    if (r < 0.8) return B.tooMany(1)
    if (r < 0.86) return B.hang
    return { kind: 'slow', ms: 50 + Math.floor(random() * 350) }
  }
}
