-- Couriers, and orders nobody accepts.
--
-- A recipient chat has a role: `staff` (every notification, as before) or `courier` (only delivery
-- cards: never the total, the prices or the buyer's name and phone). A courier chat has no staff events,
-- so every statement that picks chats by event (new orders, status edits, reminders, summaries) leaves
-- it out by construction; the check keeps it so.
alter table telegram_chats add column role text not null default 'staff' check (role in ('staff', 'courier'));
alter table telegram_chats add constraint telegram_chats_courier_events check (role = 'staff' or events = '{}');

-- Raise an order still `new` this many minutes after it came in (null: never).
alter table shops add column accept_within_minutes integer default 15 check (accept_within_minutes between 1 and 240);

-- The order's courier: the first press of «Беру» wins (`courier_tg_id is null` in the update decides),
-- staff may take them off (`courier_released_at`, so the card goes back to the couriers' chat as a new
-- message). The private card sent to the courier is edited when the delivery ends.
alter table orders add column courier_name text;
alter table orders add column courier_tg_id bigint;
alter table orders add column courier_at timestamptz;
alter table orders add column courier_released_at timestamptz;
alter table orders add column courier_card_chat_id text;
alter table orders add column courier_card_message_id bigint;
-- proof of delivery: the Telegram file_id of the courier's photo (valid for the shop's bot)
alter table orders add column delivery_photo text;
-- the same photo as the order's photo of kind 'delivery' (sql/022), which the page shows
alter table orders add column delivery_photo_id bigint references order_photos (id) on delete set null;
alter table orders add column delivered_at timestamptz;

-- when the order was raised for nobody accepting it (once: the platform event is written with it)
alter table orders add column unaccepted_at timestamptz;

-- A courier's private chat with the shop's bot (they opened it with /start), and the order whose
-- «Доставлено» waits for a photo from them.
create table courier_contacts (
  shop_id         bigint not null references shops (id) on delete cascade,
  tg_user_id      bigint not null,
  chat_id         text not null,
  name            text,
  awaiting_photo  bigint references orders (id) on delete set null,
  created_at      timestamptz not null default now(),
  primary key (shop_id, tg_user_id)
);

-- New message kinds, delivered by the same outbox:
-- * courier_card: the delivery card in a courier chat (one per order and chat; a change bumps its revision);
-- * courier_report: what the courier reported (delivered / could not reach / returned) to a staff chat,
--   `due_key` = '<outcome>:<n>' so each report is written once;
-- * courier_buyer_news: the same news for the order's subscribed buyer (sql/022 order_buyers), in plain
--   words and without the courier's name, to the buyer's private chat;
-- * order_unaccepted: the second call for an order nobody accepted, due `accept_within_minutes` after it
--   came in, one per staff chat (the unique index keeps it once across restarts and replicas).
-- (sql/022 checks a kind's shape only: no constraint to change here)
