import { createSignal, Show } from 'solid-js'
import { ApiError, fieldMessage, userMessage, type ShopApi, type Status } from '../api'
import { clockTime } from '../format'
import { ChatIdHint } from './ChatIdHint'

type SaveState = { kind: 'idle' } | { kind: 'dirty' } | { kind: 'saving' } | { kind: 'saved'; at: string } | { kind: 'error'; message: string }

/**
 * Token, chat id and the on/off switch. An empty field means "keep what is saved": the saved token
 * is only ever shown masked, as the placeholder. Field errors from the API sit under their field.
 * Chat ID is folded under «Дополнительно»: /start binds the chat, typing an id is the exception.
 * `first`: the form inside the first screen (no bot yet): the token alone, no card of its own.
 */
export function SettingsForm(props: { api: ShopApi; status: Status; onSaved: () => void; first?: boolean }) {
  const [token, setToken] = createSignal('')
  const [chatId, setChatId] = createSignal('')
  // The switch shows the server's value until the owner touches it (polling must not undo a click).
  // The owner's choice is kept while unsaved (`until: null`), and once saved until the next status
  // arrives (the one the save asked for), so the switch does not flick back to the old value.
  // Before the first connect the API says enabled: false (nothing is connected); the switch is hidden
  // then and the first save turns notifications on, so it never shows "on" against the API's "off".
  const [choice, setChoice] = createSignal<{ enabled: boolean; until: Status | null } | null>(null)
  const enabled = () => {
    const c = choice()
    return c && (c.until === null || c.until === props.status) ? c.enabled : props.status.enabled
  }
  const [errors, setErrors] = createSignal<{ botToken?: string; chatId?: string }>({})
  const [save, setSave] = createSignal<SaveState>({ kind: 'idle' })

  const edited = () => {
    if (save().kind !== 'saving') setSave({ kind: 'dirty' })
  }

  const submit = async (e: Event) => {
    e.preventDefault()
    if (save().kind === 'saving') return
    setSave({ kind: 'saving' })
    setErrors({})
    const body: { botToken?: string; chatId?: string; enabled: boolean } = { enabled: props.status.botUsername ? enabled() : true }
    if (token().trim()) body.botToken = token().trim()
    if (chatId().trim()) body.chatId = chatId().trim()
    try {
      await props.api.connect(body)
      setToken('')
      setChatId('')
      setChoice((c) => c && { ...c, until: props.status })
      setSave({ kind: 'saved', at: new Date().toISOString() })
      props.onSaved()
    } catch (err) {
      const e = err instanceof ApiError ? err : new ApiError(0, 'unknown', String(err))
      const fields = { botToken: fieldMessage(e, 'botToken') ?? undefined, chatId: fieldMessage(e, 'chatId') ?? undefined }
      setErrors(fields)
      const message =
        e.code === 'token_rejected' ? 'Telegram не принял токен' : fields.botToken || fields.chatId ? 'проверьте поля, отмеченные красным' : userMessage(e)
      setSave({ kind: 'error', message })
    }
  }

  const saved = () => !!props.status.botToken

  // A bot the manager bot created: its token is never typed; it can be replaced at Telegram instead.
  const [rotation, setRotation] = createSignal<{ busy?: boolean; ok?: boolean; text: string } | null>(null)
  const rotate = async () => {
    setRotation({ busy: true, text: 'Заменяем токен в Telegram…' })
    try {
      const r = await props.api.rotateToken()
      setRotation({ ok: true, text: `✓ Токен заменён в ${clockTime(r.rotatedAt)}, старый больше не работает` })
      props.onSaved()
    } catch (err) {
      setRotation({ ok: false, text: `Не заменён: ${userMessage(err)}` })
    }
  }

  const saveText = () => {
    const s = save()
    switch (s.kind) {
      case 'saving':
        return token().trim() ? 'Проверяем токен в Telegram…' : 'Сохраняем…'
      case 'dirty':
        return 'Есть несохранённые изменения'
      case 'saved':
        return `✓ Сохранено в ${clockTime(s.at)}`
      case 'error':
        return `Не сохранено: ${s.message}`
      default:
        return ''
    }
  }

  const form = () => (
    <form class="form" onSubmit={submit} novalidate data-testid="settings-form">
      <Show
        when={!props.status.managed}
        fallback={
          <div class="field" data-testid="managed-token">
            <span class="label">Токен бота</span>
            <p class="help">
              Бот @{props.status.botUsername} создан через Posiflora: токен хранится у нас зашифрованным, копировать его не нужно. Если он мог попасть в чужие
              руки — замените его.
            </p>
            <div class="actions">
              <button type="button" class="btn small" data-testid="rotate-token" disabled={rotation()?.busy} onClick={rotate}>
                Заменить токен
              </button>
              <p class={`save-state ${rotation()?.ok === false ? 'error' : 'saved'}`} role="status" data-testid="rotate-state">
                {rotation()?.text ?? ''}
              </p>
            </div>
          </div>
        }
      >
        <div class="field">
          <label class="label" for="bot-token">
            Токен бота
          </label>
          <input
            id="bot-token"
            class="input mono"
            classList={{ invalid: !!errors().botToken }}
            data-testid="token-input"
            type="text"
            autocomplete="off"
            spellcheck={false}
            autocapitalize="off"
            placeholder={props.status.botToken ?? '123456789:AAE…'}
            aria-describedby="bot-token-help bot-token-error"
            aria-invalid={!!errors().botToken}
            value={token()}
            onInput={(e) => {
              setToken(e.currentTarget.value)
              setErrors((x) => ({ ...x, botToken: undefined }))
              edited()
            }}
          />
          <p id="bot-token-help" class="help">
            {saved()
              ? `Сохранён токен ${props.status.botToken}. Оставьте поле пустым, чтобы не менять его.`
              : 'Вставьте токен целиком, вида 123456789:AAE… — мы проверим его в Telegram.'}
          </p>
          <p id="bot-token-error" class="field-error" data-testid="field-error-botToken" role="alert">
            {errors().botToken ?? ''}
          </p>
        </div>
      </Show>

      <details class="more" data-testid="more" open={!!errors().chatId}>
        <summary>Дополнительно</summary>
        <div class="field">
          <label class="label" for="chat-id">
            Chat ID группы или канала
          </label>
          <input
            id="chat-id"
            class="input mono"
            classList={{ invalid: !!errors().chatId }}
            data-testid="chat-input"
            type="text"
            inputmode="text"
            autocomplete="off"
            spellcheck={false}
            autocapitalize="off"
            placeholder={props.status.chatId ?? 'заполнится сам после /start'}
            aria-describedby="chat-id-help chat-id-error"
            aria-invalid={!!errors().chatId}
            value={chatId()}
            onInput={(e) => {
              setChatId(e.currentTarget.value)
              setErrors((x) => ({ ...x, chatId: undefined }))
              edited()
            }}
          />
          <p id="chat-id-help" class="help">
            {props.status.chatId
              ? `Сейчас: ${props.status.chatTitle ? `«${props.status.chatTitle}», ` : ''}${props.status.chatId}. Пусто — оставить как есть.`
              : 'Обычно не нужен: чат подключается сам, когда в нём нажимают «Запустить».'}
          </p>
          <p id="chat-id-error" class="field-error" data-testid="field-error-chatId" role="alert">
            {errors().chatId ?? ''}
          </p>
          <ChatIdHint />
        </div>
      </details>

      <Show
        when={props.status.botUsername}
        fallback={
          <Show when={!props.first}>
            <p class="help" data-testid="enabled-note">
              Уведомления включатся, как только вы сохраните токен.
            </p>
          </Show>
        }
      >
        <label class="switch">
          <input
            type="checkbox"
            role="switch"
            aria-checked={enabled()}
            data-testid="enabled-toggle"
            checked={enabled()}
            onChange={(e) => {
              setChoice({ enabled: e.currentTarget.checked, until: null })
              edited()
            }}
          />
          <span class="switch-track" aria-hidden="true">
            <span class="switch-thumb" />
          </span>
          <span class="switch-label">Присылать уведомления о новых заказах</span>
        </label>
      </Show>

      <div class="actions">
        <button type="submit" class="btn primary" data-testid="save-button" disabled={save().kind === 'saving'}>
          {save().kind === 'saving' ? 'Сохраняем…' : 'Сохранить'}
        </button>
        <p class={`save-state ${save().kind}`} data-testid="save-state" data-state={save().kind} role="status">
          {saveText()}
        </p>
      </div>
    </form>
  )

  return (
    <Show when={!props.first} fallback={form()}>
      <section class="card" aria-labelledby="settings-title">
        <div class="card-head">
          <h2 id="settings-title">Настройки</h2>
        </div>
        {form()}
      </section>
    </Show>
  )
}
