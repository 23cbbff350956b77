import { createEffect, createMemo, onCleanup, untrack } from 'solid-js'

export interface PollOptions {
  /** The pause between the end of one call and the start of the next; a function is asked after each call. */
  intervalMs: number | (() => number)
  /** Calls only while this is true (reactive): stops when it turns false, starts again when it turns true. */
  while?: () => boolean
  /** Whether the first call (and the first after `while` turns true) is made at once; else after a pause. Default true. */
  immediate?: boolean
  /**
   * Back off: each pause doubles the next one, up to this bound, and a call that resolves sets it back
   * to `intervalMs` (failures in a row wait 1×, 2×, 4×, …; a rejected call is a failed one).
   */
  maxBackoffMs?: number
}

export interface Poller {
  /** One call now (whatever `while` says), or right after the call in flight; the pause then starts over. */
  now(): void
}

/**
 * The page's one way to do something again and again: call `fn`, wait, call it again. Calls never
 * overlap; a rejected call is swallowed (`fn` says errors itself) and only counts for the back-off.
 * Owned by the component that calls it: on its cleanup the pending pause is cleared and `fn`'s
 * signal aborted, so no call starts after the page has gone.
 */
export function poll(fn: (signal: AbortSignal) => Promise<unknown>, opts: PollOptions): Poller {
  const abort = new AbortController()
  const active = createMemo(() => (opts.while ? opts.while() : true))
  const interval = () => (typeof opts.intervalMs === 'function' ? opts.intervalMs() : opts.intervalMs)
  let timer: ReturnType<typeof setTimeout> | undefined
  let running = false
  let again = false
  let pause = untrack(interval)

  const schedule = (ms: number) => {
    clearTimeout(timer)
    timer = undefined
    if (!abort.signal.aborted && active()) timer = setTimeout(run, ms)
  }
  const run = () => {
    clearTimeout(timer)
    timer = undefined
    if (running) {
      again = true
      return
    }
    running = true
    void untrack(async () => {
      let ok = true
      try {
        await fn(abort.signal)
      } catch {
        ok = false
      }
      running = false
      if (abort.signal.aborted) return
      if (again) {
        again = false
        run()
        return
      }
      if (ok || !opts.maxBackoffMs) pause = interval()
      const wait = pause
      if (opts.maxBackoffMs) pause = Math.min(pause * 2, opts.maxBackoffMs)
      schedule(wait)
    })
  }

  createEffect(() => {
    if (!active()) {
      clearTimeout(timer)
      timer = undefined
    } else if (opts.immediate === false) untrack(() => schedule(interval()))
    else untrack(run)
  })
  onCleanup(() => {
    abort.abort()
    clearTimeout(timer)
  })
  return { now: run }
}
