-- 013 replaced the (order_id, kind) unique constraint with an expression index that lookups by
-- `order_id = …` cannot use: every per-order outbox lookup (loading a notification, the send log's
-- "all recipients done", status edits, the orders list) became a scan of the whole outbox.
create index telegram_outbox_order_idx on telegram_outbox (order_id, kind);
