/**
 * "Spans" of the order path: each step the service takes for one order, run alone at the intake
 * concurrency against the same database, in this process, with the product's own functions. The
 * baseline's single INSERT is timed the same way. Together with the CPU profile this says where an
 * order's time goes (the service makes ~10 PostgreSQL round trips and 2 commits per order).
 */
import { randomBytes } from 'node:crypto'
import type { Sql } from '../api/src/platform/db/client'
import { insertOrderOnce } from '../api/src/orders/repository'
import { CreateOrderBody } from '../api/src/orders/schema'
import { getShopOr404 } from '../api/src/platform/shops'
import { GrammyClient } from '../api/src/bot-api/grammy-client'
import { renderOrderMessage } from '../api/src/notifications/message'
import { finishSent, loadNotification } from '../api/src/notifications/outbox'
import { notificationKinds } from '../api/src/notifications/kinds'
import type { TokenCipher } from '../api/src/platform/crypto'
import { makeToken } from '../api/test/fake-telegram'
import { round, sampleOrder, summary } from './lib'

const kinds = notificationKinds()

async function timed(n: number, concurrency: number, fn: (i: number) => Promise<unknown>) {
  const lat: number[] = []
  let next = 0
  const t0 = performance.now()
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (let i = next++; i < n; i = next++) {
        const s = performance.now()
        await fn(i)
        lat.push(performance.now() - s)
      }
    }),
  )
  const sec = (performance.now() - t0) / 1000
  return { perSec: round(n / sec, 0), latencyMs: summary(lat) }
}

export async function stageTimings(p: { sql: Sql; fakeUrl: string; shops: number[]; n: number; concurrency: number; cipher: TokenCipher }) {
  const { sql, shops, n, concurrency } = p
  const tag = 'st' + randomBytes(3).toString('hex')
  const body = (i: number) => sampleOrder(`${tag}-${i}`, '2490.50')
  const shop = (i: number) => shops[i % shops.length]!
  const out: Record<string, unknown> = {}

  // CPU-only steps: µs per call on one core
  const cpu = (f: (i: number) => unknown, k = n) => {
    const t = performance.now()
    for (let i = 0; i < k; i++) f(i)
    return round(((performance.now() - t) * 1000) / k, 1)
  }
  const parsed = Array.from({ length: n }, (_, i) => CreateOrderBody.parse(body(i)))
  out.validateZodUs = cpu((i) => CreateOrderBody.parse(body(i)))
  out.renderMessageUs = cpu((i) =>
    renderOrderMessage(
      { ...parsed[i]!, deliveryTime: parsed[i]!.deliveryTime.text, total: parsed[i]!.total, status: 'new', acceptedBy: null, acceptedAt: null },
      'Магазин',
    ),
  )
  const sampleToken = makeToken('cipher')
  out.encryptDecryptTokenUs = cpu(() => p.cipher.decrypt(p.cipher.encrypt(sampleToken, 1), 1))

  // I/O steps at the intake concurrency
  out.baselineInsert = await timed(
    n,
    concurrency,
    (i) => sql`
    insert into orders (shop_id, number, total, customer_name, customer_phone, recipient_name, recipient_phone, delivery_date, delivery_time, address, comment)
    values (${shop(i)}, ${'b' + tag + i}, ${'2490.50'}, ${'Анна'}, ${null}, ${null}, ${null}, ${null}, ${null}, ${null}, ${null})
    on conflict (shop_id, number) do nothing returning id`,
  )
  out.getShopOr404 = await timed(n, concurrency, (i) => getShopOr404(sql, shop(i)))
  const ids: string[] = []
  out.insertOrderOnceTx = await timed(n, concurrency, async (i) => {
    const r = await insertOrderOnce(sql, shop(i), parsed[i]!, 'bench-stage', 30, { chatIntervalMs: 0, groupIntervalMs: 0, groupPerMinute: 0 })
    if (r?.created) ids.push(...r.notifications.map((x) => x.id))
  })
  const rowsById = new Map<string, Awaited<ReturnType<typeof loadNotification>>>()
  // the request no longer reads this (the insert returns it); the dispatcher loads claimed rows like this, in batches
  out.loadNotification = await timed(ids.length, concurrency, async (i) => rowsById.set(ids[i]!, await loadNotification(sql, kinds, ids[i]!)))
  const client = new GrammyClient({ apiRoot: p.fakeUrl, timeoutMs: 4000 })
  const tokens = shops.map(() => makeToken('stage'))
  out.sendMessageGrammyToFake = await timed(ids.length, concurrency, (i) =>
    client.sendMessage(tokens[i % tokens.length]!, { chatId: '42', text: `Заказ ${i}` }),
  )
  out.finishSentTx = await timed(ids.length, concurrency, (i) => {
    const d = rowsById.get(ids[i]!)!
    return finishSent(sql, {
      id: d.id,
      kind: 'order',
      shopId: d.shop_id,
      orderId: d.order_id,
      chatRef: d.chat_ref,
      text: 'Заказ',
      messageId: i,
      chatId: '42',
      mock: false,
    })
  })
  out.withOutbox = ids.length

  // ---- candidate speedups, prototyped here (same effects, fewer round trips), timed the same way ----
  // (a) the order and its outbox row in ONE statement (a data-modifying CTE is atomic on its own):
  //     BEGIN + 2 statements + COMMIT → 1 round trip. The repeat path (conflict) keeps its own select.
  const ids2: string[] = []
  out.candidateInsertOrderCte = await timed(n, concurrency, async (i) => {
    const o = parsed[i]!
    const [r] = await sql<{ id: string; delivery_id: string | null }[]>`
      with o as (
        insert into orders (shop_id, number, total, customer_name, customer_phone, recipient_name, recipient_phone,
                            delivery_date, delivery_time, address, comment)
        values (${shop(i)}, ${o.number + 'c'}, ${o.total}, ${o.customerName}, ${o.customerPhone ?? null}, ${o.recipientName ?? null},
                ${o.recipientPhone ?? null}, ${o.deliveryDate ?? null}, ${o.deliveryTime.text}, ${o.address ?? null}, ${o.comment ?? null})
        on conflict (shop_id, number) do nothing
        returning id, shop_id, number, total::text as total, customer_name, customer_phone, recipient_name, recipient_phone,
                  delivery_date::text as delivery_date, delivery_time, address, comment, status, accepted_by, accepted_at, created_at),
      d as (
        insert into telegram_outbox (shop_id, order_id, kind, locked_by, locked_until)
        select o.shop_id, o.id, 'order', ${'bench-stage'}, now() + make_interval(secs => ${30})
        from o join telegram_integrations i on i.shop_id = o.shop_id and i.enabled and i.chat_id is not null
        returning id)
      select o.*, (select id from d) as delivery_id from o`
    if (r?.delivery_id) ids2.push(r.delivery_id)
  })
  // (b) finishSent in ONE statement: the outbox update feeds the send-log upsert.
  const rows2 = new Map<string, Awaited<ReturnType<typeof loadNotification>>>()
  for (const id of ids2) rows2.set(id, await loadNotification(sql, kinds, id))
  out.candidateFinishSentCte = await timed(ids2.length, concurrency, (i) => {
    const d = rows2.get(ids2[i]!)!
    return sql`
      with d as (
        update telegram_outbox
        set state = 'done', attempts = attempts + 1, locked_by = null, locked_until = null, last_error = null, updated_at = now()
        where id = ${d.id}
        returning attempts)
      insert into telegram_send_log (shop_id, order_id, message, status, error, attempts, sent_at, message_id, chat_id, mock)
      select ${d.shop_id}, ${d.order_id}, ${'Заказ'}, 'SENT', null, coalesce((select attempts from d), 1), now(), ${i}, ${'42'}, false
      on conflict (shop_id, order_id) do update set
        status = 'SENT', error = null, message = excluded.message, attempts = excluded.attempts,
        sent_at = now(), message_id = excluded.message_id, chat_id = excluded.chat_id, mock = excluded.mock, updated_at = now()`
  })
  out.candidateWithOutbox = ids2.length
  return out
}
