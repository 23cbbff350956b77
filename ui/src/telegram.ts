/**
 * Inside Telegram (the shop's bot opened this page as a Mini App). Telegram launches a Mini App with
 * `#tgWebAppData=…` in the URL; only then is Telegram's own script (telegram-web-app.js, bundled from
 * `@twa-dev/sdk` into a chunk of its own) loaded, so the page outside Telegram is unchanged. A test
 * (or Telegram's desktop client) may provide `window.Telegram.WebApp` before the page starts.
 */
export type TgWebApp = {
  initData: string
  initDataUnsafe?: { user?: { id: number; first_name?: string } }
  colorScheme?: 'light' | 'dark'
  themeParams?: Record<string, string | undefined>
  platform?: string
  ready(): void
  expand?(): void
  onEvent?(event: string, cb: () => void): void
  BackButton?: { show(): void; hide(): void; onClick(cb: () => void): void; offClick(cb: () => void): void }
  HapticFeedback?: {
    impactOccurred(style: 'light' | 'medium' | 'heavy' | 'rigid' | 'soft'): void
    notificationOccurred(type: 'error' | 'success' | 'warning'): void
    selectionChanged(): void
  }
}

type WithTelegram = { Telegram?: { WebApp?: TgWebApp } }

let app: TgWebApp | null = null

/** The Mini App bridge when the page runs inside Telegram, else null. */
export async function detectTelegram(): Promise<TgWebApp | null> {
  const w = window as unknown as WithTelegram
  if (!w.Telegram?.WebApp?.initData && /(?:^#|&)tgWebAppData=/.test(location.hash)) await import('@twa-dev/sdk')
  const tg = w.Telegram?.WebApp
  app = tg?.initData ? tg : null
  return app
}

export const inTelegram = () => app

/** Telegram's theme as CSS variables (`--tg-bg` …) and a class on <html>; follows theme changes. */
export function applyTelegramTheme(tg: TgWebApp): void {
  const apply = () => {
    const t = tg.themeParams ?? {}
    const root = document.documentElement
    root.classList.add('in-telegram')
    root.dataset.scheme = tg.colorScheme ?? 'light'
    const set = (name: string, value: string | undefined) => (value ? root.style.setProperty(name, value) : root.style.removeProperty(name))
    set('--tg-bg', t.bg_color)
    set('--tg-text', t.text_color)
    set('--tg-hint', t.hint_color)
    set('--tg-link', t.link_color)
    set('--tg-button', t.button_color)
    set('--tg-button-text', t.button_text_color)
    set('--tg-secondary-bg', t.secondary_bg_color)
    set('--tg-section-bg', t.section_bg_color ?? t.secondary_bg_color)
    set('--tg-destructive', t.destructive_text_color)
    document.querySelector('meta[name=theme-color]')?.setAttribute('content', t.bg_color ?? '#ffffff')
  }
  apply()
  tg.onEvent?.('themeChanged', apply)
  tg.ready()
  tg.expand?.()
}

/** A light tap / a success or error buzz, where the device and client have them. */
export const haptic = {
  tap: () => app?.HapticFeedback?.impactOccurred('light'),
  success: () => app?.HapticFeedback?.notificationOccurred('success'),
  error: () => app?.HapticFeedback?.notificationOccurred('error'),
}
