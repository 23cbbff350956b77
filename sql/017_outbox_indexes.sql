-- Fewer indexes on the busiest table. Every outbox row is inserted once and updated to done once (not a
-- HOT update: `state` is in the partial indexes' predicate), so each index costs two entries per
-- message. Six became four:
-- * "once" uniqueness as a plain NULLS NOT DISTINCT index: it serves `order_id = …` lookups as its
--   leading column, so the separate (order_id, kind) index of 014 goes;
-- * the per-shop due index goes: the shop's oldest due message is found through its chats
--   (telegram_outbox_chat_due_idx), the only other place that used it.
drop index telegram_outbox_order_idx;
drop index telegram_outbox_once_uq;
create unique index telegram_outbox_once_uq on telegram_outbox (order_id, kind, chat_ref, due_key) nulls not distinct;
drop index telegram_outbox_shop_due_idx;
