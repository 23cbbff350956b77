-- Live updates for open pages: a change a page shows is announced with pg_notify('shop_events'), but
-- only for shops somebody is watching right now. NOTIFY serialises committing transactions on a global
-- queue lock, so the order intake of the ~1,200 shops nobody is looking at must not pay for it: a
-- process with open streams keeps its shops in `live_watchers` (lease renewed every minute), and the
-- triggers notify only for those.
create table live_watchers (
  shop_id  bigint primary key references shops (id) on delete cascade,
  until    timestamptz not null
);

create function live_notify() returns trigger language plpgsql as $$
declare
  shop bigint;
  body text;
begin
  if tg_op = 'DELETE' then shop := old.shop_id; else shop := new.shop_id; end if;
  if not exists (select 1 from live_watchers w where w.shop_id = shop and w.until > now()) then
    return null;
  end if;
  -- one branch per table: a plpgsql expression may only name the fields its table has
  if tg_table_name = 'orders' then
    body := json_build_object('shop', shop, 'order', new.id)::text;
  elsif tg_table_name in ('telegram_send_log', 'telegram_outbox') then
    body := json_build_object('shop', shop, 'order', new.order_id)::text;
  elsif tg_table_name = 'telegram_chats' then
    body := json_build_object('shop', shop, 'chats', true)::text;
  else
    body := json_build_object('shop', shop, 'status', true)::text;
  end if;
  perform pg_notify('shop_events', body);
  return null;
end $$;

create trigger orders_live after insert or update on orders
  for each row execute function live_notify();
create trigger send_log_live after insert or update on telegram_send_log
  for each row execute function live_notify();
-- one recipient of an order got it (or failed): the order's row on the page shows each recipient
create trigger outbox_live after update of state on telegram_outbox
  for each row when (old.state is distinct from new.state and new.order_id is not null and new.kind = 'order')
  execute function live_notify();
-- a chat's own bookkeeping (pacing slot, last sent, clearing a cleared error) changes on every message:
-- only a change the page shows calls the function (WHEN is evaluated without calling it)
create trigger chats_live_rows after insert or delete on telegram_chats
  for each row execute function live_notify();
create trigger chats_live after update on telegram_chats
  for each row when (old.enabled is distinct from new.enabled or old.member_status is distinct from new.member_status
                     or old.last_error is distinct from new.last_error or old.events is distinct from new.events
                     or old.quiet_from is distinct from new.quiet_from or old.quiet_to is distinct from new.quiet_to
                     or old.thread_id is distinct from new.thread_id or old.title is distinct from new.title
                     or old.chat_id is distinct from new.chat_id)
  execute function live_notify();
create trigger integrations_live after update of chat_id, enabled, bot_username, chat_title on telegram_integrations
  for each row execute function live_notify();
