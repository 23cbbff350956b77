import { createSignal, For, onMount, Show } from 'solid-js'
import { userMessage, type Managers, type ShopApi } from '../api'
import { haptic } from '../telegram'

/**
 * Who may open the shop inside Telegram: the owner (who bound a private chat) and the people listed
 * here. Someone else who opens it is asked to wait, and the owner gets «Разрешить» in the bot; those
 * requests show here too. Anyone can be allowed by their Telegram id, or removed.
 */
export function ManagersCard(props: { api: ShopApi }) {
  const [data, setData] = createSignal<Managers | null>(null)
  const [note, setNote] = createSignal<{ ok: boolean; text: string } | null>(null)
  const [id, setId] = createSignal('')
  const [name, setName] = createSignal('')
  const load = async () => setData(await props.api.managers())
  onMount(() => void load().catch((err) => setNote({ ok: false, text: userMessage(err) })))

  const run = async (what: () => Promise<unknown>, done: string) => {
    setNote(null)
    try {
      await what()
      haptic.success()
      setNote({ ok: true, text: done })
    } catch (err) {
      haptic.error()
      setNote({ ok: false, text: userMessage(err) })
    } finally {
      await load().catch(() => {})
    }
  }
  const add = (e: Event) => {
    e.preventDefault()
    const n = Number(id().trim())
    if (!Number.isSafeInteger(n) || n <= 0) return setNote({ ok: false, text: 'Telegram ID — это число, например 123456789' })
    void run(() => props.api.allowManager(n, name().trim() || undefined), 'Добавлено').then(() => {
      setId('')
      setName('')
    })
  }

  return (
    <section class="card" aria-labelledby="managers-title" data-testid="managers">
      <div class="card-head">
        <h2 id="managers-title">Кто открывает магазин в Telegram</h2>
      </div>
      <p class="help">
        Кнопка «Заказы» в боте открывает эту страницу прямо в Telegram. Владелец (тот, кто подключил бота в личном чате) входит сам; остальные — если вы
        разрешили.
      </p>
      <Show when={data()?.requests.length}>
        <ul class="plain-list" data-testid="access-requests">
          <For each={data()!.requests}>
            {(r) => (
              <li class="manager-row">
                <span>
                  <b>{r.name}</b> <span class="muted small">просит доступ · id {r.telegramUserId}</span>
                </span>
                <button
                  type="button"
                  class="btn small primary"
                  onClick={() => run(() => props.api.allowManager(r.telegramUserId, r.name), `${r.name}: разрешено`)}
                >
                  Разрешить
                </button>
              </li>
            )}
          </For>
        </ul>
      </Show>
      <ul class="plain-list" data-testid="managers-list">
        <For each={data()?.items ?? []} fallback={<li class="muted small">Пока только владелец.</li>}>
          {(m) => (
            <li class="manager-row" data-testid="manager">
              <span>
                <b>{m.name ?? `id ${m.telegramUserId}`}</b> <span class="muted small">id {m.telegramUserId}</span>
              </span>
              <button type="button" class="btn small" onClick={() => run(() => props.api.removeManager(m.telegramUserId), 'Убрано')}>
                Убрать
              </button>
            </li>
          )}
        </For>
      </ul>
      <form class="manager-add" onSubmit={add}>
        <input
          class="input"
          inputmode="numeric"
          placeholder="Telegram ID"
          aria-label="Telegram ID"
          value={id()}
          onInput={(e) => setId(e.currentTarget.value)}
        />
        <input class="input" placeholder="Имя (необязательно)" aria-label="Имя" value={name()} onInput={(e) => setName(e.currentTarget.value)} />
        <button type="submit" class="btn">
          Добавить
        </button>
      </form>
      <Show when={note()}>{(n) => <p class={`small ${n().ok ? 'ok-text' : 'bad-text'}`}>{n().text}</p>}</Show>
    </section>
  )
}
