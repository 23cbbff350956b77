import { Webhook } from 'standardwebhooks'

/**
 * A platform's webhook receiver on loopback, as an integrator would write one: it verifies every
 * delivery with the `standardwebhooks` reference library and records what arrived. `answer` decides
 * the status code of each delivery (500 to make the service retry, a delay to make it time out).
 */
export type Received = { id: string; timestamp: string; signature: string; body: Record<string, any>; verified: boolean; status: number }

export class Receiver {
  readonly received: Received[] = []
  answer: (n: number, body: Record<string, any>) => number | Promise<number> = () => 200
  private readonly server: ReturnType<typeof Bun.serve>
  secrets: string[] = []

  constructor() {
    this.server = Bun.serve({
      port: 0,
      hostname: '127.0.0.1',
      fetch: async (req) => {
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
        const body = JSON.parse(text)
        const status = verified ? await this.answer(this.received.length, body) : 401
        this.received.push({
          id: headers['webhook-id']!,
          timestamp: headers['webhook-timestamp']!,
          signature: headers['webhook-signature']!,
          body,
          verified,
          status,
        })
        return new Response(null, { status })
      },
    })
  }

  get url() {
    return `http://127.0.0.1:${this.server.port}/hooks`
  }

  /** Deliveries that arrived verified, of a type. */
  of(type: string) {
    return this.received.filter((r) => r.verified && r.body.type === type)
  }

  stop() {
    this.server.stop(true)
  }
}
