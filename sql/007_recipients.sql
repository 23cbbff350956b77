-- Several chats per shop. The shop's one bot writes to recipients, each with the events it wants, an
-- optional forum topic and quiet hours. A notification (outbox row) is per (order, kind, recipient);
-- the pacing slot is per recipient chat. `telegram_integrations.chat_id` stays the FIRST recipient's
-- chat (older clients read it): a trigger keeps the first recipient in step with it.

alter table shops add column time_zone text not null default 'Europe/Moscow';

create table telegram_chats (
  id               bigint generated always as identity primary key,
  shop_id          bigint not null references shops (id) on delete cascade,
  chat_id          text not null check (chat_id ~ '^(-?[0-9]{1,20}|@[A-Za-z0-9_]{4,64})$'),
  -- forum topic (message_thread_id); null for the chat itself
  thread_id        bigint check (thread_id > 0),
  title            text,
  type             text,
  events           text[] not null default array['order_created', 'order_status', 'order_cancelled', 'delivery_reminder', 'daily_summary']
                   check (events <@ array['order_created', 'order_status', 'order_cancelled', 'delivery_reminder', 'daily_summary']),
  -- inside [quiet_from, quiet_to) in the shop's time zone messages go silently, never later
  quiet_from       time,
  quiet_to         time,
  enabled          boolean not null default true,
  -- 'member' | 'left' | 'kicked' as last reported by my_chat_member
  member_status    text,
  -- pacing: Telegram allows about 1 message/s to a chat, 20/min to a group
  next_send_at     timestamptz,
  last_sent_at     timestamptz,
  last_error       text,
  last_error_code  text,
  last_error_at    timestamptz,
  created_at       timestamptz not null default now(),
  updated_at       timestamptz not null default now(),
  check ((quiet_from is null) = (quiet_to is null))
);
create unique index telegram_chats_target_uq on telegram_chats (shop_id, chat_id, coalesce(thread_id, 0));
create index telegram_chats_shop_idx on telegram_chats (shop_id, id);

insert into telegram_chats (shop_id, chat_id, title, type, member_status, next_send_at)
select shop_id, chat_id, chat_title, chat_type, chat_member_status, next_send_at
from telegram_integrations where chat_id is not null;

-- The first recipient follows the integration's chat (connect {chatId}, the first /start, a migrated
-- group); a new bot (chat reset to null) takes all recipients with it: the old bot's chats are not its own.
create function telegram_first_recipient_sync() returns trigger language plpgsql as $$
declare first_id bigint;
begin
  if new.chat_id is null then
    if old.chat_id is not null then delete from telegram_chats where shop_id = new.shop_id; end if;
    return null;
  end if;
  select id into first_id from telegram_chats where shop_id = new.shop_id order by id limit 1;
  if first_id is null then
    insert into telegram_chats (shop_id, chat_id, title, type, member_status)
    values (new.shop_id, new.chat_id, new.chat_title, new.chat_type, new.chat_member_status)
    on conflict do nothing;
  elsif tg_op = 'UPDATE' and new.chat_id is distinct from old.chat_id then
    if not exists (select 1 from telegram_chats where shop_id = new.shop_id and chat_id = new.chat_id) then
      update telegram_chats set chat_id = new.chat_id, thread_id = null, title = new.chat_title, type = new.chat_type,
             member_status = new.chat_member_status, last_error = null, last_error_code = null, updated_at = now()
      where id = first_id;
    end if;
  elsif tg_op = 'UPDATE' then
    update telegram_chats set title = coalesce(new.chat_title, title), type = coalesce(new.chat_type, type),
           member_status = new.chat_member_status, updated_at = now()
    where id = first_id and chat_id = new.chat_id;
  end if;
  return null;
end $$;

create trigger telegram_first_recipient
  after insert or update of chat_id, chat_title, chat_type, chat_member_status on telegram_integrations
  for each row execute function telegram_first_recipient_sync();

-- Notifications per recipient; existing rows go to the shop's first recipient.
alter table telegram_outbox add column chat_ref bigint references telegram_chats (id) on delete cascade;
update telegram_outbox o set chat_ref = (select c.id from telegram_chats c where c.shop_id = o.shop_id order by c.id limit 1);
alter table telegram_outbox drop constraint telegram_outbox_order_id_kind_key;
create unique index telegram_outbox_once_uq on telegram_outbox (order_id, kind, coalesce(chat_ref, 0));
create index telegram_outbox_chat_due_idx on telegram_outbox (chat_ref, next_attempt_at) where state = 'pending';

-- Each recipient's own message of an order (status changes edit it; a press on it is checked against it).
create table telegram_messages (
  order_id    bigint not null references orders (id) on delete cascade,
  chat_ref    bigint not null references telegram_chats (id) on delete cascade,
  message_id  bigint not null,
  chat_id     text not null,
  sent_at     timestamptz not null default now(),
  primary key (order_id, chat_ref)
);
insert into telegram_messages (order_id, chat_ref, message_id, chat_id, sent_at)
select l.order_id, c.id, l.message_id, l.chat_id, coalesce(l.sent_at, l.updated_at)
from telegram_send_log l join lateral (select id from telegram_chats where shop_id = l.shop_id order by id limit 1) c on true
where l.status = 'SENT' and l.message_id is not null;

-- A notification written without a recipient (older writers) goes to the shop's first recipient.
create function telegram_outbox_default_recipient() returns trigger language plpgsql as $$
begin
  new.chat_ref := (select id from telegram_chats where shop_id = new.shop_id order by id limit 1);
  return new;
end $$;
create trigger telegram_outbox_recipient before insert on telegram_outbox
  for each row when (new.chat_ref is null) execute function telegram_outbox_default_recipient();
