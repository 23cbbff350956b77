-- Telegram allows a group about 20 messages a minute. Spacing every group message 3 s apart kept to
-- that, but made a group inside the limit wait up to 3 s for each new order. Now each chat keeps the
-- times of its recent messages (`sent_window`, the last minute) and a group may get messages 1 s apart
-- until 20 fall within one minute; the next then waits for the oldest to leave the minute. A private
-- chat keeps its 1 s spacing. The rule is written once, here, and used by every statement that paces.
alter table telegram_chats add column sent_window timestamptz[] not null default '{}';

create function chat_is_group(chat_id text) returns boolean language sql immutable
  return chat_id like '-%' or chat_id like '@%';

-- the recent sends after one more at `at`: the last minute's, oldest first, at most 100
create function chat_window_push(w timestamptz[], at timestamptz) returns timestamptz[] language sql stable
  return (select coalesce(array_agg(t order by t), '{}') from (
            select t from unnest(w || array[at]) t where t > at - interval '1 minute' order by t desc limit 100) x);

-- Telegram accepted the message at `at` (a little after its slot was taken): its entry moves there
create function chat_window_touch(w timestamptz[], at timestamptz) returns timestamptz[] language sql stable
  return case when cardinality(w) = 0 then array[at] else w[1:cardinality(w) - 1] || greatest(w[cardinality(w)], at) end;

-- when the chat may get its next message: `interval_ms` after `at`, and for a group, once fewer than
-- `per_minute` of its messages fall within the last minute
create function chat_next_slot(w timestamptz[], at timestamptz, is_group boolean, interval_ms int, per_minute int) returns timestamptz
  language sql stable
  return greatest(at + make_interval(secs => interval_ms / 1000.0),
                  case when is_group and per_minute > 0 and cardinality(w) >= per_minute
                       then w[cardinality(w) - per_minute + 1] + interval '1 minute' else at end);
