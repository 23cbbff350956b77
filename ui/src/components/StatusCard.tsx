import { createSignal, Show } from 'solid-js'
import { userMessage, type ShopApi, type Status, type TestResult } from '../api'
import { exactTime, explainError, relativeTime, STATE_WORDS } from '../format'

function stateText(s: Status): string {
  switch (s.state) {
    case 'not_connected':
      return 'Бот ещё не подключён.'
    case 'waiting_chat':
      return `Осталось открыть @${s.botUsername} в Telegram и нажать «Запустить» (кнопка выше).`
    case 'active':
      return `Новые заказы приходят в ${s.chatTitle ? `«${s.chatTitle}»` : 'выбранный чат'}.`
    case 'paused':
      return 'Уведомления выключены: заказы принимаются, но в Telegram не отправляются. Включите переключатель в настройках и сохраните.'
    case 'failing':
      return 'Последние уведомления не дошли до Telegram.'
  }
}

/** What is going on now: state, where messages go, how many went out, the last failure and its fix. */
export function StatusCard(props: { api: ShopApi; status: Status; now: number; onTested: () => void; step?: boolean }) {
  const [testing, setTesting] = createSignal(false)
  const [result, setResult] = createSignal<{ ok: boolean; text: string; advice?: string } | null>(null)
  // Bound but nothing has got through yet: «Работает» is earned by the first message (the test step).
  const words = () => (props.step ? { label: 'Ждёт первого сообщения', tone: 'waiting' } : STATE_WORDS[props.status.state])
  const advice = () => (props.status.lastError ? explainError(props.status.lastError, props.status.lastErrorCode) : null)
  const canTest = () => !!props.status.chatId

  const sendTest = async () => {
    setTesting(true)
    setResult(null)
    try {
      const r: TestResult = await props.api.test()
      if (r.sent)
        setResult({
          ok: true,
          text: r.mock ? 'Демо-режим: сообщение записано, в Telegram не отправлялось.' : 'Тестовое сообщение отправлено — проверьте Telegram.',
        })
      else setResult({ ok: false, text: `Не отправлено: ${explainError(r.error ?? '').title}.`, advice: explainError(r.error ?? '').action })
    } catch (err) {
      setResult({ ok: false, text: `Не отправлено: ${userMessage(err)}` })
    } finally {
      setTesting(false)
      props.onTested()
    }
  }

  return (
    <section class="card" aria-labelledby="status-title">
      <div class="card-head">
        <h2 id="status-title">Состояние</h2>
        <span class={`badge ${words().tone}`} data-testid="state-badge" data-state={props.status.state}>
          <span class="dot" aria-hidden="true" />
          {words().label}
        </span>
      </div>
      <p class="state-text">{stateText(props.status)}</p>

      <dl class="facts">
        <div class="fact">
          <dt>Бот</dt>
          <dd>
            {props.status.botUsername ? (
              <a href={`https://t.me/${props.status.botUsername}`} target="_blank" rel="noopener noreferrer">
                @{props.status.botUsername}
              </a>
            ) : (
              <span class="muted">—</span>
            )}
          </dd>
        </div>
        <div class="fact">
          <dt>Чат</dt>
          <dd>
            <Show when={props.status.chatId} fallback={<span class="muted">не выбран</span>}>
              <span class="mono">{props.status.chatId}</span>
              <Show when={props.status.chatTitle}>
                <span class="muted"> · {props.status.chatTitle}</span>
              </Show>
            </Show>
          </dd>
        </div>
        <div class="fact">
          <dt>Последнее уведомление</dt>
          <dd>
            <Show when={props.status.lastSentAt} fallback={<span class="muted">ещё не было</span>}>
              {(at) => (
                <>
                  <time datetime={at()} title={exactTime(at())}>
                    {relativeTime(at(), props.now)}
                  </time>
                  <span class="muted small block">{exactTime(at())}</span>
                </>
              )}
            </Show>
          </dd>
        </div>
        <div class="fact">
          <dt>За 7 дней</dt>
          <dd class="counts">
            <span>
              <strong class="ok-text">{props.status.sentCount}</strong> отправлено
            </span>
            <span>
              <strong classList={{ 'bad-text': props.status.failedCount > 0 }}>{props.status.failedCount}</strong> с ошибкой
            </span>
          </dd>
        </div>
      </dl>

      <Show when={advice()}>
        {(a) => (
          <div class="alert bad" role="alert">
            <strong>{a().title}</strong>
            <p>{a().action}</p>
            <p class="muted small">
              Ответ Telegram: {props.status.lastError}
              {props.status.lastErrorAt ? ` · ${exactTime(props.status.lastErrorAt)}` : ''}
            </p>
          </div>
        )}
      </Show>

      <div class="test-row" data-step={props.step ? 'test' : undefined}>
        <button
          type="button"
          class={props.step ? 'btn primary' : 'btn'}
          data-testid="test-button"
          data-next={props.step ? '' : undefined}
          disabled={!canTest() || testing()}
          onClick={sendTest}
        >
          {testing() ? 'Отправляем…' : 'Отправить тестовое сообщение'}
        </button>
        <p class="test-result" data-testid="test-result" role="status" data-ok={result() ? String(result()!.ok) : undefined}>
          <Show
            when={result()}
            fallback={
              <span class="muted">
                {props.step
                  ? 'Последний шаг: проверьте, что сообщения доходят.'
                  : canTest()
                    ? 'Проверьте, что сообщения доходят.'
                    : 'Станет доступно, когда чат будет подключён.'}
              </span>
            }
          >
            {(r) => (
              <span class={r().ok ? 'ok-text' : 'bad-text'}>
                {r().ok ? '✓ ' : ''}
                {r().text}
                <Show when={r().advice}>
                  <span class="block muted">{r().advice}</span>
                </Show>
              </span>
            )}
          </Show>
        </p>
      </div>
    </section>
  )
}
