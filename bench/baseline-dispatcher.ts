/**
 * Delivery baseline: the smallest dispatcher of the same outbox on the same machine. It claims 64 due
 * rows with SKIP LOCKED (joined with the order and the integration in the same statement), decrypts
 * the token, POSTs sendMessage with plain fetch (32 at a time, no per-shop ordering, no message
 * rendering, no send log), marks each row done, and loops at once while there is work.
 * Run as its own process with DATABASE_URL, TELEGRAM_API_ROOT and ENCRYPTION_KEY (hex).
 */
import postgres from 'postgres'
import { createTokenCipher } from '../api/src/platform/crypto'

const sql = postgres(process.env.DATABASE_URL!, { max: 20, onnotice: () => {} })
const cipher = createTokenCipher(Buffer.from(process.env.ENCRYPTION_KEY!, 'hex'))
const root = process.env.TELEGRAM_API_ROOT!
let running = true
process.on('SIGTERM', () => (running = false))

type Row = { id: string; shop_id: string; bot_token: string; chat_id: string; number: string; total: string }
while (running) {
  const rows = await sql<Row[]>`
    with c as (
      update telegram_outbox set locked_by = 'baseline', locked_until = now() + interval '30 seconds'
      where id in (select id from telegram_outbox where state = 'pending' and next_attempt_at <= now()
                   and (locked_until is null or locked_until < now()) order by next_attempt_at limit 64 for update skip locked)
      returning id, shop_id, order_id)
    select c.id, c.shop_id, i.bot_token, i.chat_id, o.number, o.total::text as total
    from c join orders o on o.id = c.order_id join telegram_integrations i on i.shop_id = c.shop_id`
  if (rows.length === 0) {
    await Bun.sleep(20)
    continue
  }
  let next = 0
  const worker = async () => {
    for (let r = rows[next++]; r; r = rows[next++]) {
      const res = await fetch(`${root}/bot${cipher.decrypt(r.bot_token, r.shop_id)}/sendMessage`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ chat_id: r.chat_id, text: `Заказ ${r.number} на ${r.total} ₽` }),
      })
      await res.arrayBuffer()
      await sql`update telegram_outbox set state = 'done', attempts = attempts + 1, locked_by = null, locked_until = null where id = ${r.id}`
    }
  }
  await Promise.all(Array.from({ length: 32 }, worker))
}
await sql.end({ timeout: 1 })
process.exit(0)
