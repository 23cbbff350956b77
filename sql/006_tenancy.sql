-- Every shop sees only its own: the credentials of a shop's POS (API keys) and of its owner
-- (sessions traded for a platform-signed launch token), and who changed what.

-- A POS credential. Only a hash is kept; `prefix` is the visible start of the key so an owner can tell
-- keys apart. Revocation sets revoked_at: the key stops working on the next request, on every replica.
create table shop_api_keys (
  id            bigint generated always as identity primary key,
  shop_id       bigint not null references shops (id) on delete cascade,
  name          text not null default '' check (length(name) <= 100),
  prefix        text not null,
  key_hash      text not null unique,
  created_at    timestamptz not null default now(),
  -- updated at most once a minute, so a busy POS does not turn every request into a write
  last_used_at  timestamptz,
  revoked_at    timestamptz
);
create index shop_api_keys_shop_idx on shop_api_keys (shop_id, id) where revoked_at is null;

-- An owner session: a random bearer token (hash kept) scoped to one shop, at most 12 hours.
create table owner_sessions (
  id            bigint generated always as identity primary key,
  shop_id       bigint not null references shops (id) on delete cascade,
  token_hash    text not null unique,
  -- 'launch' (platform-signed JWT) or 'telegram' (Mini App initData)
  source        text not null check (source in ('launch', 'telegram')),
  -- the platform user (JWT sub/name) or the Telegram user, for the audit trail
  subject       text,
  subject_name  text,
  created_at    timestamptz not null default now(),
  expires_at    timestamptz not null,
  revoked_at    timestamptz
);

-- Launch tokens are single use: the jti is recorded until the token would have expired anyway.
create table used_launch_tokens (
  jti         text primary key,
  expires_at  timestamptz not null
);
create index used_launch_tokens_expiry_idx on used_launch_tokens (expires_at);

-- Who changed the integration, a recipient or an order's status, kept with the change.
create table audit_log (
  id           bigint generated always as identity primary key,
  shop_id      bigint not null references shops (id) on delete cascade,
  -- 'operator' | 'api_key' | 'owner' | 'telegram' | 'open' (development without ADMIN_TOKEN)
  actor_kind   text not null,
  actor_id     text,
  actor_label  text not null,
  action       text not null,
  order_id     bigint references orders (id) on delete cascade,
  details      jsonb,
  created_at   timestamptz not null default now()
);
create index audit_log_shop_idx on audit_log (shop_id, id desc);
create index audit_log_order_idx on audit_log (order_id, id desc) where order_id is not null;
