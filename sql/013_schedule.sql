-- Scheduled messages are outbox rows with a due time, claimed by the same dispatcher (no cron, no second
-- queue): a reminder before an order's delivery window (one per order and recipient) and the morning
-- summary (one per recipient chat and shop-local day, `due_key` = 'YYYY-MM-DD'). The unique index makes
-- restarts and replicas unable to write either twice.
alter table telegram_outbox alter column order_id drop not null;
alter table telegram_outbox add column due_key text;
alter table telegram_outbox drop constraint telegram_outbox_kind_check;
alter table telegram_outbox add constraint telegram_outbox_kind_check check (kind in ('order', 'order_status', 'delivery_reminder', 'daily_summary'));
alter table telegram_outbox add constraint telegram_outbox_target_check check ((order_id is null) = (kind = 'daily_summary'));
drop index telegram_outbox_once_uq;
create unique index telegram_outbox_once_uq on telegram_outbox (coalesce(order_id, 0), kind, coalesce(chat_ref, 0), coalesce(due_key, ''));
