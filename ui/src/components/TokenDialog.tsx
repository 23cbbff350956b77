import { createSignal, onMount } from 'solid-js'

/**
 * Asks for ADMIN_TOKEN when the API answers 401. Modal on purpose: nothing on the page works
 * without it. The token is kept in this browser (localStorage) by api.ts.
 */
export function TokenDialog(props: { reason: 'missing' | 'wrong'; onSubmit: (token: string) => void }) {
  const [value, setValue] = createSignal('')
  let input!: HTMLInputElement
  onMount(() => input.focus())
  const submit = (e: Event) => {
    e.preventDefault()
    const token = value().trim()
    if (token) props.onSubmit(token)
  }
  return (
    <div class="overlay">
      <form class="dialog card" role="dialog" aria-modal="true" aria-labelledby="token-dialog-title" data-testid="token-dialog" onSubmit={submit}>
        <h2 id="token-dialog-title">Вход в настройки</h2>
        <p class="muted">
          {props.reason === 'wrong'
            ? 'Токен не подошёл. Проверьте его и введите ещё раз.'
            : 'Этот сервер защищён. Введите ADMIN_TOKEN — его выдаёт администратор сервиса. Мы запомним его в этом браузере.'}
        </p>
        <label class="label" for="token-dialog-input">
          ADMIN_TOKEN
        </label>
        <input
          ref={input}
          id="token-dialog-input"
          class="input"
          classList={{ invalid: props.reason === 'wrong' }}
          data-testid="token-dialog-input"
          type="password"
          autocomplete="current-password"
          aria-invalid={props.reason === 'wrong'}
          value={value()}
          onInput={(e) => setValue(e.currentTarget.value)}
        />
        <div class="actions">
          <button type="submit" class="btn primary" data-testid="token-dialog-submit" disabled={!value().trim()}>
            Продолжить
          </button>
        </div>
      </form>
    </div>
  )
}
