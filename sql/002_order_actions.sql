-- Acting on an order from Telegram: who accepted it (their Telegram id, for "was it me?"),
-- and a revision on outbox rows so a status edit queued while an older edit is in flight is not lost.
alter table orders add column accepted_by_tg_id bigint;
alter table telegram_outbox add column revision integer not null default 0;
