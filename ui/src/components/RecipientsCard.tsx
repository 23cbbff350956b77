import { createSignal, For, Show } from 'solid-js'
import { userMessage, type Recipient, type RecipientChange, type RecipientEvent, type ShopApi } from '../api'
import { explainError } from '../format'
import { TimeField } from './TimeField'

const EVENTS: { id: RecipientEvent; label: string }[] = [
  { id: 'order_created', label: 'Новые заказы' },
  { id: 'order_status', label: 'Смена статуса' },
  { id: 'order_cancelled', label: 'Отмены' },
  { id: 'delivery_reminder', label: 'Напоминания о доставке' },
  { id: 'daily_summary', label: 'Утренняя сводка' },
]

const STATE: Record<Recipient['state'], { label: string; tone: string }> = {
  active: { label: 'Работает', tone: 'ok' },
  paused: { label: 'Выключен', tone: 'paused' },
  failing: { label: 'Ошибка', tone: 'bad' },
  removed: { label: 'Бот удалён из чата', tone: 'bad' },
}

/** «Работает» is a promise that messages get through: only once one did (a chat added by id may be a typo). */
const stateOf = (r: Recipient) => (r.state === 'active' && !r.lastSentAt ? { label: 'Ждёт первого сообщения', tone: 'waiting' } : STATE[r.state])

const kind = (r: Recipient) =>
  r.type === 'private' ? 'личный чат' : r.type === 'channel' ? 'канал' : r.type ? 'группа' : r.chatId.startsWith('-') ? 'группа' : 'чат'

/**
 * Who gets what: every chat the shop's bot writes to (owner, florists' group or its topic, courier),
 * with the events it wants, quiet hours, a test message and removal. Each change is saved at once.
 */
export function RecipientsCard(props: { api: ShopApi; recipients: Recipient[]; onChange: () => void }) {
  const [busy, setBusy] = createSignal<number | null>(null)
  const [note, setNote] = createSignal<{ id: number; ok: boolean; text: string } | null>(null)

  const run = async (r: Recipient, what: () => Promise<unknown>, done?: string) => {
    setBusy(r.id)
    setNote(null)
    try {
      await what()
      if (done) setNote({ id: r.id, ok: true, text: done })
    } catch (err) {
      setNote({ id: r.id, ok: false, text: userMessage(err) })
    } finally {
      setBusy(null)
      props.onChange()
    }
  }
  const change = (r: Recipient, c: RecipientChange) => run(r, () => props.api.changeChat(r.id, c))
  const toggleEvent = (r: Recipient, e: RecipientEvent, on: boolean) => change(r, { events: on ? [...r.events, e] : r.events.filter((x) => x !== e) })
  const test = (r: Recipient) =>
    run(
      r,
      async () => {
        const t = await props.api.testChat(r.id)
        if (!t.sent) throw new Error(explainError(t.error ?? '', t.errorCode).title)
      },
      'Тестовое сообщение отправлено',
    )

  return (
    <section class="card" aria-labelledby="recipients-title" data-testid="recipients">
      <div class="card-head">
        <h2 id="recipients-title">Кто получает уведомления</h2>
        <span class="muted small">
          {props.recipients.length
            ? `${props.recipients.length} ${props.recipients.length === 1 ? 'чат' : props.recipients.length < 5 ? 'чата' : 'чатов'}`
            : ''}
        </span>
      </div>
      <Show when={props.recipients.length} fallback={<p class="muted">Пока ни одного чата: откройте ссылку на бота выше и нажмите «Запустить».</p>}>
        <ul class="recipients">
          <For each={props.recipients}>
            {(r) => (
              <li class="recipient" data-testid="recipient" data-recipient-id={r.id} data-state={r.state}>
                <div class="recipient-head">
                  <div>
                    <strong>{r.title ?? r.chatId}</strong>
                    <span class="muted small">
                      {' · '}
                      {kind(r)}
                      {r.threadId ? ` · тема №${r.threadId}` : ''}
                      {r.title ? ` · ${r.chatId}` : ''}
                    </span>
                  </div>
                  <span class={`badge small ${stateOf(r).tone}`} data-testid="recipient-state">
                    {stateOf(r).label}
                  </span>
                </div>
                <Show when={r.state === 'active' && !r.lastSentAt}>
                  <p class="small muted recipient-note-line" data-testid="recipient-waiting">
                    Сюда ещё ничего не приходило. Нажмите «Тест», чтобы проверить, что сообщения доходят.
                  </p>
                </Show>
                <Show when={r.state === 'failing' || r.state === 'removed'}>
                  <p class="recipient-advice" role="note">
                    <b>{explainError(r.lastError ?? '', r.lastErrorCode ?? (r.state === 'removed' ? 'bot_kicked' : null)).title}.</b>{' '}
                    {explainError(r.lastError ?? '', r.lastErrorCode ?? (r.state === 'removed' ? 'bot_kicked' : null)).action}
                  </p>
                </Show>
                <div class="recipient-row">
                  <label class="label small" for={`role-${r.id}`}>
                    Кто в чате
                  </label>
                  <select
                    id={`role-${r.id}`}
                    class="input small"
                    data-testid="recipient-role"
                    value={r.role}
                    disabled={busy() === r.id}
                    onChange={(ev) => change(r, { role: ev.currentTarget.value as Recipient['role'] })}
                  >
                    <option value="staff">Сотрудники магазина</option>
                    <option value="courier">Курьеры</option>
                  </select>
                </div>
                <Show when={r.role === 'courier'}>
                  <p class="help small" data-testid="recipient-courier-help">
                    Сюда приходят только карточки доставки с кнопкой «🚚 Беру»: когда, куда и кому — без суммы, состава и данных покупателя.
                  </p>
                </Show>
                <Show when={r.role !== 'courier'}>
                  <fieldset class="events" disabled={busy() === r.id}>
                    <legend class="visually-hidden">События для этого чата</legend>
                    <For each={EVENTS}>
                      {(e) => (
                        <label class="check">
                          <input
                            type="checkbox"
                            data-testid={`event-${e.id}`}
                            checked={r.events.includes(e.id)}
                            onChange={(ev) => toggleEvent(r, e.id, ev.currentTarget.checked)}
                          />
                          {e.label}
                        </label>
                      )}
                    </For>
                  </fieldset>
                </Show>
                <div class="recipient-row">
                  <label class="check">
                    <input
                      type="checkbox"
                      data-testid="quiet-toggle"
                      checked={!!r.quietHours}
                      disabled={busy() === r.id}
                      onChange={(ev) => change(r, { quietHours: ev.currentTarget.checked ? { from: '22:00', to: '08:00' } : null })}
                    />
                    Тихие часы
                  </label>
                  <Show when={r.quietHours}>
                    {(q) => (
                      <span class="quiet">
                        <TimeField
                          label="Тихие часы с"
                          testid="quiet-from"
                          disabled={busy() === r.id}
                          value={q().from}
                          onChange={(from) => change(r, { quietHours: { from, to: q().to } })}
                        />
                        <span aria-hidden="true">–</span>
                        <TimeField
                          label="Тихие часы до"
                          testid="quiet-to"
                          disabled={busy() === r.id}
                          value={q().to}
                          onChange={(to) => change(r, { quietHours: { from: q().from, to } })}
                        />
                        <span class="muted small">без звука, но сразу</span>
                      </span>
                    )}
                  </Show>
                </div>
                <div class="recipient-row actions">
                  <label class="check">
                    <input
                      type="checkbox"
                      data-testid="recipient-enabled"
                      checked={r.enabled}
                      disabled={busy() === r.id}
                      onChange={(ev) => change(r, { enabled: ev.currentTarget.checked })}
                    />
                    Присылать в этот чат
                  </label>
                  <span class="spacer" />
                  <button type="button" class="btn small" data-testid="recipient-test" disabled={busy() === r.id} onClick={() => test(r)}>
                    Тест
                  </button>
                  <button
                    type="button"
                    class="btn small ghost"
                    data-testid="recipient-remove"
                    disabled={busy() === r.id}
                    onClick={() => confirm(`Больше не присылать уведомления в «${r.title ?? r.chatId}»?`) && run(r, () => props.api.removeChat(r.id))}
                  >
                    Убрать
                  </button>
                </div>
                <Show when={note()?.id === r.id}>
                  <p class={`small ${note()!.ok ? 'ok-text' : 'bad-text'}`} role="status" data-testid="recipient-note">
                    {note()!.text}
                  </p>
                </Show>
              </li>
            )}
          </For>
        </ul>
      </Show>
    </section>
  )
}
