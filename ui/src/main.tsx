import { render } from 'solid-js/web'

render(() => <p>Загрузка…</p>, document.getElementById('root')!)
