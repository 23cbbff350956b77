import { Webhook } from 'standardwebhooks'

/**
 * A platform's webhook receiver under faults, on a fixed loopback port: it verifies every delivery
 * with the `standardwebhooks` reference library and records what arrived *before* answering (a
 * delivery the service gave up waiting for still reached the platform). `stop()` takes it down
 * (connections refused), `start()` brings it back on the same port; while up, `policy` draws each
 * answer: 200, 500, or 200 after a delay (beyond the service's deadline when the scenario wants).
 */
export type Answer = { status: number; delayMs: number }
export type Receipt = {
  webhookId: string
  timestamp: string
  text: string
  bodyId: string | null
  type: string | null
  verified: boolean
  /** What the receiver answered (after `delayMs`). */
  answer: Answer
  at: number
}

export class WebhookReceiver {
  readonly receipts: Receipt[] = []
  secrets: string[] = []
  policy: () => Answer = () => ({ status: 200, delayMs: 0 })
  /** Connections refused while down: the service cannot be seen trying, so count the down windows instead. */
  readonly downWindows: { from: number; to: number | null }[] = []
  private server: ReturnType<typeof Bun.serve> | null = null
  private port = 0

  get url(): string {
    return `http://127.0.0.1:${this.port}/hooks`
  }

  get up(): boolean {
    return this.server !== null
  }

  start(): void {
    if (this.server) return
    this.server = Bun.serve({
      port: this.port,
      hostname: '127.0.0.1',
      idleTimeout: 30,
      fetch: (req) => this.handle(req),
    })
    this.port = this.server.port!
    const w = this.downWindows.at(-1)
    if (w && w.to === null) w.to = Date.now()
  }

  /** Down: the listening socket closes and open connections are cut. */
  stop(): void {
    if (!this.server) return
    this.server.stop(true)
    this.server = null
    this.downWindows.push({ from: Date.now(), to: null })
  }

  private async handle(req: Request): Promise<Response> {
    const text = await req.text()
    const headers = Object.fromEntries(req.headers)
    const verified = this.secrets.some((s) => {
      try {
        new Webhook(s).verify(text, headers)
        return true
      } catch {
        return false
      }
    })
    let bodyId: string | null = null
    let type: string | null = null
    try {
      const b = JSON.parse(text) as { id?: unknown; type?: unknown }
      bodyId = typeof b.id === 'string' ? b.id : null
      type = typeof b.type === 'string' ? b.type : null
    } catch {}
    const answer = verified ? this.policy() : { status: 401, delayMs: 0 }
    this.receipts.push({
      webhookId: headers['webhook-id'] ?? '',
      timestamp: headers['webhook-timestamp'] ?? '',
      text,
      bodyId,
      type,
      verified,
      answer,
      at: Date.now(),
    })
    if (answer.delayMs > 0) await Bun.sleep(answer.delayMs)
    return new Response(null, { status: answer.status })
  }
}
