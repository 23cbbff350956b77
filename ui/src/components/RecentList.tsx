import { createResource, createSignal, For, Show } from 'solid-js'
import { photoObjectUrl, userMessage, type Order } from '../api'
import { BuyerSide } from './BuyerSide'
import { clockTime, exactTime, explainError, formatMoney, notificationWords, orderStatusWord, relativeTime } from '../format'

/** The last orders with their Telegram notification; failed ones get «Повторить». Live (pushed, or polled as the fallback). */
export function RecentList(props: { orders: Order[]; loaded: boolean; now: number; onRetry: (orderId: number) => Promise<void>; title?: string }) {
  return (
    <section class="card" aria-labelledby="recent-title">
      <div class="card-head">
        <h2 id="recent-title">{props.title ?? 'Последние уведомления'}</h2>
        <span class="muted small hide-phone">обновляется само</span>
      </div>
      <ul class="recent" data-testid="recent-list">
        <For
          each={props.orders}
          fallback={<li class="recent-empty muted">{props.loaded ? 'Заказов пока нет. Когда касса пришлёт заказ, он появится здесь.' : 'Загружаем…'}</li>}
        >
          {(o) => <Row order={o} now={props.now} onRetry={props.onRetry} />}
        </For>
      </ul>
    </section>
  )
}

/** The order «Открыть» points at: `#order-<id>` (a link) or `?order=<id>` (the Mini App, whose fragment is Telegram's). */
const linkedOrder = () => /^#order-(\d+)$/.exec(location.hash)?.[1] ?? new URLSearchParams(location.search).get('order')

function Row(props: { order: Order; now: number; onRetry: (orderId: number) => Promise<void> }) {
  const [retrying, setRetrying] = createSignal(false)
  const [error, setError] = createSignal<string | null>(null)
  const n = () => props.order.notification
  const words = () => notificationWords(n())
  const reason = () => (n().status === 'failed' && n().error ? explainError(n().error!, n().errorCode) : null)
  const orderStatus = () => orderStatusWord(props.order.status)

  const retry = async () => {
    setRetrying(true)
    setError(null)
    try {
      await props.onRetry(props.order.id)
    } catch (err) {
      setError(userMessage(err))
    } finally {
      setRetrying(false)
    }
  }

  return (
    <li
      ref={(el) => {
        // «Открыть» in Telegram links to #order-<id>: bring that order into view once it is rendered.
        if (linkedOrder() === String(props.order.id)) queueMicrotask(() => el.scrollIntoView({ block: 'center' }))
      }}
      id={`order-${props.order.id}`}
      classList={{ 'recent-row': true, linked: linkedOrder() === String(props.order.id) }}
      data-testid="recent-row"
      data-order-number={props.order.number}
      data-status={n().status}
    >
      <div class="recent-main">
        <span class="order-no">№ {props.order.number}</span>
        <span class="muted small">
          {props.order.customerName} · {formatMoney(props.order.total)}
        </span>
      </div>
      <div class="recent-time small">
        <time datetime={props.order.createdAt} title={exactTime(props.order.createdAt)}>
          {relativeTime(props.order.createdAt, props.now)}
        </time>
        <Show when={orderStatus()}>
          <span class="muted">
            {' · '}
            {orderStatus()}
            {(props.order.statusChangedBy ?? props.order.acceptedBy) ? ` (${props.order.statusChangedBy ?? props.order.acceptedBy})` : ''}
          </span>
        </Show>
      </div>
      <div class="recent-state">
        <span
          class={`badge small ${words().tone}`}
          title={n().sentAt ? `Отправлено ${exactTime(n().sentAt!)}` : n().status === 'skipped' ? 'Telegram не был подключён, когда пришёл заказ' : undefined}
        >
          {words().label}
        </span>
        <Show when={n().status === 'failed'}>
          <button type="button" class="btn small" data-testid="retry-button" disabled={retrying()} onClick={retry}>
            {retrying() ? 'Отправляем…' : 'Повторить'}
          </button>
        </Show>
      </div>
      <Show when={props.order.courier}>
        {(c) => (
          <p class="recent-courier small" data-testid="order-courier">
            🚚 Курьер: <b>{c().name}</b>
            <Show when={c().at}> · взял в {hhmm(c().at!)}</Show>
            <Show when={props.order.deliveredAt}> · доставил в {hhmm(props.order.deliveredAt!)}</Show>
          </p>
        )}
      </Show>
      <Show when={props.order.deliveryPhoto}>{(p) => <DeliveryPhoto url={p().url} number={props.order.number} />}</Show>
      <BuyerSide order={props.order} />
      <Show when={n().status === 'skipped'}>
        <p class="recent-reason small muted" data-testid="skipped-reason">
          Telegram ещё не был подключён, когда пришёл заказ: уведомления приходят о заказах после подключения.
        </p>
      </Show>
      <Show when={reason() || error() || (n().retrying && n().nextAttemptAt)}>
        <p class="recent-reason small">
          <Show when={reason()}>
            {(r) => (
              <>
                <strong>{r().title}.</strong> {r().action}
              </>
            )}
          </Show>
          <Show when={n().retrying && n().nextAttemptAt}> Следующая попытка в {clockTime(n().nextAttemptAt!)}.</Show>
          <Show when={error()}>
            <span class="bad-text"> {error()}</span>
          </Show>
        </p>
      </Show>
    </li>
  )
}

const hhmm = (iso: string) => new Date(iso).toLocaleTimeString('ru-RU', { hour: '2-digit', minute: '2-digit' })

/** The courier's photo of the handover (fetched with the page's credential). */
function DeliveryPhoto(props: { url: string; number: string }) {
  const [src] = createResource(
    () => props.url,
    (u) => photoObjectUrl(u).catch(() => null),
  )
  return (
    <div class="recent-photo" data-testid="delivery-photo">
      <Show when={src()} fallback={<span class="small muted">📷 Фото вручения получено</span>}>
        {(s) => <img src={s()} alt={`Фото вручения заказа №${props.number}`} width="120" height="120" />}
      </Show>
    </div>
  )
}
