import { createSignal, onMount, Show } from 'solid-js'
import type { AuthReason } from '../api'

const TEXT: Record<AuthReason | 'launch', { title: string; body: string }> = {
  expired: { title: 'Сессия закончилась', body: 'Откройте страницу из Posiflora ещё раз — так мы убедимся, что это вы.' },
  missing: { title: 'Вход в настройки', body: 'Откройте эту страницу из Posiflora: раздел «Рост» → «Уведомления в Telegram».' },
  wrong: { title: 'Вход не удался', body: 'Ключ не подошёл. Откройте страницу из Posiflora ещё раз или проверьте ADMIN_TOKEN.' },
  launch: { title: 'Ссылка больше не действует', body: 'Ссылки для входа одноразовые и живут 10 минут. Откройте страницу из Posiflora ещё раз.' },
}

/**
 * Shown when the API answers 401. Owners get the one thing that helps them: open the page from the
 * platform again (which signs a fresh launch token). Operators can type ADMIN_TOKEN, kept in memory
 * for this tab only — never stored.
 */
export function TokenDialog(props: { reason: AuthReason | 'launch'; onSubmit: (token: string) => void }) {
  const [value, setValue] = createSignal('')
  const [operator, setOperator] = createSignal(props.reason === 'wrong')
  let input: HTMLInputElement | undefined
  onMount(() => input?.focus())
  const submit = (e: Event) => {
    e.preventDefault()
    const token = value().trim()
    if (token) props.onSubmit(token)
  }
  const text = () => TEXT[props.reason]
  return (
    <div class="overlay">
      <form
        class="dialog card"
        role="dialog"
        aria-modal="true"
        aria-labelledby="token-dialog-title"
        data-testid="token-dialog"
        data-reason={props.reason}
        onSubmit={submit}
      >
        <h2 id="token-dialog-title">{text().title}</h2>
        <p class="muted" data-testid="token-dialog-text">
          {text().body}
        </p>
        <Show
          when={operator()}
          fallback={
            <button type="button" class="btn ghost small" data-testid="token-dialog-operator" onClick={() => setOperator(true)}>
              Я администратор сервиса
            </button>
          }
        >
          <label class="label" for="token-dialog-input">
            ADMIN_TOKEN
          </label>
          <input
            ref={(el) => {
              input = el
              queueMicrotask(() => el.focus())
            }}
            id="token-dialog-input"
            class="input"
            classList={{ invalid: props.reason === 'wrong' }}
            data-testid="token-dialog-input"
            type="password"
            autocomplete="off"
            aria-invalid={props.reason === 'wrong'}
            value={value()}
            onInput={(e) => setValue(e.currentTarget.value)}
          />
          <p class="muted small-note">Хранится только в этой вкладке, до перезагрузки страницы.</p>
          <div class="actions">
            <button type="submit" class="btn primary" data-testid="token-dialog-submit" disabled={!value().trim()}>
              Продолжить
            </button>
          </div>
        </Show>
      </form>
    </div>
  )
}
