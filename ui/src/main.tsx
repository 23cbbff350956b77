import { render } from 'solid-js/web'
import { TelegramSettings } from './pages/TelegramSettings'
import './styles.css'

// The API serves this page for /shops/:shopId/growth/telegram; the shop comes from the path.
const shopId = /^\/shops\/([^/]+)\/growth\/telegram\/?$/.exec(location.pathname)?.[1] ?? '1'

render(() => <TelegramSettings shopId={decodeURIComponent(shopId)} />, document.getElementById('root')!)
