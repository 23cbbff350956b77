import type { ApiError } from '../api'

/** Inside Telegram, for someone who is not the shop's owner or an allowed manager (or stale data). */
export function NotAllowed(props: { error: ApiError }) {
  const asked = () => props.error.code === 'not_allowed'
  return (
    <main class="page" data-testid="not-allowed">
      <section class="card" role="alert">
        <h2>{asked() ? 'Нужно разрешение владельца' : 'Не удалось войти'}</h2>
        <p>
          {asked()
            ? 'Заказы и настройки магазина видят только владелец и те, кому он разрешил. Мы отправили владельцу запрос в этот бот: когда он нажмёт «Разрешить», откройте это окно снова.'
            : 'Telegram не подтвердил, кто открыл окно. Закройте его и откройте снова из бота магазина.'}
        </p>
      </section>
    </main>
  )
}
