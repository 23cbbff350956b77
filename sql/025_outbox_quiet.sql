-- The outbox's NOTIFY (sql/003) serialized the hot paths: PostgreSQL takes one database-wide lock for
-- every transaction that notifies, from its pre-commit until its commit is done, WAL flush included.
-- The peak-day bench found one backend waiting on it (Lock:object at commit) at every moment, and
-- every status change of 200 a second notifying. A transaction may now say it is quiet
-- (set_config('ptn.quiet_outbox', 'on', true), QUIET_OUTBOX_SQL in notifications/outbox.ts): its
-- process wakes its own dispatcher instead, and other replicas find the rows at their next poll.
-- Everything else (a lease given back, the buyer's and couriers' messages, a row written by hand)
-- still wakes every replica at once.
drop trigger telegram_outbox_due on telegram_outbox;
create trigger telegram_outbox_due
  after insert or update of state, next_attempt_at, locked_by on telegram_outbox
  for each row
  when (new.state = 'pending' and new.locked_by is null and new.next_attempt_at <= now() + interval '1 second'
        and current_setting('ptn.quiet_outbox', true) is distinct from 'on')
  execute function telegram_outbox_notify();

-- The claim looks for due new orders apart from the rest (notifications/outbox.ts), so a backlog of
-- status edits never hides a new order; this index keeps that look as cheap as the general one.
create index telegram_outbox_due_order_idx on telegram_outbox (next_attempt_at) where state = 'pending' and kind = 'order';
