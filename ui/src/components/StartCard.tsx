import { createSignal, Show } from 'solid-js'
import { userMessage, type ManagedLink, type ShopApi, type Status } from '../api'
import { STATE_WORDS } from '../format'
import { poll } from '../poll'
import { Qr } from './Qr'
import { SettingsForm } from './SettingsForm'

/** A managed link is good for 30 minutes; it is renewed a minute before it ends. */
const RENEW_BEFORE_MS = 60_000
const cacheKey = (shopId: string) => `posiflora.managed-link.${shopId}`

/** The link of an earlier view of this tab, while it is still good (one code per visit, not per reload). */
function cachedLink(shopId: string): ManagedLink | null {
  try {
    const l = JSON.parse(sessionStorage.getItem(cacheKey(shopId)) ?? 'null') as ManagedLink | null
    return l && Date.parse(l.expiresAt) - Date.now() > RENEW_BEFORE_MS ? l : null
  } catch {
    return null
  }
}
function forgetLink(shopId: string) {
  try {
    sessionStorage.removeItem(cacheKey(shopId))
  } catch {}
}
function keepLink(shopId: string, l: ManagedLink) {
  try {
    sessionStorage.setItem(cacheKey(shopId), JSON.stringify(l))
  } catch {
    // storage blocked: a reload just asks for a new link
  }
}

/**
 * The first screen of a shop with no bot: one action. With the platform's manager bot it is
 * «Создать бота для магазина» (a t.me link that asks Telegram to create the shop's bot; a QR code of
 * it for a phone) and a pasted token is the secondary path («У меня уже есть бот»). Without a manager
 * bot (the server has none, or is older) it is the token path: where to get one, the field, «Сохранить».
 */
export function StartCard(props: {
  api: ShopApi
  shopId: string
  status: Status
  canCreateBot: boolean
  shopName: string | null
  onSaved: () => void
  onStatus: (s: Status) => void
}) {
  // undefined: still asking; null: no manager bot here (or it refused).
  const [link, setLink] = createSignal<ManagedLink | null | undefined>(props.canCreateBot ? (cachedLink(props.shopId) ?? undefined) : null)
  const [ownBot, setOwnBot] = createSignal(false)
  const [busy, setBusy] = createSignal(false)
  const [error, setError] = createSignal<string | null>(null)
  let tokenBox: HTMLDivElement | undefined
  const mock = () => props.status.mode === 'mock'

  const load = async () => {
    try {
      const l = cachedLink(props.shopId) ?? (await props.api.managedLink())
      keepLink(props.shopId, l)
      setLink(l)
    } catch {
      // the manager bot refused or Telegram is away: the token path still works (and nothing is renewed)
      setLink(null)
    }
  }
  // Asked for at once (a cached link too, to time its renewal), then renewed before it ends.
  poll(load, {
    intervalMs: () => {
      const l = link()
      return l ? Math.max(5_000, Date.parse(l.expiresAt) - Date.now() - RENEW_BEFORE_MS) : 0
    },
    while: () => link() !== null,
  })

  /** Demo mode: no Telegram to open, so the button plays its part (the owner creates the bot there). */
  const createInDemo = async () => {
    setBusy(true)
    setError(null)
    try {
      const r = await props.api.mockManagedBot()
      forgetLink(props.shopId)
      props.onStatus(r.status)
    } catch (err) {
      setError(userMessage(err))
    } finally {
      setBusy(false)
    }
  }

  const openOwnBot = () => {
    setOwnBot(true)
    queueMicrotask(() => {
      tokenBox?.scrollIntoView({ block: 'center' })
      tokenBox?.querySelector<HTMLInputElement>('#bot-token')?.focus({ preventScroll: true })
    })
  }

  const tokenSteps = () => (
    <ol class="steps">
      <li>
        Откройте{' '}
        <a href="https://t.me/BotFather" target="_blank" rel="noopener noreferrer">
          @BotFather
        </a>{' '}
        в Telegram, отправьте <code>/newbot</code> и придумайте имя — он пришлёт токен.
      </li>
      <li>Вставьте токен сюда и нажмите «Сохранить».</li>
    </ol>
  )

  return (
    <section class="card start-card" aria-labelledby="start-title" data-testid="start-card" data-step="create">
      <div class="card-head">
        <h2 id="start-title" tabindex="-1">
          Подключите Telegram
        </h2>
        <span class={`badge ${STATE_WORDS.not_connected.tone}`} data-testid="state-badge" data-state="not_connected">
          <span class="dot" aria-hidden="true" />
          {STATE_WORDS.not_connected.label}
        </span>
      </div>
      <p class="start-lead">Новые заказы{props.shopName ? ` магазина «${props.shopName}»` : ''} будут сразу приходить в Telegram — вам и флористам.</p>
      <Show when={link() !== undefined} fallback={<p class="muted skeleton-line">Загружаем…</p>}>
        <Show
          when={link()}
          fallback={
            <div data-testid="token-path">
              {tokenSteps()}
              <SettingsForm api={props.api} status={props.status} onSaved={props.onSaved} first />
            </div>
          }
        >
          {(l) => (
            <>
              <div class="connect" data-testid="managed-path">
                <div>
                  <p class="start-how">Telegram создаст бота для магазина, а мы сразу его подключим. Ничего копировать не нужно.</p>
                  <Show
                    when={!mock()}
                    fallback={
                      <button type="button" class="btn primary wide big" data-testid="managed-create" data-next disabled={busy()} onClick={createInDemo}>
                        {busy() ? 'Создаём…' : 'Создать бота для магазина'}
                      </button>
                    }
                  >
                    <a class="btn primary wide big" data-testid="managed-create" data-next href={l().url} target="_blank" rel="noopener noreferrer">
                      Создать бота для магазина
                    </a>
                  </Show>
                  <p class="small muted">
                    {mock()
                      ? 'Демо-режим: кнопка сыграет за Telegram — бот появится сразу.'
                      : 'В Telegram нажмите «Запустить», потом «Создать бота» — эта страница сама увидит нового бота.'}
                  </p>
                  <Show when={error()}>
                    <p class="connect-error" role="alert">
                      {error()}
                    </p>
                  </Show>
                </div>
                <figure class="qr-box">
                  <Qr value={l().url} label="QR-код: создать бота для магазина в Telegram" />
                  <figcaption>С телефона: наведите камеру</figcaption>
                </figure>
              </div>
              <Show
                when={ownBot()}
                fallback={
                  <button type="button" class="btn ghost own-bot" data-testid="own-bot" onClick={openOwnBot}>
                    У меня уже есть бот
                  </button>
                }
              >
                <div class="own-bot-box" ref={tokenBox} data-testid="token-path">
                  <h3 class="h3">Свой бот</h3>
                  {tokenSteps()}
                  <SettingsForm api={props.api} status={props.status} onSaved={props.onSaved} first />
                </div>
              </Show>
            </>
          )}
        </Show>
      </Show>
    </section>
  )
}
