import { render } from 'solid-js/web'
import { startSession, startTelegramSession } from './api'
import { NotAllowed } from './pages/NotAllowed'
import { TelegramSettings } from './pages/TelegramSettings'
import { applyTelegramTheme, detectTelegram } from './telegram'
import './styles.css'

// The API serves this page for /shops/:shopId/growth/telegram; the shop comes from the path.
const shopId = decodeURIComponent(/^\/shops\/([^/]+)\/growth\/telegram\/?$/.exec(location.pathname)?.[1] ?? '1')

void (async () => {
  // Inside Telegram the Mini App's signed initData opens the session; elsewhere a `#launch=` token
  // from the platform is traded for one before the first API call.
  const tg = await detectTelegram()
  if (tg) applyTelegramTheme(tg)
  const launchError = tg ? await startTelegramSession(shopId, tg.initData) : await startSession(shopId)
  const root = document.getElementById('root')!
  if (tg && launchError && (launchError.code === 'not_allowed' || launchError.status === 401)) render(() => <NotAllowed error={launchError} />, root)
  else render(() => <TelegramSettings shopId={shopId} launchError={launchError} telegram={tg} />, root)
})()
