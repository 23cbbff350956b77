-- The platform hears everything: every change a platform cares about writes an event row in the same
-- transaction as the change (the outbox pattern again). The event log is the truth; the webhook
-- deliveries and the `GET /events` feed are two views of it.

-- Shops provisioned by the platform carry its own id for them; lookups and upserts go by it.
alter table shops add column external_id text check (external_id is null or length(external_id) between 1 and 200);
create unique index shops_external_id_uq on shops (external_id) where external_id is not null;

-- a per-order counter, so consumers can order an order's events (`data.sequence`)
alter table orders add column event_seq integer not null default 0;
-- which fields the latest edit by the POS changed: the Telegram message says «✏️ Изменено: …»
alter table orders add column edited_fields text[];

create table platform_events (
  id           bigint generated always as identity primary key,
  -- null only for events that belong to no shop (an operator-wide `webhook.test`)
  shop_id      bigint references shops (id) on delete cascade,
  type         text not null check (type ~ '^[a-z_]+\.[a-z_]+$'),
  order_id     bigint,
  data         jsonb not null,
  occurred_at  timestamptz not null default now()
);
create index platform_events_shop_idx on platform_events (shop_id, id);
create index platform_events_time_idx on platform_events (occurred_at);

-- Where the platform wants events: operator-wide (shop_id null) or one shop's, for chosen types.
create table webhook_endpoints (
  id                    bigint generated always as identity primary key,
  shop_id               bigint references shops (id) on delete cascade,
  url                   text not null check (url ~ '^https?://' and length(url) <= 2000),
  -- null: every type
  events                text[],
  description           text not null default '' check (length(description) <= 500),
  enabled               boolean not null default true,
  disabled_reason       text,
  -- AES-GCM ciphertexts of `whsec_…` (the signature needs the secret itself, not a hash)
  secret                text not null,
  previous_secret       text,
  previous_secret_until timestamptz,
  -- the first failure of the current run of failures; three days of nothing but failures disables it
  failing_since         timestamptz,
  created_by            text not null default '',
  created_at            timestamptz not null default now(),
  updated_at            timestamptz not null default now()
);
create index webhook_endpoints_shop_idx on webhook_endpoints (shop_id);

-- The webhook outbox: one row per event × endpoint, leased, retried on its own schedule (never mixed
-- with Telegram's pacing). `webhook-id` is the event id, the same on every attempt.
create table webhook_deliveries (
  id               bigint generated always as identity primary key,
  endpoint_id      bigint not null references webhook_endpoints (id) on delete cascade,
  event_id         bigint not null references platform_events (id) on delete cascade,
  state            text not null default 'pending' check (state in ('pending', 'delivered', 'failed')),
  attempts         integer not null default 0,
  next_attempt_at  timestamptz not null default now(),
  locked_until     timestamptz,
  locked_by        text,
  last_status_code integer,
  last_error       text,
  delivered_at     timestamptz,
  created_at       timestamptz not null default now(),
  updated_at       timestamptz not null default now(),
  unique (endpoint_id, event_id)
);
create index webhook_deliveries_due_idx on webhook_deliveries (next_attempt_at) where state = 'pending';
create index webhook_deliveries_endpoint_idx on webhook_deliveries (endpoint_id, id desc);

-- Fan-out in the event's own transaction: an event committed is an event queued for every endpoint
-- that wants it, whoever wrote it (and an endpoint added later does not get the past).
create function platform_event_fanout() returns trigger language plpgsql as $$
begin
  insert into webhook_deliveries (endpoint_id, event_id)
  select e.id, new.id from webhook_endpoints e
  where e.enabled and (e.shop_id is null or e.shop_id = new.shop_id)
    and (e.events is null or new.type = any(e.events))
    and (new.type <> 'webhook.test');
  if exists (select 1 from webhook_endpoints e where e.enabled) then
    perform pg_notify('webhook_due', '');
  end if;
  return null;
end $$;
create trigger platform_event_fanout after insert on platform_events
  for each row execute function platform_event_fanout();

-- What offboarding keeps: the shop is gone, the line that says who removed it stays.
create table shop_offboarding_log (
  id           bigint generated always as identity primary key,
  shop_id      bigint not null,
  external_id  text,
  name         text not null,
  actor_label  text not null,
  details      jsonb,
  deleted_at   timestamptz not null default now()
);

-- Recipients and bots change in many places (the API, a /start, a migrated group, a new bot taking its
-- chats with it): triggers write their events in the changing transaction, whoever the writer is.
-- While a shop is being deleted its rows go by cascade and no event is written (the shop's events go too).
create function platform_recipient_events() returns trigger language plpgsql as $$
begin
  if tg_op = 'INSERT' then
    insert into platform_events (shop_id, type, data)
    values (new.shop_id, 'recipient.added', jsonb_build_object('shopId', new.shop_id, 'recipientId', new.id, 'type', new.type, 'title', new.title));
  elsif exists (select 1 from shops where id = old.shop_id) then
    insert into platform_events (shop_id, type, data)
    values (old.shop_id, 'recipient.removed', jsonb_build_object('shopId', old.shop_id, 'recipientId', old.id));
  end if;
  return null;
end $$;
create trigger platform_recipient_events after insert or delete on telegram_chats
  for each row execute function platform_recipient_events();

create function platform_bot_events() returns trigger language plpgsql as $$
begin
  if tg_op = 'INSERT' or new.bot_id is distinct from old.bot_id or (new.enabled and not old.enabled) then
    insert into platform_events (shop_id, type, data)
    values (new.shop_id, 'telegram.connected', jsonb_build_object('shopId', new.shop_id, 'botUsername', new.bot_username));
  elsif old.enabled and not new.enabled then
    insert into platform_events (shop_id, type, data)
    values (new.shop_id, 'telegram.disconnected', jsonb_build_object('shopId', new.shop_id, 'botUsername', new.bot_username, 'reason', 'disabled'));
  end if;
  return null;
end $$;
create trigger platform_bot_events after insert or update of bot_id, enabled on telegram_integrations
  for each row execute function platform_bot_events();

-- A notification of an order reached its recipient (or failed for good): written by the statement
-- that records the outcome, whatever code path does it. Status edits of a message are not reported
-- one by one (the platform has `order.status_changed`); a notification settled without a send
-- (`last_error` kept as its reason) is not "sent".
create function platform_notification_events() returns trigger language plpgsql as $$
declare o record;
begin
  if new.order_id is null or new.kind = 'order_status' then return null; end if;
  if new.state = 'done' and old.state <> 'done' and new.last_error is null then
    update orders set event_seq = event_seq + 1 where id = new.order_id returning number, event_seq into o;
    insert into platform_events (shop_id, type, order_id, data)
    values (new.shop_id, 'notification.sent', new.order_id, jsonb_build_object('shopId', new.shop_id, 'orderId', new.order_id,
            'number', o.number, 'sequence', o.event_seq, 'recipientId', new.chat_ref, 'kind', new.kind));
  elsif new.state = 'dead' and old.state <> 'dead' then
    update orders set event_seq = event_seq + 1 where id = new.order_id returning number, event_seq into o;
    insert into platform_events (shop_id, type, order_id, data)
    values (new.shop_id, 'notification.failed', new.order_id, jsonb_strip_nulls(jsonb_build_object('shopId', new.shop_id, 'orderId', new.order_id,
            'number', o.number, 'sequence', o.event_seq, 'recipientId', new.chat_ref, 'kind', new.kind, 'errorCode', new.last_error_code)));
  end if;
  return null;
end $$;
create trigger platform_notification_events after update of state on telegram_outbox
  for each row when (new.state is distinct from old.state) execute function platform_notification_events();
