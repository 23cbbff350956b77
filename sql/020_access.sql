-- Closing the access holes (issue 23).

-- The shop's owner in Telegram is one explicit person: set when the owner binds their private chat
-- with a link issued by an owner session or the operator for that purpose, never "the first private
-- chat". In a private chat the chat id is the user id, so this is also the owner's chat.
alter table shops add column owner_tg_user_id bigint;

-- What the one-time start code does besides adding its chat: 'owner' also makes the private chat's
-- user the shop's owner in Telegram. Only owner sessions and the operator can see or issue a code.
alter table telegram_integrations add column start_code_purpose text not null default 'recipient'
  check (start_code_purpose in ('owner', 'recipient'));

-- Sessions know who opened them and what they are: an owner session (platform launch, or the owner
-- in Telegram) or a narrower manager session (a manager the owner allowed, from Telegram).
alter table owner_sessions add column kind text not null default 'owner' check (kind in ('owner', 'manager'));
alter table owner_sessions add column tg_user_id bigint;
-- one Mini App initData opens at most one session (the hash of its signature, kept until it expires)
alter table owner_sessions add column init_data_hash text;
create unique index owner_sessions_init_data_uq on owner_sessions (init_data_hash) where init_data_hash is not null;
create index owner_sessions_open_idx on owner_sessions (shop_id, id) where revoked_at is null;
create index owner_sessions_tg_user_idx on owner_sessions (shop_id, tg_user_id) where revoked_at is null and tg_user_id is not null;
