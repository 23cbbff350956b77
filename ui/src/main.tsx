import { render } from 'solid-js/web'
import { startSession } from './api'
import { TelegramSettings } from './pages/TelegramSettings'
import './styles.css'

// The API serves this page for /shops/:shopId/growth/telegram; the shop comes from the path.
const shopId = decodeURIComponent(/^\/shops\/([^/]+)\/growth\/telegram\/?$/.exec(location.pathname)?.[1] ?? '1')

// A `#launch=` token from the platform is traded for a session before the first API call.
void startSession(shopId).then((launchError) => {
  render(() => <TelegramSettings shopId={shopId} launchError={launchError} />, document.getElementById('root')!)
})
