-- The status page's 7-day counts without scanning the window: per shop and hour, how many log rows
-- (one per order) are SENT / FAILED, by the hour of their `updated_at` — the same thing the full count
-- counts. Kept by a trigger in the very statement that writes the log row, so it is exact under
-- retries, resends and FAILED → SENT (the row leaves one bucket and enters another).
create table telegram_send_counts (
  shop_id  bigint not null references shops (id) on delete cascade,
  hour     timestamptz not null,
  sent     integer not null default 0,
  failed   integer not null default 0,
  primary key (shop_id, hour)
);

create function telegram_send_counts_apply(p_shop bigint, p_at timestamptz, p_status text, p_delta integer) returns void language sql as $$
  insert into telegram_send_counts as c (shop_id, hour, sent, failed)
  values (p_shop, date_trunc('hour', p_at), case when p_status = 'SENT' then p_delta else 0 end, case when p_status = 'FAILED' then p_delta else 0 end)
  on conflict (shop_id, hour) do update set sent = c.sent + excluded.sent, failed = c.failed + excluded.failed
$$;

create function telegram_send_counts_track() returns trigger language plpgsql as $$
begin
  if tg_op in ('UPDATE', 'DELETE') then
    if tg_op = 'UPDATE' and new.status = old.status and date_trunc('hour', new.updated_at) = date_trunc('hour', old.updated_at) then
      return null;
    end if;
    perform telegram_send_counts_apply(old.shop_id, old.updated_at, old.status, -1);
  end if;
  if tg_op in ('INSERT', 'UPDATE') then
    perform telegram_send_counts_apply(new.shop_id, new.updated_at, new.status, 1);
  end if;
  return null;
end $$;

create trigger telegram_send_counts
  after insert or update of status, updated_at or delete on telegram_send_log
  for each row execute function telegram_send_counts_track();

insert into telegram_send_counts (shop_id, hour, sent, failed)
select shop_id, date_trunc('hour', updated_at), count(*) filter (where status = 'SENT'), count(*) filter (where status = 'FAILED')
from telegram_send_log group by 1, 2;
