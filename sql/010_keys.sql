-- Secrets the service keeps itself. `button_mac` signs the callback data of order buttons; it is kept
-- here, apart from ENCRYPTION_KEY, so rotating the token encryption key never breaks buttons of
-- messages already sent (it is seeded on first start with the key those buttons were signed with).
create table app_secrets (
  name        text primary key,
  value       bytea not null,
  created_at  timestamptz not null default now()
);
