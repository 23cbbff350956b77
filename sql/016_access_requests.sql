-- Someone who is not the owner opened the shop's Mini App: the owner is asked once («Разрешить»),
-- and not again for the same person within ten minutes however often they retry.
create table telegram_access_requests (
  shop_id       bigint not null references shops (id) on delete cascade,
  tg_user_id    bigint not null,
  name          text not null,
  requested_at  timestamptz not null default now(),
  primary key (shop_id, tg_user_id)
);
