import { createSignal, Show } from 'solid-js'
import { userMessage, type ShopApi, type Status } from '../api'
import { Qr } from './Qr'

/**
 * Connecting without copying ids: a t.me link with a one-time code, its QR for a phone, a link to
 * add the bot to a group. Once the chat is bound, only "connect another chat" remains.
 */
export function ConnectCard(props: { api: ShopApi; status: Status; onChange: (s?: Status) => void; step?: boolean }) {
  const [busy, setBusy] = createSignal<'link' | 'mock' | null>(null)
  const [error, setError] = createSignal<string | null>(null)
  const waiting = () => props.status.state === 'waiting_chat'

  const run = async (kind: 'link' | 'mock') => {
    setBusy(kind)
    setError(null)
    try {
      if (kind === 'link') {
        await props.api.newLink()
        props.onChange()
      } else {
        const r = await props.api.mockStart('private')
        props.onChange(r.status)
      }
    } catch (err) {
      setError(userMessage(err))
    } finally {
      setBusy(null)
    }
  }

  return (
    <section class="card" aria-labelledby="connect-title" data-step={props.step ? 'start' : undefined} data-testid="connect-card">
      <div class="card-head">
        <h2 id="connect-title">{props.status.chatId ? 'Чат для уведомлений' : 'Подключите чат'}</h2>
        <Show when={waiting()}>
          <span class="waiting-note" aria-hidden="true">
            <span class="pulse" /> ждём «Запустить»
          </span>
        </Show>
      </div>
      <Show
        when={props.status.connectLink}
        fallback={
          <div class="connect-done">
            <p>
              Уведомления приходят в {props.status.chatTitle ? `«${props.status.chatTitle}»` : 'подключённый чат'}
              {props.status.chatType === 'private' ? ' (личный чат с ботом)' : props.status.chatType ? ' (группа)' : ''}. Чтобы перенести их в другой чат,
              получите новую ссылку.
            </p>
            <button type="button" class="btn" data-testid="new-link" disabled={!!busy()} onClick={() => run('link')}>
              {busy() === 'link' ? 'Получаем…' : 'Подключить другой чат'}
            </button>
          </div>
        }
      >
        {(link) => (
          <div class="connect">
            <div class="connect-steps">
              <Show when={props.status.managed}>
                <p class="start-how" data-testid="managed-created">
                  Бот @{props.status.botUsername} создан для магазина. Откройте его — кнопкой ниже, QR-кодом или кнопкой в Telegram — и нажмите «Запустить»:
                  заказы начнут приходить вам.
                </p>
              </Show>
              <Show when={!props.status.managed}>
                <ol class="steps">
                  <li>Откройте бота кнопкой ниже или отсканируйте QR-код камерой телефона.</li>
                  <li>В Telegram нажмите «Запустить» — эта страница сама заметит подключение.</li>
                </ol>
              </Show>
              <Show when={props.status.connectLinkPurpose === 'owner'}>
                <p class="muted" data-testid="owner-link-note">
                  Откройте ссылку сами, в своём Telegram: ваш личный чат с ботом станет чатом владельца — с кнопкой «Заказы» и правом пускать менеджеров. Не
                  пересылайте её другим.
                </p>
              </Show>
              <a
                class="btn primary wide"
                data-testid="connect-link"
                data-next={props.status.mode === 'mock' ? undefined : ''}
                href={link()}
                target="_blank"
                rel="noopener noreferrer"
              >
                Открыть @{props.status.botUsername} в Telegram
              </a>
              <Show when={props.status.connectGroupLink}>
                {(group) => (
                  <a class="link-line" data-testid="group-link" href={group()} target="_blank" rel="noopener noreferrer">
                    Или добавить бота в группу →
                  </a>
                )}
              </Show>
              <div class="connect-actions">
                <button type="button" class="btn" data-testid="new-link" disabled={!!busy()} onClick={() => run('link')}>
                  {busy() === 'link' ? 'Получаем…' : 'Новая ссылка'}
                </button>
                <Show when={props.status.mode === 'mock'}>
                  <button type="button" class="btn ghost" data-testid="mock-start" data-next disabled={!!busy()} onClick={() => run('mock')}>
                    {busy() === 'mock' ? 'Подключаем…' : 'Демо: нажать /start за владельца'}
                  </button>
                </Show>
              </div>
            </div>
            <figure class="qr-box">
              <Qr value={link()} label={`QR-код ссылки на бота @${props.status.botUsername}`} />
              <figcaption>Для телефона: наведите камеру</figcaption>
            </figure>
          </div>
        )}
      </Show>
      <Show when={error()}>
        <p class="connect-error" role="alert">
          {error()}
        </p>
      </Show>
    </section>
  )
}
