-- Telegram users the shop's owner allowed to open the settings inside Telegram (the Mini App), next to
-- the owner (the user who bound a private chat with the bot).
create table telegram_managers (
  shop_id     bigint not null references shops (id) on delete cascade,
  tg_user_id  bigint not null,
  name        text,
  added_by    text not null,
  created_at  timestamptz not null default now(),
  primary key (shop_id, tg_user_id)
);
