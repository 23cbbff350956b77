import type { Sql } from '../platform/db/client'
import type { MessageKinds, Notification } from './kinds'

/**
 * The transactional outbox in SQL. A delivery row is written in the order's own transaction, then
 * whoever holds its lease (the request making the first attempt, or a dispatcher) sends it. Leases
 * (`locked_by`, `locked_until`) make retries survive crashes and keep replicas from sending the same
 * delivery at the same time; `FOR UPDATE SKIP LOCKED` lets them claim without waiting on each other.
 */

/** The shared part of every notification; the kind's own read arrives as `data` (kinds/kind.ts). */
export type NotificationRow = Notification<unknown>

/**
 * Everything one attempt needs, in one read: the outbox row, the shop, the bot, the chat it goes to,
 * and the kind's own read (`MessageKind.load`) as `data` (for `telegram_outbox d`; the WHERE is the caller's).
 */
const notificationSelect = (sql: Sql, kinds: MessageKinds, slotTaken: ReturnType<Sql>) => {
  const loads = kinds.all.filter((k) => k.load)
  const cases = loads.reduce((acc, k) => sql`${acc} when ${k.name} then (select to_jsonb(kd) from (${k.load!(sql)}) kd)`, sql``)
  const data = loads.length ? sql`case d.kind ${cases} end` : sql`null::jsonb`
  return sql`
    select ${slotTaken} as slot_taken, d.id, d.shop_id, d.order_id, d.kind, d.state, d.attempts, d.revision, d.created_at,
           d.chat_ref, d.private_chat_ref, d.due_key, d.payload,
           s.name as shop_name, s.time_zone,
           i.bot_token, coalesce(c.chat_id, pc.chat_id) as chat_id, (i.enabled and coalesce(c.enabled, pc.id is not null)) as enabled,
           c.thread_id, c.quiet_from::text, c.quiet_to::text,
           ${data} as data
    from telegram_outbox d
    join shops s on s.id = d.shop_id
    left join telegram_integrations i on i.shop_id = d.shop_id
    left join telegram_chats c on c.id = d.chat_ref
    left join telegram_private_chats pc on pc.id = d.private_chat_ref`
}

/** The claimed rows of one dispatcher pass, loaded in one statement (not one per message). */
export function loadNotifications(sql: Sql, kinds: MessageKinds, ids: string[]): Promise<NotificationRow[]> {
  return sql<NotificationRow[]>`${notificationSelect(sql, kinds, sql`false`)} where d.id = any(${ids}::bigint[])`
}

/** One notification by id (a request's first attempt, a retry by hand). */
export async function loadNotification(sql: Sql, kinds: MessageKinds, id: string, takeSlot?: Pacing): Promise<NotificationRow | null> {
  // The request's first attempt also takes the chat's pacing slot, only if it is free now, in the same
  // statement (one round trip and one commit less per recipient on the intake path).
  const slot = takeSlot
    ? sql`
    with slot as (
      update telegram_chats c set ${reserveSlot(sql, takeSlot)}
      where c.id = (select x.chat_ref from telegram_outbox x where x.id = ${id} and x.state = 'pending')
        and (c.next_send_at is null or c.next_send_at <= now())
      returning c.id)`
    : sql``
  const [row] = await sql<NotificationRow[]>`
    ${slot}
    ${notificationSelect(sql, kinds, takeSlot ? sql`exists (select 1 from slot)` : sql`false`)}
    where d.id = ${id}`
  return row ?? null
}

/** How long to leave a chat alone after sending to it (Telegram: ~1/s per chat, ~20/min per group). */
/** Spacing of one chat's messages; a group also gets at most `groupPerMinute` within any minute (0: no window). */
export type Pacing = { chatIntervalMs: number; groupIntervalMs: number; groupPerMinute: number }

/**
 * Due notifications, leased to `owner`, at most one per recipient chat, from chats that may be written
 * to now; the chat's next slot moves on by its pacing interval (`PACE_SQL`) in the same statement.
 * A new-order message goes before status edits of the same chat, so it never waits behind them.
 * Recipient rows are taken with SKIP LOCKED, so replicas claim disjoint chats and never pace one chat
 * twice. Expired leases of crashed workers count as due.
 */
export async function claimDueNotifications(
  sql: Sql,
  owner: string,
  limit: number,
  leaseSec: number,
  pacing: Pacing,
): Promise<{ id: string; shop_id: string }[]> {
  return sql<{ id: string; shop_id: string }[]>`
    -- Due rows of chats that may be written to now, oldest first: new orders apart from the rest, so
    -- a backlog of edits (thousands at a peak, each chat's coalesced to one) never hides a new order
    -- from the claim. Locked SKIP LOCKED for the statement, so a replica claiming at the same moment
    -- looks further down the queue. Rows, not chats: a chat with a backlog fills several, so look well past \`limit\`.
    with new_orders as (
      select d.chat_ref from telegram_outbox d
      join telegram_chats c on c.id = d.chat_ref
      where d.state = 'pending' and d.kind = 'order' and d.next_attempt_at <= now()
        and (d.locked_until is null or d.locked_until < now())
        and (c.next_send_at is null or c.next_send_at <= now())
      order by d.next_attempt_at
      limit ${limit * 16}
      for update of d skip locked
    ),
    others as (
      select d.chat_ref from telegram_outbox d
      join telegram_chats c on c.id = d.chat_ref
      where d.state = 'pending' and d.kind <> 'order' and d.next_attempt_at <= now()
        and (d.locked_until is null or d.locked_until < now())
        and (c.next_send_at is null or c.next_send_at <= now())
        -- a group's last quarter of the minute is for new orders (sql/024): edits wait their turn
        and chat_edit_room(c.sent_window, c.chat_id, ${pacing.groupPerMinute}::int)
      order by d.next_attempt_at
      limit ${limit * 16}
      for update of d skip locked
    ),
    chats as (
      select c.id, ${paceSql(sql, pacing)} as pace_ms, chat_edit_room(c.sent_window, c.chat_id, ${pacing.groupPerMinute}::int) as edit_room
      from telegram_chats c
      where (c.id in (select chat_ref from new_orders) or c.id in (select chat_ref from others))
        and (c.next_send_at is null or c.next_send_at <= now())
        -- A request is making the first attempt of a new order in this chat: leave the chat to it, so
        -- the new order is not made to wait behind an edit that took the slot first. And a paced chat
        -- has one attempt in flight at most: a send slower than the chat's interval (a loaded machine,
        -- a slow Bot API) must not have the next one overtake it, or Telegram counts two in a second.
        -- Its completion moves the slot on from Telegram's acceptance.
        and not exists (select 1 from telegram_outbox o where o.chat_ref = c.id and o.state = 'pending' and o.locked_until > now()
                        and ((o.kind = 'order' and o.attempts = 0) or ${isPacedSql(sql, pacing, 'c')}))
      -- chats with a new order first
      order by (c.id in (select chat_ref from new_orders)) desc
      limit ${limit}
      -- no key update: the FK checks of new outbox rows (KEY SHARE on the chat) never wait for a claim
      for no key update of c skip locked
    ),
    picked as (
      select p.id, ch.id as chat_ref, ch.pace_ms
      from chats ch
      cross join lateral (
        select d.id from telegram_outbox d
        where d.chat_ref = ch.id and d.state = 'pending' and d.next_attempt_at <= now()
          and (d.locked_until is null or d.locked_until < now())
          and (d.kind = 'order' or ch.edit_room)
        order by (d.kind <> 'order'), d.next_attempt_at, d.id
        limit 1
        for update skip locked) p
    ),
    paced as (
      update telegram_chats c set ${reserveSlot(sql, pacing)}
      from picked p where c.id = p.chat_ref and p.pace_ms > 0
    ),
    -- The same for people's private chats (buyers, couriers): one per chat, 1 s apart, in what is left of \`limit\`.
    p_candidates as (
      select d.private_chat_ref from telegram_outbox d
      join telegram_private_chats pc on pc.id = d.private_chat_ref
      where d.state = 'pending' and d.private_chat_ref is not null and d.next_attempt_at <= now()
        and (d.locked_until is null or d.locked_until < now())
        and (pc.next_send_at is null or pc.next_send_at <= now())
      order by d.next_attempt_at
      limit ${limit * 16}
      for update of d skip locked
    ),
    p_chats as (
      select pc.id from telegram_private_chats pc
      where pc.id in (select private_chat_ref from p_candidates) and (pc.next_send_at is null or pc.next_send_at <= now())
      limit greatest(0, ${limit} - (select count(*) from picked))
      for update of pc skip locked
    ),
    p_picked as (
      select p.id, pc.id as private_chat_ref
      from p_chats pc
      cross join lateral (
        select d.id from telegram_outbox d
        where d.private_chat_ref = pc.id and d.state = 'pending' and d.next_attempt_at <= now()
          and (d.locked_until is null or d.locked_until < now())
        order by d.next_attempt_at, d.id
        limit 1
        for update skip locked) p
    ),
    p_paced as (
      update telegram_private_chats pc set next_send_at = now() + make_interval(secs => ${pacing.chatIntervalMs} / 1000.0)
      from p_picked p where pc.id = p.private_chat_ref and ${pacing.chatIntervalMs}::int > 0
    )
    update telegram_outbox d set locked_by = ${owner}, locked_until = now() + make_interval(secs => ${leaseSec})
    from (select id from picked union all select id from p_picked) p where d.id = p.id
    returning d.id, d.shop_id`
}

/**
 * Makes the rest of the transaction "quiet": outbox rows it leaves due do not NOTIFY the dispatchers
 * (sql/025). NOTIFY serializes every notifying commit on one database-wide lock, WAL flush included,
 * so the hot paths (intake, status changes, completions) skip it and wake their own process's
 * dispatcher instead; other replicas find such rows at their next poll. A select-list expression.
 */
export const QUIET_OUTBOX_SQL = `set_config('ptn.quiet_outbox', 'on', true) as quiet_outbox`

/** The chat-vs-group pacing rule, written once: groups and channels have negative ids (or @names). */
export function paceMs(chatId: string, pacing: Pacing): number {
  return chatId.startsWith('-') || chatId.startsWith('@') ? pacing.groupIntervalMs : pacing.chatIntervalMs
}
/** The same rule as SQL (over `c.chat_id` of `telegram_chats c`), for statements that pace chats. */
const paceSql = (sql: Sql, pacing: Pacing) =>
  sql`(case when chat_is_group(c.chat_id) then ${pacing.groupIntervalMs}::int else ${pacing.chatIntervalMs}::int end)`

/**
 * Whether a chat (`<alias>.chat_id`) is paced at all, as SQL: a group by its interval or its per-minute
 * window, a private chat by its interval. A paced chat has one attempt in flight at most.
 */
export const isPacedSql = (sql: Sql, pacing: Pacing, alias: string) =>
  sql`(case when chat_is_group(${sql.unsafe(alias)}.chat_id) then ${pacing.groupIntervalMs > 0 || pacing.groupPerMinute > 0}::boolean
            else ${pacing.chatIntervalMs > 0}::boolean end)`

/**
 * The SET list that reserves a chat's slot for a message going out now (`telegram_chats c`): the send
 * joins the chat's last minute (sql/018) and the next slot follows the chat's spacing and, for a
 * group, its per-minute window.
 */
export const reserveSlot = (sql: Sql, pacing: Pacing) => {
  // only groups keep a window: a private chat (most messages) skips the array work on this hot path
  const window = sql`(case when chat_is_group(c.chat_id) then chat_window_push(c.sent_window, now()) else c.sent_window end)`
  return sql`sent_window = ${window},
      next_send_at = chat_next_slot(${window}, now(), chat_is_group(c.chat_id), ${paceSql(sql, pacing)}, ${pacing.groupPerMinute}::int)`
}

/**
 * Telegram accepted the message: the notification is done, the recipient's own message is recorded,
 * the recipient's state is cleared, and — for a new-order message — the order's log row says SENT once
 * every recipient has it; one statement. A status edit re-queued while this one was in flight (its
 * revision moved on) stays pending, so the newer status is sent next instead of being lost.
 * `paceMs` moves the chat's next slot from Telegram's acceptance (claims count from the claim).
 */
export async function finishSent(
  sql: Sql,
  p: {
    id: string
    kind: string
    shopId: string
    orderId: string | null
    chatRef: string | null
    /** a person's private chat (buyer, courier) instead of a recipient */
    privateChatRef?: string | null
    text: string
    messageId: number
    chatId: string
    mock: boolean
    revision?: number
    paceMs?: number
    /** A group's window (Pacing.groupPerMinute), applied with `paceMs`. */
    groupPerMinute?: number
    isStatusLine?: boolean
    /** A pending status edit of this recipient's message (its revision when the message was rendered) that the message made moot. */
    settleEditRevision?: number | null
  },
): Promise<void> {
  // from Telegram's acceptance: the message's entry in the chat's last minute moves to now
  const pace = p.paceMs
    ? sql`, sent_window = (case when chat_is_group(chat_id) then chat_window_touch(sent_window, now()) else sent_window end),
          next_send_at = greatest(next_send_at, chat_next_slot(
            (case when chat_is_group(chat_id) then chat_window_touch(sent_window, now()) else sent_window end),
            now(), chat_is_group(chat_id), ${p.paceMs}::int, ${p.groupPerMinute ?? 0}::int))`
    : sql``
  const written = await sql`
    with d as (
      update telegram_outbox
      set state = case when revision = ${p.revision ?? 0} then 'done' else 'pending' end,
          next_attempt_at = now(), attempts = attempts + 1, locked_by = null, locked_until = null, last_error = null, last_error_code = null, updated_at = now()
      where id = ${p.id}
      -- quiet: an edit re-queued here is taken by this process's dispatcher, woken after every attempt
      returning attempts, ${sql.unsafe(QUIET_OUTBOX_SQL)}),
    c as (
      update telegram_chats set last_sent_at = now(), last_error = null, last_error_code = null, last_error_at = null, updated_at = now()${pace}
      where id = ${p.chatRef}),
    pc as (
      update telegram_private_chats set last_sent_at = now(), last_error = null, last_error_code = null, last_error_at = null,
             next_send_at = greatest(next_send_at, now() + make_interval(secs => ${p.paceMs ?? 0} / 1000.0))
      where id = ${p.privateChatRef ?? null}::bigint),
    e as (
      -- the edit was asked for before this message was rendered with the status it asks for: done.
      -- A newer change bumps the revision (or comes after this row was read): that edit stays due.
      update telegram_outbox set state = 'done', last_error = null, last_error_code = null, updated_at = now()
      where ${p.settleEditRevision ?? null}::int is not null and order_id = ${p.orderId} and chat_ref = ${p.chatRef} and kind = 'order_status'
        and state = 'pending' and revision = ${p.settleEditRevision ?? null}::int and locked_by is null),
    m as (
      insert into telegram_messages (order_id, chat_ref, message_id, chat_id)
      select ${p.orderId}, ${p.chatRef}, ${p.messageId}, ${p.chatId}
      where ${p.chatRef}::bigint is not null and not ${p.isStatusLine ?? false}
      on conflict (order_id, chat_ref) do update set message_id = excluded.message_id, chat_id = excluded.chat_id,
        -- a new message (not an edit of the same one) is sent now: a courier card older than its courier's release is offered anew
        sent_at = case when telegram_messages.message_id is distinct from excluded.message_id then now() else telegram_messages.sent_at end),
    l as (
      update telegram_send_log set message = ${p.text}, message_id = ${p.messageId}
      where shop_id = ${p.shopId} and order_id = ${p.orderId} and ${p.kind} = 'order_status' and not ${p.isStatusLine ?? false}
        and chat_id = ${p.chatId})
    -- SENT once every recipient's new-order notification is done; showing the first recipient's message
    insert into telegram_send_log (shop_id, order_id, message, status, error, attempts, sent_at, message_id, chat_id, mock)
    select ${p.shopId}, ${p.orderId}, ${p.text}, 'SENT', null, coalesce((select attempts from d), 1), now(),
           coalesce(fm.message_id, ${p.messageId}), coalesce(fm.chat_id, ${p.chatId}), ${p.mock}
    from (select 1) one
    left join lateral (
      select m.message_id, m.chat_id from telegram_messages m
      where m.order_id = ${p.orderId} and m.chat_ref < ${p.chatRef ?? 0} order by m.chat_ref limit 1) fm on true
    where ${p.kind} = 'order'
      and not exists (select 1 from telegram_outbox x where x.order_id = ${p.orderId} and x.kind = 'order' and x.state <> 'done' and x.id <> ${p.id})
    on conflict (shop_id, order_id) do update set
      status = 'SENT', error = null, error_code = null, sent_at = now(),
      attempts = greatest(telegram_send_log.attempts, excluded.attempts),
      message = excluded.message, message_id = excluded.message_id, chat_id = excluded.chat_id,
      mock = excluded.mock, updated_at = now()
    returning 1`
  if (p.kind !== 'order' || written.length) return
  // Not written: another recipient's notification was not done when this statement began. Two
  // recipients finishing at once could each see the other unfinished, so look again after both have
  // committed (settleSentLog). A shop with one chat never gets here — its statement above already
  // wrote SENT in one round trip.
  await settleSentLog(sql, p)
}

/**
 * The second look for an order's SENT log row: under the order's row lock (a fresh snapshot), SENT
 * once every recipient's new-order notification is done; the last recipient to look writes it.
 */
export async function settleSentLog(sql: Sql, p: { shopId: string; orderId: string | null; text: string; mock: boolean }): Promise<void> {
  await sql.begin(async (tx) => {
    await tx`select 1 from orders where id = ${p.orderId} for update`
    await tx`
      insert into telegram_send_log (shop_id, order_id, message, status, error, attempts, sent_at, message_id, chat_id, mock)
      select ${p.shopId}, ${p.orderId}, ${p.text}, 'SENT', null,
             (select coalesce(max(attempts), 1) from telegram_outbox where order_id = ${p.orderId} and kind = 'order'), now(),
             fm.message_id, fm.chat_id, ${p.mock}
      from (select m.message_id, m.chat_id from telegram_messages m where m.order_id = ${p.orderId} order by m.chat_ref limit 1) fm
      where not exists (select 1 from telegram_outbox x where x.order_id = ${p.orderId} and x.kind = 'order' and x.state <> 'done')
      on conflict (shop_id, order_id) do update set
        status = 'SENT', error = null, error_code = null, sent_at = now(),
        attempts = greatest(telegram_send_log.attempts, excluded.attempts),
        message = excluded.message, message_id = excluded.message_id, chat_id = excluded.chat_id,
        mock = excluded.mock, updated_at = now()`
  })
}

/** What `finishSent` records (one finished send). */
export type SentRecord = Parameters<typeof finishSent>[1]

/**
 * Many recipients' new-order messages finished, recorded in ONE statement (`BatchCompleter`): what
 * `finishSent` does for each — the outbox rows done, each chat's state and pacing, the recipients'
 * message rows, the settled edits and the send log (its per-hour counters by trigger). Every record
 * is a recipient's own new-order message (`kind` 'order', a chat, not a status line), each outbox row
 * once. Returns the orders whose SENT row it could not write because another recipient's notification
 * was not done in its snapshot: the caller looks again (`settleSentLog`), as `finishSent` does.
 */
export async function finishSentBatch(sql: Sql, ps: SentRecord[]): Promise<string[]> {
  const col = <T>(f: (p: SentRecord) => T) => ps.map(f)
  const rows = await sql<{ order_id: string; written: boolean }[]>`
    with x as (
      select x.id::bigint as id, x.shop_id::bigint as shop_id, x.order_id::bigint as order_id, x.chat_ref::bigint as chat_ref, x.text,
             x.message_id::bigint as message_id, x.chat_id, x.mock::boolean as mock, x.revision::int as revision,
             x.pace_ms::int as pace_ms, x.per_minute::int as per_minute, x.settle::int as settle, ${sql.unsafe(QUIET_OUTBOX_SQL)}
      from unnest(${col((p) => p.id)}::text[], ${col((p) => p.shopId)}::text[], ${col((p) => p.orderId)}::text[], ${col((p) => p.chatRef)}::text[],
                  ${col((p) => p.text)}::text[], ${col((p) => String(p.messageId))}::text[], ${col((p) => p.chatId)}::text[],
                  ${col((p) => String(p.mock))}::text[], ${col((p) => String(p.revision ?? 0))}::text[], ${col((p) => String(p.paceMs ?? 0))}::text[],
                  ${col((p) => String(p.groupPerMinute ?? 0))}::text[], ${col((p) => (p.settleEditRevision == null ? null : String(p.settleEditRevision)))}::text[])
           as x(id, shop_id, order_id, chat_ref, text, message_id, chat_id, mock, revision, pace_ms, per_minute, settle)),
    d as (
      update telegram_outbox t
      set state = case when t.revision = x.revision then 'done' else 'pending' end,
          next_attempt_at = now(), attempts = t.attempts + 1, locked_by = null, locked_until = null, last_error = null, last_error_code = null, updated_at = now()
      from x where t.id = x.id
      returning t.id, t.order_id, t.state, t.attempts),
    -- each chat once: its errors cleared and its pacing moved from Telegram's acceptance (as finishSent)
    c as (
      update telegram_chats ch set last_sent_at = now(), last_error = null, last_error_code = null, last_error_at = null, updated_at = now(),
          sent_window = case when xc.pace_ms > 0 and chat_is_group(ch.chat_id) then chat_window_touch(ch.sent_window, now()) else ch.sent_window end,
          next_send_at = case when xc.pace_ms > 0 then greatest(ch.next_send_at, chat_next_slot(
            (case when chat_is_group(ch.chat_id) then chat_window_touch(ch.sent_window, now()) else ch.sent_window end),
            now(), chat_is_group(ch.chat_id), xc.pace_ms, xc.per_minute)) else ch.next_send_at end
      from (select distinct on (chat_ref) chat_ref, pace_ms, per_minute from x order by chat_ref, pace_ms desc) xc
      where ch.id = xc.chat_ref
        -- an unpaced chat without an error is touched at most once a second: a hot chat's row stays free
        -- for intake (which skips a busy chat row and leaves that send to the dispatcher)
        and (xc.pace_ms > 0 or ch.last_error is not null or ch.last_sent_at is null or ch.last_sent_at < now() - interval '1 second')),
    e as (
      -- a pending status edit the message already shows (finishSent's rule)
      update telegram_outbox t set state = 'done', last_error = null, last_error_code = null, updated_at = now()
      from x
      where x.settle is not null and t.order_id = x.order_id and t.chat_ref = x.chat_ref and t.kind = 'order_status'
        and t.state = 'pending' and t.revision = x.settle and t.locked_by is null),
    m as (
      insert into telegram_messages (order_id, chat_ref, message_id, chat_id)
      select order_id, chat_ref, message_id, chat_id from x
      on conflict (order_id, chat_ref) do update set message_id = excluded.message_id, chat_id = excluded.chat_id,
        sent_at = case when telegram_messages.message_id is distinct from excluded.message_id then now() else telegram_messages.sent_at end),
    -- per order, SENT once every recipient's new-order notification is done (this batch's included)
    ready as (
      select distinct on (x.order_id) x.*, d.attempts,
             not exists (select 1 from telegram_outbox o
                         where o.order_id = x.order_id and o.kind = 'order' and o.state <> 'done'
                           and not exists (select 1 from d d2 where d2.id = o.id and d2.state = 'done')) as all_done
      from x join d on d.id = x.id
      order by x.order_id, x.chat_ref),
    l as (
      insert into telegram_send_log (shop_id, order_id, message, status, error, attempts, sent_at, message_id, chat_id, mock)
      select r.shop_id, r.order_id, r.text, 'SENT', null, r.attempts, now(), coalesce(fm.message_id, r.message_id), coalesce(fm.chat_id, r.chat_id), r.mock
      from ready r
      left join lateral (
        select m.message_id, m.chat_id from telegram_messages m
        where m.order_id = r.order_id and m.chat_ref < r.chat_ref order by m.chat_ref limit 1) fm on true
      where r.all_done
      on conflict (shop_id, order_id) do update set
        status = 'SENT', error = null, error_code = null, sent_at = now(),
        attempts = greatest(telegram_send_log.attempts, excluded.attempts),
        message = excluded.message, message_id = excluded.message_id, chat_id = excluded.chat_id,
        mock = excluded.mock, updated_at = now()
      returning order_id)
    select r.order_id::text as order_id, exists (select 1 from l where l.order_id = r.order_id) as written from ready r`
  return rows.filter((r) => !r.written).map((r) => r.order_id)
}

/**
 * The attempt failed. `retryAt` null means give up (terminal error or out of attempts): the
 * notification is dead and stays FAILED until the owner presses "retry". Only the lease holder may
 * record this, and a FAILED never overwrites a SENT. The recipient shows the reason. One statement.
 */
export async function finishFailed(
  sql: Sql,
  p: {
    id: string
    owner: string
    kind: string
    shopId: string
    orderId: string | null
    chatRef: string | null
    privateChatRef?: string | null
    text: string
    error: string
    errorCode: string
    retryAt: Date | null
    revision?: number
  },
): Promise<boolean> {
  const rev = p.revision ?? 0
  const [r] = await sql<{ recorded: boolean }[]>`
    with d as (
      update telegram_outbox
      set state = case when ${p.retryAt}::timestamptz is null and revision = ${rev} then 'dead' else 'pending' end,
          next_attempt_at = case when revision <> ${rev} then now() else coalesce(${p.retryAt}::timestamptz, next_attempt_at) end,
          attempts = attempts + 1, locked_by = null, locked_until = null, last_error = ${p.error}, last_error_code = ${p.errorCode}, updated_at = now()
      where id = ${p.id} and locked_by = ${p.owner} and state = 'pending'
      returning attempts),
    c as (
      update telegram_chats set last_error = ${p.error}, last_error_code = ${p.errorCode}, last_error_at = now(), updated_at = now()
      where id = ${p.chatRef} and exists (select 1 from d)),
    pc as (
      update telegram_private_chats set last_error = ${p.error}, last_error_code = ${p.errorCode}, last_error_at = now()
      where id = ${p.privateChatRef ?? null}::bigint and exists (select 1 from d)),
    l as (
      insert into telegram_send_log (shop_id, order_id, message, status, error, error_code, attempts)
      select ${p.shopId}, ${p.orderId}, ${p.text}, 'FAILED', ${p.error}, ${p.errorCode}, d.attempts from d where ${p.kind} = 'order'
      on conflict (shop_id, order_id) do update set
        status = 'FAILED', error = excluded.error, error_code = excluded.error_code, attempts = greatest(telegram_send_log.attempts, excluded.attempts), updated_at = now()
      where telegram_send_log.status <> 'SENT')
    select exists (select 1 from d) as recorded`
  return !!r?.recorded
}

/** Gives a lease back without counting an attempt (shutdown, or nothing could be tried). */
export async function releaseLease(sql: Sql, id: string, owner: string): Promise<void> {
  await sql`update telegram_outbox set locked_by = null, locked_until = null where id = ${id} and locked_by = ${owner}`
}

export type RequeueResult = { state: 'queued'; ids: string[] } | { state: 'already_sent' } | { state: 'in_progress' } | { state: 'none' }

/**
 * The owner's "retry": every dead (or waiting) new-order notification of the order becomes due now and
 * is leased to the caller, who attempts them at once. A recipient that has it is not sent it again.
 */
export async function requeueNotifications(sql: Sql, shopId: number, orderId: number, owner: string, leaseSec: number): Promise<RequeueResult> {
  const rows = await sql<{ id: string }[]>`
    update telegram_outbox
    set state = 'pending', next_attempt_at = now(), locked_by = ${owner},
        locked_until = now() + make_interval(secs => ${leaseSec}), updated_at = now(),
        attempts = case when state = 'dead' then 0 else attempts end
    where shop_id = ${shopId} and order_id = ${orderId} and kind = 'order'
      and state in ('dead', 'pending') and (locked_until is null or locked_until < now())
    returning id`
  if (rows.length) return { state: 'queued', ids: rows.map((r) => r.id) }
  const existing = await sql<{ state: string }[]>`
    select state from telegram_outbox where shop_id = ${shopId} and order_id = ${orderId} and kind = 'order'`
  if (!existing.length) return { state: 'none' }
  return existing.every((e) => e.state === 'done') ? { state: 'already_sent' } : { state: 'in_progress' }
}

/** Nothing to do for this delivery (e.g. a status edit of an order whose notification never went out). */
export async function finishSkipped(sql: Sql, id: string, owner: string, reason: string): Promise<void> {
  await sql`
    update telegram_outbox set state = 'done', locked_by = null, locked_until = null, last_error = ${reason}, updated_at = now()
    where id = ${id} and locked_by = ${owner}`
}

/** Try again later without counting an attempt (a status edit waiting for the message it edits). */
export async function postpone(sql: Sql, id: string, owner: string, until: Date): Promise<void> {
  await sql`
    update telegram_outbox set next_attempt_at = ${until}, locked_by = null, locked_until = null, updated_at = now()
    where id = ${id} and locked_by = ${owner}`
}

/**
 * In the transaction that changed an order's status: queue, per recipient, the edit of its own message
 * (every recipient that got or is getting the order), or a short status line for a recipient that did
 * not get the order but asked for status changes (`order_status`) or cancellations (`order_cancelled`).
 * One row per (order, recipient); a later change bumps its revision and makes it due, so edits of one
 * message coalesce to the newest status.
 */
export async function queueStatusEdit(tx: Sql, shopId: number, orderId: number, status: string): Promise<boolean> {
  const event = status === 'cancelled' ? 'order_cancelled' : 'order_status'
  const rows = await tx`
    insert into telegram_outbox (shop_id, order_id, kind, chat_ref)
    select c.shop_id, ${orderId}, 'order_status', c.id from telegram_chats c
    where c.shop_id = ${shopId} and c.enabled
      and (exists (select 1 from telegram_outbox o where o.order_id = ${orderId} and o.kind = 'order' and o.chat_ref = c.id)
           or ${event} = any(c.events))
    on conflict (order_id, kind, chat_ref, due_key) do update set
      state = 'pending', next_attempt_at = now(), attempts = 0, last_error = null,
      revision = telegram_outbox.revision + 1, updated_at = now()`
  return rows.count > 0
}

/**
 * The group became a supergroup (`migrate_to_chat_id`): that recipient follows it (and the integration's
 * first-chat mirror, if it was that chat); other recipients are untouched.
 */
export async function migrateChat(sql: Sql, shopId: number, chatRef: string | null, fromChatId: string, toChatId: string): Promise<void> {
  await sql`
    with c as (update telegram_chats set chat_id = ${toChatId}, updated_at = now() where id = ${chatRef} and chat_id = ${fromChatId})
    update telegram_integrations set chat_id = ${toChatId}, updated_at = now()
    where shop_id = ${shopId} and chat_id = ${fromChatId}`
}

/**
 * How far behind the shop's notifications are: the age of its oldest due notification, in whole
 * seconds (0 when nothing waits). Above Telegram's limits nothing is lost; this says how late it is.
 */
export async function oldestDueAgeSec(sql: Sql, shopId: number): Promise<number> {
  const [r] = await sql<{ s: number | null }[]>`
    select floor(extract(epoch from now() - min(d.next_attempt_at)))::int as s
    from telegram_chats c join telegram_outbox d on d.chat_ref = c.id and d.state = 'pending' and d.next_attempt_at <= now()
    where c.shop_id = ${shopId}`
  return Math.max(0, r?.s ?? 0)
}
