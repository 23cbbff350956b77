-- One tap to a bot (Bot API 9.6 managed bots). The platform's manager bot asks a shop owner to create
-- the shop's bot with a `request_managed_bot` button, hears `managed_bot`, fetches the new bot's token
-- and connects the shop as a pasted token would.

-- A shop's bot created through the manager bot: its token can be rotated with replaceManagedBotToken.
alter table telegram_integrations
  add column managed boolean not null default false,
  add column token_rotated_at timestamptz;

-- A `t.me/<manager bot>?start=<code>` link. The code is spent in two steps, each one conditional
-- update: the first `/start` with it takes it for that Telegram user (nobody else can start it after),
-- and that user's `managed_bot` update uses it (once). Both only while it is unexpired.
create table managed_bot_links (
  id           bigint generated always as identity primary key,
  shop_id      bigint not null references shops (id) on delete cascade,
  code         text not null unique check (code ~ '^[A-Za-z0-9_-]{16,64}$'),
  expires_at   timestamptz not null,
  -- the Telegram user who opened the link (the only one whose new bot counts)
  started_by   bigint,
  started_at   timestamptz,
  -- the bot that person created, once it is connected to the shop
  used_at      timestamptz,
  bot_id       bigint,
  created_at   timestamptz not null default now(),
  check ((used_at is null) or (started_by is not null and bot_id is not null))
);
create index managed_bot_links_shop_idx on managed_bot_links (shop_id, id desc);
create index managed_bot_links_starter_idx on managed_bot_links (started_by, started_at desc) where used_at is null;

-- The manager bot's updates, each handled once (Telegram redelivers on slow answers), and its
-- getUpdates offset with a lease, so two replicas never poll it at once.
create table manager_bot_updates (
  bot_id     bigint not null,
  update_id  bigint not null,
  seen_at    timestamptz not null default now(),
  primary key (bot_id, update_id)
);
create table manager_bot_polls (
  bot_id        bigint primary key,
  poll_offset   bigint not null default 0,
  locked_until  timestamptz
);

-- A bot created through the manager bot is connected without the page asking (often the shop's first
-- integration: an insert), so open pages must hear of it: the live trigger of 015 only sees updates.
create trigger integrations_live_insert after insert on telegram_integrations
  for each row execute function live_notify();
create trigger integrations_live_managed after update of managed on telegram_integrations
  for each row when (old.managed is distinct from new.managed) execute function live_notify();

-- `telegram.connected` says whether the bot was created through the manager bot
create or replace function platform_bot_events() returns trigger language plpgsql as $$
begin
  if tg_op = 'INSERT' or new.bot_id is distinct from old.bot_id or (new.enabled and not old.enabled) then
    insert into platform_events (shop_id, type, data)
    values (new.shop_id, 'telegram.connected', jsonb_build_object('shopId', new.shop_id, 'botUsername', new.bot_username, 'managed', new.managed));
  elsif old.enabled and not new.enabled then
    insert into platform_events (shop_id, type, data)
    values (new.shop_id, 'telegram.disconnected', jsonb_build_object('shopId', new.shop_id, 'botUsername', new.bot_username, 'reason', 'disabled'));
  end if;
  return null;
end $$;
