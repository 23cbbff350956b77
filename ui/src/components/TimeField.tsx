import { For } from 'solid-js'

const HOURS = Array.from({ length: 24 }, (_, h) => String(h).padStart(2, '0'))
const STEP_MINUTES = Array.from({ length: 12 }, (_, i) => String(i * 5).padStart(2, '0'))

/**
 * A time of day as «ЧЧ : ММ», always 24-hour: two selects, because the native `<input type=time>`
 * follows the browser's language («10:00 PM» in an English browser) and clips its AM/PM part in
 * narrow rows. Minutes go in steps of 5; a saved value off that step is kept as an option.
 */
export function TimeField(props: { value: string; onChange: (hhmm: string) => void; label: string; id?: string; testid?: string; disabled?: boolean }) {
  const hour = () => props.value.slice(0, 2)
  const minute = () => props.value.slice(3, 5)
  const minutes = () => (STEP_MINUTES.includes(minute()) ? STEP_MINUTES : [...STEP_MINUTES, minute()].sort())
  return (
    <span class="time-field" role="group" aria-label={props.label} data-testid={props.testid} data-value={props.value}>
      <select
        id={props.id}
        class="input time-part"
        aria-label={`${props.label}: часы`}
        data-testid={props.testid ? `${props.testid}-hour` : undefined}
        disabled={props.disabled}
        value={hour()}
        onChange={(e) => props.onChange(`${e.currentTarget.value}:${minute()}`)}
      >
        <For each={HOURS}>{(h) => <option value={h}>{h}</option>}</For>
      </select>
      <span class="time-colon" aria-hidden="true">
        :
      </span>
      <select
        class="input time-part"
        aria-label={`${props.label}: минуты`}
        data-testid={props.testid ? `${props.testid}-minute` : undefined}
        disabled={props.disabled}
        value={minute()}
        onChange={(e) => props.onChange(`${hour()}:${e.currentTarget.value}`)}
      >
        <For each={minutes()}>{(m) => <option value={m}>{m}</option>}</For>
      </select>
    </span>
  )
}
