-- The demo shop and a handful of orders, so a fresh start has something to look at.
-- Idempotent: every insert conflicts with itself on the second run.
insert into shops (id, name) values (1, 'Цветочная лавка «Ромашка»') on conflict (id) do nothing;
select setval(pg_get_serial_sequence('shops', 'id'), greatest((select max(id) from shops), 1));

insert into orders (shop_id, number, total, customer_name, customer_phone, recipient_name, delivery_date, delivery_time, address, comment, created_at)
values
  (1, 'DEMO-1001', 2490.00, 'Анна Смирнова', '+7 916 555-12-01', null, current_date, '10:00–12:00', 'ул. Ленина, 12, кв. 5', 'Позвонить за час', now() - interval '3 days'),
  (1, 'DEMO-1002', 1234.50, 'Иван Петров', '+7 903 555-77-10', 'Мария Петрова', current_date + 1, '14:00–16:00', 'пр. Мира, 48', 'Открытка: «С днём рождения!»', now() - interval '2 days'),
  (1, 'DEMO-1003', 5600.00, 'Ольга Кузнецова', null, null, null, null, null, 'Самовывоз', now() - interval '2 days'),
  (1, 'DEMO-1004', 890.00, 'Сергей Иванов', '+7 925 555-00-42', null, current_date + 2, '18:00–20:00', 'ул. Садовая, 3', null, now() - interval '1 day'),
  (1, 'DEMO-1005', 12750.00, 'ООО «Весна»', '+7 495 555-30-30', 'Ресепшн', current_date + 3, '09:00–10:00', 'Пресненская наб., 10', 'Корпоративный заказ, 15 букетов', now() - interval '5 hours'),
  (1, 'DEMO-1006', 3100.00, 'Екатерина Соколова', null, null, null, null, null, null, now() - interval '1 hour')
on conflict (shop_id, number) do nothing;
