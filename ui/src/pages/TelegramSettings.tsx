import { createSignal, onCleanup, onMount, Show } from 'solid-js'
import { createStore, reconcile } from 'solid-js/store'
import { ApiError, setTokenPrompt, shopApi, type AuthReason, type Order, type Recipient, type Status } from '../api'
import { ConnectCard } from '../components/ConnectCard'
import { DayCard } from '../components/DayCard'
import { RecentList } from '../components/RecentList'
import { RecipientsCard } from '../components/RecipientsCard'
import { SettingsForm } from '../components/SettingsForm'
import { StatusCard } from '../components/StatusCard'
import { TokenDialog } from '../components/TokenDialog'

/** How often the page asks for status and recent orders; quick enough that a /start feels instant. */
const POLL_MS = 3000

/**
 * `/shops/:shopId/growth/telegram`: the shop owner's Telegram settings. Polls the status and the
 * recent orders, so a chat captured by /start and new or retried notifications show up by themselves.
 */
export function TelegramSettings(props: { shopId: string; launchError?: ApiError | null }) {
  const api = shopApi(props.shopId)
  const [status, setStatus] = createSignal<Status | null>(null)
  const [orders, setOrders] = createStore<{ items: Order[]; loaded: boolean }>({ items: [], loaded: false })
  const [loadError, setLoadError] = createSignal<ApiError | null>(null)
  const [recipients, setRecipients] = createSignal<Recipient[]>([])
  const [offline, setOffline] = createSignal(false)
  const [banner, setBanner] = createSignal<string | null>(null)
  const [now, setNow] = createSignal(Date.now())
  const [ask, setAsk] = createSignal<{ reason: AuthReason | 'launch'; resolve: (t: string) => void } | null>(null)
  // A launch link that did not work is said once, in place of the generic 401 prompt that follows it.
  let launchFailed = !!props.launchError

  setTokenPrompt(
    (reason) =>
      new Promise<string>((resolve) => {
        setAsk({ reason: launchFailed && reason === 'missing' ? 'launch' : reason, resolve })
        launchFailed = false
      }),
  )

  /** A new status; says so when a chat has just been captured (by /start here or anywhere). */
  const applyStatus = (s: Status) => {
    const prev = status()
    if (prev && !prev.chatId && s.chatId) {
      const where = s.chatTitle ? `«${s.chatTitle}»` : 'чат'
      setBanner(`Чат подключён: уведомления о заказах будут приходить в ${where}.`)
    }
    setStatus(s)
  }

  const refreshStatus = async () => applyStatus(await api.status())
  const refreshRecipients = async () => setRecipients((await api.chats()).items)
  const refreshOrders = async () => {
    const r = await api.orders(20)
    setOrders('items', reconcile(r.items, { key: 'id' }))
    setOrders('loaded', true)
  }

  let timer: ReturnType<typeof setTimeout> | undefined
  let stopped = false
  const tick = async () => {
    try {
      await Promise.all([refreshStatus(), refreshOrders(), refreshRecipients()])
      setOffline(false)
      setLoadError(null)
    } catch (err) {
      const e = err instanceof ApiError ? err : new ApiError(0, 'unknown', String(err))
      if (e.status === 0) setOffline(true)
      else if (!status()) setLoadError(e)
    } finally {
      setNow(Date.now())
      if (!stopped) timer = setTimeout(tick, POLL_MS)
    }
  }
  onMount(tick)
  onCleanup(() => {
    stopped = true
    clearTimeout(timer)
  })

  const refreshSoon = () => {
    void refreshStatus().catch(() => {})
    void refreshOrders().catch(() => {})
    void refreshRecipients().catch(() => {})
  }

  const retry = async (orderId: number) => {
    try {
      await api.resend(orderId)
    } catch (err) {
      // Already sent meanwhile: the list below is the truth, not the error.
      if (!(err instanceof ApiError && err.code === 'already_sent')) throw err
    } finally {
      await Promise.all([refreshOrders(), refreshStatus()]).catch(() => {})
    }
  }

  return (
    <>
      <header class="page-head">
        <div class="page-head-inner">
          <div>
            <p class="eyebrow">Posiflora · магазин №{props.shopId}</p>
            <h1>Уведомления о заказах в Telegram</h1>
          </div>
          <Show when={status()?.mode === 'mock'}>
            <span class="badge waiting" title="TELEGRAM_MODE=mock: сообщения только записываются">
              Демо-режим
            </span>
          </Show>
        </div>
      </header>

      <main class="page">
        <Show when={offline()}>
          <p class="notice" role="status">
            Нет связи с сервером — пробуем снова…
          </p>
        </Show>
        <Show
          when={status()}
          fallback={
            <Show
              when={loadError()}
              fallback={
                <section class="card skeleton" aria-busy="true">
                  Загружаем…
                </section>
              }
            >
              {(e) => (
                <section class="card" role="alert">
                  <h2>{e().status === 404 ? 'Магазин не найден' : 'Не удалось загрузить настройки'}</h2>
                  <p class="muted">{e().message}</p>
                </section>
              )}
            </Show>
          }
        >
          {(s) => (
            <>
              <Show when={(s().deliveryLagSeconds ?? 0) >= 5}>
                <p class="notice" role="status" data-testid="lag-notice">
                  Telegram ограничивает частоту: уведомления идут с задержкой {s().deliveryLagSeconds} с. Ни одно не потеряется.
                </p>
              </Show>
              <StatusCard api={api} status={s()} now={now()} onTested={refreshSoon} />
              <Show when={s().botUsername}>
                <ConnectCard api={api} status={s()} onChange={(next) => (next ? applyStatus(next) : refreshSoon())} />
              </Show>
              <Show when={s().botUsername}>
                <RecipientsCard api={api} recipients={recipients()} onChange={refreshSoon} />
              </Show>
              <Show when={s().botUsername}>
                <DayCard api={api} />
              </Show>
              <SettingsForm api={api} status={s()} onSaved={refreshSoon} />
              <RecentList orders={orders.items} loaded={orders.loaded} now={now()} onRetry={retry} />
            </>
          )}
        </Show>
      </main>

      <Show when={banner()}>
        <div class="banner" data-testid="banner" role="status">
          <span class="banner-icon" aria-hidden="true">
            ✓
          </span>
          <span>{banner()}</span>
          <button type="button" class="banner-close" aria-label="Закрыть" onClick={() => setBanner(null)}>
            ×
          </button>
        </div>
      </Show>

      <Show when={ask()} keyed>
        {(a) => (
          <TokenDialog
            reason={a.reason}
            onSubmit={(t) => {
              setAsk(null)
              a.resolve(t)
            }}
          />
        )}
      </Show>
    </>
  )
}
