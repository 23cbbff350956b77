import { createSignal, For, onMount, Show } from 'solid-js'
import { userMessage, type Managers, type ShopApi } from '../api'
import { haptic } from '../telegram'

/**
 * Who may open the shop inside Telegram: the owner (who bound a private chat) and the people listed
 * here. Someone else who opens it is asked to wait, and the owner gets «Разрешить» in the bot; those
 * requests show here too. Adding someone by their numeric Telegram id is the fallback, folded away:
 * nobody knows their id. Shown only where the bot has a Mini App (an https PUBLIC_URL).
 */
export function ManagersCard(props: { api: ShopApi; botUsername: string }) {
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
      <p class="help">Сотрудники могут смотреть заказы прямо в Telegram — кнопкой «Заказы» в чате с ботом @{props.botUsername}. Вы входите сами.</p>
      <ol class="steps small managers-how">
        <li>Сотрудник открывает @{props.botUsername} и нажимает «Заказы».</li>
        <li>Вам в Telegram приходит его имя и кнопка «Разрешить». Нажмите её — или здесь, в списке ниже.</li>
      </ol>
      <Show when={data()?.requests.length}>
        <ul class="plain-list" data-testid="access-requests">
          <For each={data()!.requests}>
            {(r) => (
              <li class="manager-row">
                <span>
                  <b>{r.name}</b> <span class="muted small">просит доступ</span>
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
        <For each={data()?.items ?? []} fallback={<li class="muted small">Пока никого, кроме вас.</li>}>
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
      <details class="hint">
        <summary>Добавить по Telegram ID</summary>
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
      </details>
      <Show when={note()}>
        {(n) => (
          <p class={`small ${n().ok ? 'ok-text' : 'bad-text'}`} role="status">
            {n().text}
          </p>
        )}
      </Show>
    </section>
  )
}
