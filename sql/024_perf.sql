-- Performance by design (issue 27).

-- Replicas alive right now, by heartbeat: each process divides every per-shop rate limit by their
-- number, so the limits hold as one budget whatever the number of replicas (platform/http/replicas.ts).
-- Unlogged: heartbeats are rewritten every few seconds and are worthless after a crash.
create unlogged table app_replicas (
  id      text primary key,
  seen_at timestamptz not null default now()
);

-- A hot shop's finished sends all bumped one counter row (shop, hour) from the send-log trigger
-- (sql/011): each waited for the previous one's commit on that row lock, so one busy shop's intake
-- queued behind itself. The counts are now spread over 4 stripes by the writing connection; readers
-- already sum the rows of the window, so they read at most 4 × 168 small rows.
alter table telegram_send_counts add column stripe smallint not null default 0;
alter table telegram_send_counts drop constraint telegram_send_counts_pkey;
alter table telegram_send_counts add primary key (shop_id, hour, stripe);

create or replace function telegram_send_counts_apply(p_shop bigint, p_at timestamptz, p_status text, p_delta integer) returns void language sql as $$
  insert into telegram_send_counts as c (shop_id, hour, stripe, sent, failed)
  values (p_shop, date_trunc('hour', p_at), pg_backend_pid() % 4,
          case when p_status = 'SENT' then p_delta else 0 end, case when p_status = 'FAILED' then p_delta else 0 end)
  on conflict (shop_id, hour, stripe) do update set sent = c.sent + excluded.sent, failed = c.failed + excluded.failed
$$;

-- Edits never starve new orders: a group's minute keeps room for them. A status edit (or any message
-- that is not a new order) may take a group's slot only while fewer than per_minute − per_minute/4
-- of its messages fall within the last minute; the last quarter is kept for new orders. Waiting edits
-- coalesce to the newest status (one row per order and recipient) and go when the minute has room.
create function chat_edit_room(w timestamptz[], chat_id text, per_minute int) returns boolean language sql stable
  return not chat_is_group(chat_id) or per_minute <= 0
         or (select count(*) from unnest(w) t where t > now() - interval '1 minute') < per_minute - greatest(1, per_minute / 4);
