-- Message kinds are modules (notifications/kinds): the outbox row stops growing per kind.
-- * `kind` is checked for its shape only, so a new kind needs no migration of the constraint;
-- * `payload` carries what a kind needs beyond order, chat and due key (a photo id, a relayed message);
-- * a notification goes to a recipient chat (`chat_ref`) or to a person's private chat with the bot
--   (`private_chat_ref`: a buyer, a courier), each with its own pacing slot (1 message a second).
alter table telegram_outbox drop constraint telegram_outbox_kind_check;
alter table telegram_outbox add constraint telegram_outbox_kind_check check (kind ~ '^[a-z_]+$');
alter table telegram_outbox drop constraint telegram_outbox_target_check;
alter table telegram_outbox add constraint telegram_outbox_target_check
  check ((kind = 'daily_summary') <= (order_id is null) and (kind in ('order', 'order_status', 'delivery_reminder')) <= (order_id is not null));
alter table telegram_outbox add column payload jsonb;

-- People who talk to a shop's bot in a private chat but are not its recipients. Private chats only
-- (a user id is positive); paced like recipient chats: `next_send_at` is this chat's next slot.
create table telegram_private_chats (
  id               bigint generated always as identity primary key,
  shop_id          bigint not null references shops (id) on delete cascade,
  chat_id          text not null check (chat_id ~ '^[1-9][0-9]{0,19}$'),
  -- the first name Telegram reported: the only thing of the person the staff ever see
  first_name       text,
  next_send_at     timestamptz,
  last_sent_at     timestamptz,
  last_error       text,
  last_error_code  text,
  last_error_at    timestamptz,
  created_at       timestamptz not null default now(),
  unique (shop_id, chat_id)
);

alter table telegram_outbox add column private_chat_ref bigint references telegram_private_chats (id) on delete cascade;
alter table telegram_outbox add constraint telegram_outbox_one_target check (chat_ref is null or private_chat_ref is null);
create index telegram_outbox_private_due_idx on telegram_outbox (next_attempt_at) where state = 'pending' and private_chat_ref is not null;
create index telegram_outbox_private_ref_idx on telegram_outbox (private_chat_ref) where private_chat_ref is not null;

-- A notification for a person's chat is not a recipient's: only rows with neither get the first recipient.
drop trigger telegram_outbox_recipient on telegram_outbox;
create trigger telegram_outbox_recipient before insert on telegram_outbox
  for each row when (new.chat_ref is null and new.private_chat_ref is null) execute function telegram_outbox_default_recipient();

-- The order's buyer: the first person to open the order's buyer link (t.me/<bot>?start=<code>). Once
-- set, the person never changes (the trigger below): a forwarded link subscribes nobody else.
create table order_buyers (
  order_id          bigint primary key references orders (id) on delete cascade,
  shop_id           bigint not null references shops (id) on delete cascade,
  private_chat_ref  bigint not null references telegram_private_chats (id) on delete cascade,
  tg_user_id        bigint not null,
  subscribed        boolean not null default true,
  -- «✏️ Хочу изменить» was pressed under this photo: the buyer's next text is the change they ask for
  awaiting_change_photo bigint,
  subscribed_at     timestamptz not null default now(),
  stopped_at        timestamptz
);
create index order_buyers_chat_idx on order_buyers (private_chat_ref);

create function order_buyers_keep_person() returns trigger language plpgsql as $$
begin
  if new.tg_user_id <> old.tg_user_id or new.private_chat_ref <> old.private_chat_ref or new.order_id <> old.order_id then
    raise exception 'an order''s buyer is the first person who opened its link' using errcode = 'check_violation';
  end if;
  return new;
end $$;
create trigger order_buyers_keep_person before update on order_buyers
  for each row execute function order_buyers_keep_person();

-- Photos of an order: Telegram keeps the file, we keep its `file_id` (valid for the shop's bot).
-- `kind`: 'bouquet' (sent to the buyer to approve), 'delivery' (a courier's proof); `approval` is the
-- buyer's answer about the newest bouquet photo they were asked about.
create table order_photos (
  id               bigint generated always as identity primary key,
  shop_id          bigint not null references shops (id) on delete cascade,
  order_id         bigint not null references orders (id) on delete cascade,
  kind             text not null default 'bouquet' check (kind ~ '^[a-z_]+$'),
  file_id          text not null,
  file_unique_id   text,
  -- who sent it (the staff member's Telegram name and id): the page shows it, the buyer never
  by_name          text,
  by_tg_id         bigint,
  at               timestamptz not null default now(),
  approval         text check (approval in ('pending', 'approved', 'changes_requested')),
  comment          text,
  answered_at      timestamptz
);
create index order_photos_order_idx on order_photos (order_id, id);

-- Conversations through the bot: a person (buyer, courier) and the staff talk via the shop's bot.
-- One row per message said; its copies (the relayed messages in other chats) map back to it, so a
-- reply to a copy finds its way to the other side. Kept 30 days.
create table conversation_messages (
  id                bigint generated always as identity primary key,
  shop_id           bigint not null references shops (id) on delete cascade,
  order_id          bigint not null references orders (id) on delete cascade,
  -- 'buyer' | 'courier': who the person is in this conversation
  party             text not null check (party ~ '^[a-z_]+$'),
  private_chat_ref  bigint not null references telegram_private_chats (id) on delete cascade,
  -- 'in': from the person to the staff; 'out': from the staff to the person
  direction         text not null check (direction in ('in', 'out')),
  -- the staff member's name for 'out' (the page shows it; the person never sees it)
  author            text,
  body              text,
  -- a photo's file_id (shown on the page), for messages with media
  photo_file_id     text,
  -- the original message in its chat
  from_chat_id      text not null,
  from_message_id   bigint not null,
  at                timestamptz not null default now(),
  unique (shop_id, from_chat_id, from_message_id)
);
create index conversation_messages_order_idx on conversation_messages (order_id, id);
create index conversation_messages_rate_idx on conversation_messages (private_chat_ref, at) where direction = 'in';
create index conversation_messages_age_idx on conversation_messages (at);

create table conversation_copies (
  message_ref  bigint not null references conversation_messages (id) on delete cascade,
  shop_id      bigint not null references shops (id) on delete cascade,
  chat_id      text not null,
  message_id   bigint not null,
  primary key (shop_id, chat_id, message_id)
);
create index conversation_copies_message_idx on conversation_copies (message_ref);

-- Open pages show the buyer side of an order live (sql/015): a photo, its answer, a message, a
-- subscription announce the order, only for shops somebody is watching.
create function live_notify_order_part() returns trigger language plpgsql as $$
begin
  if exists (select 1 from live_watchers w where w.shop_id = new.shop_id and w.until > now()) then
    perform pg_notify('shop_events', json_build_object('shop', new.shop_id, 'order', new.order_id)::text);
  end if;
  return null;
end $$;
create trigger order_photos_live after insert or update on order_photos
  for each row execute function live_notify_order_part();
create trigger conversation_messages_live after insert on conversation_messages
  for each row execute function live_notify_order_part();
create trigger order_buyers_live after insert or update of subscribed on order_buyers
  for each row execute function live_notify_order_part();
