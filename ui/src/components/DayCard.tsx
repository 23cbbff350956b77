import { createSignal, For, onMount, Show } from 'solid-js'
import { ApiError, fieldMessage, userMessage, type ShopApi, type ShopSettings, type SummaryPreview } from '../api'
import { TelegramText } from './TelegramText'
import { TimeField } from './TimeField'

/** The zones of Russia, west to east; a shop elsewhere keeps its own zone (shown first). */
const ZONES: [string, string][] = [
  ['Europe/Kaliningrad', 'Калининград (МСК−1)'],
  ['Europe/Moscow', 'Москва (МСК)'],
  ['Europe/Samara', 'Самара (МСК+1)'],
  ['Asia/Yekaterinburg', 'Екатеринбург (МСК+2)'],
  ['Asia/Omsk', 'Омск (МСК+3)'],
  ['Asia/Novosibirsk', 'Новосибирск (МСК+4)'],
  ['Asia/Krasnoyarsk', 'Красноярск (МСК+4)'],
  ['Asia/Irkutsk', 'Иркутск (МСК+5)'],
  ['Asia/Yakutsk', 'Якутск (МСК+6)'],
  ['Asia/Vladivostok', 'Владивосток (МСК+7)'],
  ['Asia/Magadan', 'Магадан (МСК+8)'],
  ['Asia/Kamchatka', 'Камчатка (МСК+9)'],
]

const LEADS = [15, 30, 45, 60, 90, 120, 180]
const ACCEPT_WITHIN = [5, 10, 15, 20, 30, 45, 60, 90, 120]

const dayMonth = (day: string) => {
  const [, , m, d] = /^(\d{4})-(\d{2})-(\d{2})$/.exec(day) ?? []
  return m && d ? `${d}.${m}` : day
}

/**
 * The florist's day: the shop's time zone, how early the reminder before a delivery window goes, when
 * the morning summary goes, and what tomorrow's summary would say (rendered as Telegram shows it).
 */
export function DayCard(props: { api: ShopApi }) {
  const [settings, setSettings] = createSignal<ShopSettings | null>(null)
  const [draft, setDraft] = createSignal<Partial<ShopSettings>>({})
  const [preview, setPreview] = createSignal<SummaryPreview | null>(null)
  const [state, setState] = createSignal<{ kind: 'idle' | 'saving' | 'saved' | 'error' | 'sending' | 'sent'; text?: string }>({ kind: 'idle' })

  const value = <K extends keyof ShopSettings>(k: K): ShopSettings[K] | undefined => (draft()[k] as ShopSettings[K] | undefined) ?? settings()?.[k]
  // null switches the second call off, so it cannot fall back to the saved value like the others
  const accept = () => ('acceptWithinMinutes' in draft() ? draft().acceptWithinMinutes : settings()?.acceptWithinMinutes)
  const dirty = () => Object.entries(draft()).some(([k, v]) => v !== settings()?.[k as keyof ShopSettings])

  const load = async () => {
    const [s, p] = await Promise.all([props.api.settings(), props.api.summaryPreview()])
    setSettings(s)
    setPreview(p)
  }
  onMount(() => void load().catch((err) => setState({ kind: 'error', text: userMessage(err) })))

  const save = async (e: Event) => {
    e.preventDefault()
    if (!dirty() || state().kind === 'saving') return
    setState({ kind: 'saving' })
    try {
      setSettings(await props.api.changeSettings(draft()))
      setDraft({})
      setPreview(await props.api.summaryPreview())
      setState({ kind: 'saved', text: '✓ Сохранено' })
    } catch (err) {
      const field =
        err instanceof ApiError ? (fieldMessage(err, 'timeZone') ?? fieldMessage(err, 'summaryTime') ?? fieldMessage(err, 'reminderLeadMinutes')) : null
      setState({ kind: 'error', text: `Не сохранено: ${field ?? userMessage(err)}` })
    }
  }

  const sendNow = async () => {
    setState({ kind: 'sending' })
    try {
      const r = await props.api.sendSummary()
      setState(
        r.sent
          ? { kind: 'sent', text: `✓ Сводка на сегодня отправлена в ${r.sent} ${r.sent === 1 ? 'чат' : r.sent < 5 ? 'чата' : 'чатов'}` }
          : { kind: 'error', text: 'Ни один чат не получает утреннюю сводку: включите её у получателя выше' },
      )
    } catch (err) {
      setState({ kind: 'error', text: userMessage(err) })
    }
  }

  const zones = () => {
    const tz = value('timeZone')
    return tz && !ZONES.some(([z]) => z === tz) ? [[tz, tz] as [string, string], ...ZONES] : ZONES
  }

  return (
    <section class="card" aria-labelledby="day-title" data-testid="day-card">
      <div class="card-head">
        <h2 id="day-title">Напоминания и утренняя сводка</h2>
      </div>
      <Show when={settings()} fallback={<p class="muted">{state().kind === 'error' ? state().text : 'Загружаем…'}</p>}>
        <form class="form day-form" onSubmit={save} novalidate>
          <div class="day-fields">
            <div class="field">
              <label class="label" for="day-zone">
                Часовой пояс магазина
              </label>
              <select
                id="day-zone"
                class="input"
                data-testid="day-zone"
                value={value('timeZone')}
                onChange={(e) => setDraft((d) => ({ ...d, timeZone: e.currentTarget.value }))}
              >
                <For each={zones()}>{([z, label]) => <option value={z}>{label}</option>}</For>
              </select>
            </div>
            <div class="field">
              <label class="label" for="day-lead">
                Напоминать до доставки
              </label>
              <select
                id="day-lead"
                class="input"
                data-testid="day-lead"
                value={String(value('reminderLeadMinutes'))}
                onChange={(e) => setDraft((d) => ({ ...d, reminderLeadMinutes: Number(e.currentTarget.value) }))}
              >
                <For each={[...new Set([...LEADS, value('reminderLeadMinutes') ?? 60])].sort((a, b) => a - b)}>
                  {(m) => <option value={String(m)}>{m < 60 ? `за ${m} мин` : m % 60 ? `за ${Math.floor(m / 60)} ч ${m % 60} мин` : `за ${m / 60} ч`}</option>}
                </For>
              </select>
            </div>
            <div class="field">
              <label class="label" for="day-accept">
                Если заказ не приняли
              </label>
              <select
                id="day-accept"
                class="input"
                data-testid="day-accept-within"
                value={accept() == null ? 'off' : String(accept())}
                onChange={(e) => setDraft((d) => ({ ...d, acceptWithinMinutes: e.currentTarget.value === 'off' ? null : Number(e.currentTarget.value) }))}
              >
                <option value="off">не напоминать</option>
                <For each={[...new Set([...ACCEPT_WITHIN, accept() ?? 15])].sort((a, b) => a - b)}>
                  {(m) => (
                    <option value={String(m)}>
                      {m < 60 ? `через ${m} мин` : m % 60 ? `через ${Math.floor(m / 60)} ч ${m % 60} мин` : `через ${m / 60} ч`}
                    </option>
                  )}
                </For>
              </select>
            </div>
            <div class="field">
              <label class="label" for="day-summary">
                Утренняя сводка в
              </label>
              <TimeField
                id="day-summary"
                label="Утренняя сводка"
                testid="day-summary-time"
                value={value('summaryTime') ?? '08:00'}
                onChange={(t) => setDraft((d) => ({ ...d, summaryTime: t }))}
              />
            </div>
          </div>
          <p class="help">
            Напоминание приходит в чаты с «Напоминаниями о доставке», если заказ ещё не собирается. Сводка — в чаты с «Утренней сводкой». Заказ, который никто
            не принял, бот напомнит ещё раз в чатах сотрудников и владельцу — со звуком даже в тихие часы. Время в сообщениях — по часовому поясу магазина.
          </p>
          <div class="actions">
            <button type="submit" class="btn primary" data-testid="day-save" disabled={!dirty() || state().kind === 'saving'}>
              {state().kind === 'saving' ? 'Сохраняем…' : 'Сохранить'}
            </button>
            <button type="button" class="btn ghost" data-testid="day-send-now" disabled={state().kind === 'sending'} onClick={sendNow}>
              Отправить сводку за сегодня
            </button>
            <p class={`save-state ${state().kind === 'error' ? 'error' : 'saved'}`} data-testid="day-state" role="status">
              {state().text ?? ''}
            </p>
          </div>
        </form>
        <Show when={preview()}>
          {(p) => (
            <div class="tg-preview" data-testid="summary-preview">
              <p class="small muted">
                Так будет выглядеть сводка на {dayMonth(p().day)} — придёт в {settings()?.summaryTime} по времени магазина
                {p().deliveries ? '' : ' (доставок на этот день пока нет)'}:
              </p>
              <div class="tg-chat">
                <div class="tg-bubble">
                  <TelegramText html={p().text} />
                </div>
              </div>
            </div>
          )}
        </Show>
      </Show>
    </section>
  )
}
