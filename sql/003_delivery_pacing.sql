-- Delivery scheduling. Telegram allows about one message per second to a chat (about 20 a minute to
-- a group): the dispatcher sends to a chat no earlier than `next_send_at`, claimed per integration.
alter table telegram_integrations add column next_send_at timestamptz;

-- Outbox rows that any dispatcher could take now (not leased to a request making the first attempt)
-- wake the dispatchers of every replica at commit, instead of waiting for their next poll.
-- pg_notify collapses identical notifications of one transaction, so a bulk insert wakes once.
create function telegram_outbox_notify() returns trigger language plpgsql as $$
begin
  perform pg_notify('telegram_outbox', '');
  return null;
end $$;

create trigger telegram_outbox_due
  after insert or update of state, next_attempt_at, locked_by on telegram_outbox
  for each row
  when (new.state = 'pending' and new.locked_by is null and new.next_attempt_at <= now() + interval '1 second')
  execute function telegram_outbox_notify();

-- The dispatcher takes the oldest due row of each claimed shop through this index.
create index telegram_outbox_shop_due_idx on telegram_outbox (shop_id, next_attempt_at) where state = 'pending';
