/**
 * Contract floor: the least a handler must do to honour the order contract, as a bare Bun.serve
 * process. For `POST /shops/:id/orders` it inserts the order (the bare-insert baseline's INSERT) and, in
 * the same statement, reads the shop's bot token and chat; decrypts the token; calls sendMessage with
 * plain fetch inside the request (bounded by the service's default 4 s deadline); writes the
 * `telegram_send_log` row (SENT with the message id, or FAILED); answers 201. Nothing else: no
 * validation, no auth, no outbox (a crash between commit and send loses the notification), no
 * retries, no pacing, a one-line message. The service doing the same job with its guarantees is
 * compared with this, so the gap is the price of those guarantees and of the framework.
 * Run as its own process with DATABASE_URL, PORT, TELEGRAM_API_ROOT and ENCRYPTION_KEY (hex).
 */
import postgres from 'postgres'
import { createTokenCipher } from '../api/src/platform/crypto'

const sql = postgres(process.env.DATABASE_URL!, { max: 20, onnotice: () => {} })
const cipher = createTokenCipher(Buffer.from(process.env.ENCRYPTION_KEY!, 'hex'))
const root = process.env.TELEGRAM_API_ROOT!

type Row = {
  id: string
  shop_id: string
  number: string
  total: string
  customer_name: string
  created_at: Date
  bot_token: string | null
  chat_id: string | null
}

const server = Bun.serve({
  port: Number(process.env.PORT),
  hostname: '127.0.0.1',
  async fetch(req) {
    const url = new URL(req.url)
    if (url.pathname === '/health') return Response.json({ status: 'ok' })
    const m = /^\/shops\/(\d+)\/orders$/.exec(url.pathname)
    if (!m || req.method !== 'POST') return new Response('not found', { status: 404 })
    const o = (await req.json()) as Record<string, string | null>
    const [row] = await sql<Row[]>`
      with o as (
        insert into orders (shop_id, number, total, customer_name, customer_phone, recipient_name, recipient_phone,
                            delivery_date, delivery_time, address, comment)
        values (${Number(m[1])}, ${o.number!}, ${o.total!}, ${o.customerName!}, ${o.customerPhone ?? null}, ${o.recipientName ?? null},
                ${o.recipientPhone ?? null}, ${o.deliveryDate ?? null}, ${o.deliveryTime ?? null}, ${o.address ?? null}, ${o.comment ?? null})
        on conflict (shop_id, number) do nothing
        returning id, shop_id, number, total::text as total, customer_name, created_at)
      select o.*, i.bot_token, i.chat_id from o left join telegram_integrations i on i.shop_id = o.shop_id and i.enabled`
    if (!row) return Response.json({ order: null, telegramStatus: 'skipped' }, { status: 200 })
    if (!row.bot_token || !row.chat_id) return Response.json({ order: row, telegramStatus: 'skipped' }, { status: 201 })
    const text = `Новый заказ №${row.number}: ${row.total} ₽, ${row.customer_name}`
    let messageId: number | null = null
    let error: string | null = null
    try {
      const res = await fetch(`${root}/bot${cipher.decrypt(row.bot_token, row.shop_id)}/sendMessage`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ chat_id: row.chat_id, text }),
        signal: AbortSignal.timeout(4000),
      })
      const body = (await res.json()) as { ok: boolean; result?: { message_id: number }; description?: string }
      if (body.ok && body.result) messageId = body.result.message_id
      else error = body.description ?? `HTTP ${res.status}`
    } catch (err) {
      error = String(err)
    }
    await sql`
      insert into telegram_send_log (shop_id, order_id, message, status, error, error_code, attempts, sent_at, message_id, chat_id)
      values (${row.shop_id}, ${row.id}, ${text}, ${error ? 'FAILED' : 'SENT'}, ${error}, ${error ? 'telegram_unavailable' : null}, 1,
              case when ${error}::text is null then now() end, ${messageId}, ${row.chat_id})`
    const { bot_token: _t, chat_id: _c, ...order } = row
    return Response.json({ order, telegramStatus: error ? 'failed' : 'sent' }, { status: 201 })
  },
})
process.on('SIGTERM', async () => {
  server.stop(true)
  await sql.end({ timeout: 1 })
  process.exit(0)
})
