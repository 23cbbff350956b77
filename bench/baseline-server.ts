/**
 * Intake baseline: a bare Bun.serve handler doing the same INSERT into orders with postgres.js
 * (same pool size as the service, no validation, no auth, no outbox, no Telegram). It is the
 * machine's limit for "an HTTP request that commits one order row". Run as its own process.
 */
import postgres from 'postgres'

const sql = postgres(process.env.DATABASE_URL!, { max: 20, onnotice: () => {} })
const server = Bun.serve({
  port: Number(process.env.PORT),
  hostname: '127.0.0.1',
  async fetch(req) {
    const url = new URL(req.url)
    if (url.pathname === '/health') return Response.json({ status: 'ok' })
    const m = /^\/shops\/(\d+)\/orders$/.exec(url.pathname)
    if (!m || req.method !== 'POST') return new Response('not found', { status: 404 })
    const o = (await req.json()) as Record<string, string | null>
    const [row] = await sql`
      insert into orders (shop_id, number, total, customer_name, customer_phone, recipient_name, recipient_phone,
                          delivery_date, delivery_time, address, comment)
      values (${Number(m[1])}, ${o.number!}, ${o.total!}, ${o.customerName!}, ${o.customerPhone ?? null}, ${o.recipientName ?? null},
              ${o.recipientPhone ?? null}, ${o.deliveryDate ?? null}, ${o.deliveryTime ?? null}, ${o.address ?? null}, ${o.comment ?? null})
      on conflict (shop_id, number) do nothing
      returning id, shop_id, number, total::text as total, customer_name, created_at`
    return Response.json({ order: row }, { status: 201 })
  },
})
process.on('SIGTERM', async () => {
  server.stop(true)
  await sql.end({ timeout: 1 })
  process.exit(0)
})
