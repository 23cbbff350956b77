import { createResource, For, Show } from 'solid-js'
import { photoObjectUrl, type Order } from '../api'
import { clockTime, exactTime } from '../format'

const APPROVAL: Record<string, { label: string; tone: string }> = {
  pending: { label: 'ждём ответа покупателя', tone: 'waiting' },
  approved: { label: '👍 покупателю нравится', tone: 'ok' },
  changes_requested: { label: '✏️ покупатель просит изменить', tone: 'bad' },
}

/**
 * The buyer side of an order, under its row: whether the buyer follows it in Telegram, the bouquet
 * photos with the buyer's answer, and the conversation (the buyer's first name, the staff's names).
 */
export function BuyerSide(props: { order: Order }) {
  const o = () => props.order
  // a courier's photo of the handover is shown with the courier (RecentList), not as a bouquet photo
  const photos = () => o().photos.filter((p) => p.kind !== 'delivery')
  const shown = () => o().buyer || photos().length > 0 || o().conversation.length > 0
  return (
    <Show when={shown()}>
      <div class="buyer-side" data-testid="buyer-side">
        <p class="small buyer-line" data-testid="buyer-state">
          <Show when={o().buyer} fallback={<span class="muted">Покупатель не подписан в Telegram</span>}>
            {(b) => (
              <>
                Покупатель {b().firstName ? <strong>{b().firstName}</strong> : null}{' '}
                {b().subscribed ? 'следит за заказом в Telegram' : <span class="muted">отписался (/stop)</span>}
              </>
            )}
          </Show>
        </p>
        <Show when={photos().length}>
          <ul class="buyer-photos">
            <For each={photos()}>{(p) => <Photo photo={p} />}</For>
          </ul>
        </Show>
        <Show when={o().conversation.length}>
          <ul class="buyer-talk small" aria-label="Переписка с покупателем">
            <For each={o().conversation}>
              {(m) => (
                <li classList={{ out: m.direction === 'out' }}>
                  <time datetime={m.at} title={exactTime(m.at)} class="muted">
                    {clockTime(m.at)}
                  </time>{' '}
                  <strong>{m.direction === 'out' ? `${m.from} → покупателю` : m.from}:</strong> {m.text ?? ''}
                  {m.photo ? ' 📷' : ''}
                </li>
              )}
            </For>
          </ul>
        </Show>
      </div>
    </Show>
  )
}

function Photo(props: { photo: Order['photos'][number] }) {
  const [src] = createResource(() => props.photo.url, photoObjectUrl)
  const a = () => (props.photo.approval ? APPROVAL[props.photo.approval] : null)
  return (
    <li class="buyer-photo" data-testid="order-photo" data-approval={props.photo.approval ?? 'none'}>
      <Show when={src()} fallback={<div class="photo-placeholder" aria-hidden="true" />}>
        <img src={src()} alt={`Фото букета, ${clockTime(props.photo.at)}`} width="96" height="96" />
      </Show>
      <div class="small">
        <Show when={a()} fallback={<span class="muted">не отправлено покупателю</span>}>
          {(x) => <span class={`badge small ${x().tone}`}>{x().label}</span>}
        </Show>
        <Show when={props.photo.comment}>
          <p class="buyer-comment">«{props.photo.comment}»</p>
        </Show>
        <p class="muted">
          {props.photo.by ? `${props.photo.by}, ` : ''}
          {clockTime(props.photo.at)}
        </p>
      </div>
    </li>
  )
}
