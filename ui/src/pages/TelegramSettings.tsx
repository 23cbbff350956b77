import { createEffect, createMemo, createSignal, on, onCleanup, onMount, Show } from 'solid-js'
import { createStore, reconcile } from 'solid-js/store'
import { ApiError, readLive, sessionRole, setTokenPrompt, shopApi, type AuthReason, type LiveEvent, type Order, type Recipient, type Status } from '../api'
import { nextStep, stepAnnouncement, type Step } from '../steps'
import { poll } from '../poll'
import { haptic, type TgWebApp } from '../telegram'
import { ConnectCard } from '../components/ConnectCard'
import { DayCard } from '../components/DayCard'
import { ManagersCard } from '../components/ManagersCard'
import { RecentList } from '../components/RecentList'
import { RecipientsCard } from '../components/RecipientsCard'
import { SettingsForm } from '../components/SettingsForm'
import { StartCard } from '../components/StartCard'
import { StatusCard } from '../components/StatusCard'
import { TokenDialog } from '../components/TokenDialog'

/** How often the page asks for status and recent orders while its live stream is down (the fallback). */
const POLL_MS = 3000
const SHOWN_ORDERS = 20

/**
 * `/shops/:shopId/growth/telegram`: the shop owner's Telegram settings. Live: a stream of server-sent
 * events brings new orders, notifications, status and recipients the moment they change; while the
 * stream is down the page polls instead. Inside Telegram (a Mini App) it opens on the order list and
 * the settings are one tap away, with Telegram's back button.
 */
export function TelegramSettings(props: { shopId: string; launchError?: ApiError | null; telegram?: TgWebApp | null }) {
  const api = shopApi(props.shopId)
  const [status, setStatus] = createSignal<Status | null>(null)
  const [orders, setOrders] = createStore<{ items: Order[]; loaded: boolean }>({ items: [], loaded: false })
  const [loadError, setLoadError] = createSignal<ApiError | null>(null)
  const [recipients, setRecipients] = createSignal<Recipient[]>([])
  const [offline, setOffline] = createSignal(false)
  const [banner, setBanner] = createSignal<string | null>(null)
  const [now, setNow] = createSignal(Date.now())
  const [ask, setAsk] = createSignal<{ reason: AuthReason | 'launch'; resolve: (t: string) => void } | null>(null)
  const [live, setLive] = createSignal(false)
  const tg = props.telegram ?? null
  const [view, setView] = createSignal<'orders' | 'settings'>('orders')
  const showSettings = () => !tg || view() === 'settings'
  const [shopName, setShopName] = createSignal<string | null>(null)
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
  // a manager's session reaches orders and the status only (the API refuses the rest)
  const manager = () => sessionRole() === 'manager'
  const refreshRecipients = async () => {
    if (!manager()) setRecipients((await api.chats()).items)
  }
  const refreshOrders = async () => {
    const r = await api.orders(20)
    setOrders('items', reconcile(r.items, { key: 'id' }))
    setOrders('loaded', true)
  }

  /** Everything the page shows, asked for at once. */
  const refreshAll = async () => {
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
    }
  }
  // On load and while the live stream is down; while it is up, nothing is asked.
  const polling = poll(refreshAll, { intervalMs: POLL_MS, while: () => !live() })

  /** A pushed order: replaced in place, or put on top when new (newest first, the last 20). */
  const upsertOrder = (o: Order) => {
    const known = orders.items.some((x) => x.id === o.id)
    if (!known && o.id < (orders.items.at(-1)?.id ?? 0) && orders.items.length >= SHOWN_ORDERS) return
    const next = known ? orders.items.map((x) => (x.id === o.id ? o : x)) : [o, ...orders.items].sort((a, b) => b.id - a.id).slice(0, SHOWN_ORDERS)
    setOrders('items', reconcile(next, { key: 'id' }))
    if (!known) haptic.success()
  }
  const onLive = (e: LiveEvent) => {
    if (e.event === 'order') upsertOrder(e.data as Order)
    else if (e.event === 'status') applyStatus(e.data as Status)
    else if (e.event === 'chats') setRecipients((e.data as { items: Recipient[] }).items)
    else if (e.event === 'reload') polling.now()
    setNow(Date.now())
  }

  // The live stream: reconnects by itself (1 s, 2 s, … 30 s, until a stream opens); polling covers the gaps.
  // Refused (e.g. 401 until a credential is given, 429 with many tabs) or offline, readLive rejects.
  poll(
    async (signal) => {
      try {
        await readLive(
          props.shopId,
          {
            open: () => {
              setLive(true)
              polling.now() // catch up on what changed while the stream was down; no next poll while live
            },
            event: onLive,
          },
          signal,
        )
      } finally {
        if (!signal.aborted) setLive(false) // polling takes over at once
      }
    },
    { intervalMs: 1000, maxBackoffMs: 30_000 },
  )

  onMount(() => {
    // The header names the shop; a server without GET /shops/{id} leaves the generic title.
    void api
      .shop()
      .then((shop) => {
        setShopName(shop.name)
        document.title = `Уведомления в Telegram — ${shop.name}`
      })
      .catch(() => {})
  })

  // While the owner creates the bot in Telegram, the integration row is inserted behind the page's
  // back, and the live stream announces only changes to an existing row (sql/015_live.sql): the
  // first screen of a manager-bot shop asks for the status itself until the bot appears.
  poll(refreshStatus, {
    intervalMs: POLL_MS,
    immediate: false,
    while: () => {
      const s = status()
      return s?.state === 'not_connected' && !!s.canCreateBot && live()
    },
  })

  // The first five minutes: whenever the owner finishes a step, the next one is brought into view
  // and said (aria-live), so nobody has to look for it after «Сохранить» or /start.
  const step = createMemo<Step | null>(() => {
    const s = status()
    return s ? nextStep(s, recipients()) : null
  })
  const announce = createMemo(
    on(step, (now, before, said: string | undefined) => {
      const s = status()
      return now && before && now !== before && s ? stepAnnouncement(now, s) : (said ?? '')
    }),
  )
  createEffect(
    on(step, (now, before) => {
      if (!now || !before || now === before) return
      // after the DOM has the new step
      requestAnimationFrame(() => {
        const action = document.querySelector<HTMLElement>(`[data-step="${now}"] [data-next]`)
        const box = document.querySelector<HTMLElement>(`[data-step="${now}"]`)
        const target = action ?? box
        if (!target) return
        target.scrollIntoView({ block: 'center' })
        box?.classList.add('step-now')
      })
    }),
  )

  // Telegram's back button leads from the settings back to the orders.
  if (tg?.BackButton) {
    const back = () => {
      haptic.tap()
      setView('orders')
    }
    tg.BackButton.onClick(back)
    onCleanup(() => tg.BackButton?.offClick(back))
    createEffect(() => (view() === 'settings' ? tg.BackButton?.show() : tg.BackButton?.hide()))
  }
  const openSettings = () => {
    haptic.tap()
    setView('settings')
    window.scrollTo(0, 0)
  }

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
            <p class="eyebrow" data-testid="shop-name">
              Posiflora
              <Show when={shopName()}>{(n) => <> · {n()}</>}</Show>
            </p>
            <h1>Уведомления о заказах в Telegram</h1>
          </div>
          <Show when={status()?.mode === 'mock'}>
            <span class="badge waiting" title="TELEGRAM_MODE=mock: сообщения только записываются">
              Демо-режим
            </span>
          </Show>
        </div>
      </header>

      <main class="page" data-live={live() ? 'on' : 'off'} data-view={tg ? view() : 'all'}>
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
              <Show when={tg && view() === 'orders'}>
                <RecentList title="Заказы" orders={orders.items} loaded={orders.loaded} now={now()} onRetry={retry} />
                <div class="tg-nav">
                  <button type="button" class="btn" data-testid="open-settings" onClick={openSettings}>
                    Настройки уведомлений
                  </button>
                </div>
              </Show>
              <Show when={showSettings()}>
                <Show
                  when={s().state !== 'not_connected' || manager()}
                  fallback={
                    <StartCard
                      api={api}
                      shopId={props.shopId}
                      status={s()}
                      canCreateBot={s().canCreateBot}
                      shopName={shopName()}
                      onSaved={refreshSoon}
                      onStatus={applyStatus}
                    />
                  }
                >
                  <Show when={s().state === 'waiting_chat' && !manager()}>
                    <ConnectCard api={api} status={s()} step onChange={(next) => (next ? applyStatus(next) : refreshSoon())} />
                  </Show>
                  <StatusCard api={api} status={s()} now={now()} step={step() === 'test'} onTested={refreshSoon} />
                  <Show when={s().botUsername && s().state !== 'waiting_chat' && !manager()}>
                    <ConnectCard api={api} status={s()} onChange={(next) => (next ? applyStatus(next) : refreshSoon())} />
                  </Show>
                  <Show when={s().botUsername && !manager()}>
                    <RecipientsCard api={api} recipients={recipients()} onChange={refreshSoon} />
                    <DayCard api={api} />
                  </Show>
                  <Show when={s().botUsername && s().miniApp && !manager()}>
                    <ManagersCard api={api} botUsername={s().botUsername!} />
                  </Show>
                  <Show when={!manager()}>
                    <SettingsForm api={api} status={s()} onSaved={refreshSoon} />
                  </Show>
                </Show>
                <Show when={!tg}>
                  <RecentList orders={orders.items} loaded={orders.loaded} now={now()} onRetry={retry} />
                </Show>
              </Show>
            </>
          )}
        </Show>
      </main>

      <p class="visually-hidden" role="status" aria-live="polite" data-testid="announce">
        {announce()}
      </p>

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
