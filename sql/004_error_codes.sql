-- A machine-readable reason next to the readable one, so the settings page can say what to do
-- without parsing text: bot_blocked, bot_kicked, forbidden, token_revoked, chat_not_found,
-- telegram_unavailable, rate_limited, rejected, not_connected, no_chat, disabled, token_unreadable,
-- attempts_exhausted.
alter table telegram_send_log add column error_code text;
alter table telegram_outbox add column last_error_code text;
