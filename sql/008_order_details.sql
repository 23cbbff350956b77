-- What is in the bouquet and when it must leave: line items, the postcard, "surprise — do not call the
-- recipient", and the delivery window parsed from `delivery_time` (for reminders); shop settings for
-- the florist's day (the time zone is in 007).
alter table orders add column items jsonb check (items is null or (jsonb_typeof(items) = 'array' and jsonb_array_length(items) <= 50));
alter table orders add column card_text text check (card_text is null or length(card_text) <= 500);
alter table orders add column surprise boolean not null default false;
alter table orders add column delivery_slot_from time;
alter table orders add column delivery_slot_to time;

alter table shops add column reminder_lead_minutes integer not null default 60 check (reminder_lead_minutes between 5 and 1440);
alter table shops add column summary_time time not null default '08:00';
