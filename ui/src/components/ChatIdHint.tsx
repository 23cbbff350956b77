/** «Как узнать chatId»: short steps, folded so it costs one line until someone needs it. */
export function ChatIdHint(props: { open?: boolean }) {
  return (
    <details class="hint" open={props.open}>
      <summary>Как узнать chatId</summary>
      <ol>
        <li>
          Токен бота выдаёт{' '}
          <a href="https://t.me/BotFather" target="_blank" rel="noopener noreferrer">
            @BotFather
          </a>
          : отправьте ему <code>/newbot</code>, придумайте имя и скопируйте токен вида <code>123456789:AA…</code> в поле «Токен бота».
        </li>
        <li>
          chatId вводить не обязательно: сохраните токен, нажмите кнопку «Открыть в Telegram» (или отсканируйте QR-код) и в чате с ботом нажмите «Запустить».
          Страница сама увидит подключение.
        </li>
        <li>
          Для группы: кнопка «Добавить бота в группу». Или вручную: добавьте бота в группу и впишите её id — отрицательное число (у супергрупп оно начинается с{' '}
          <code>-100</code>); его видно в адресе группы в{' '}
          <a href="https://web.telegram.org" target="_blank" rel="noopener noreferrer">
            web.telegram.org
          </a>{' '}
          после знака <code>#</code>. Для канала подойдёт <code>@имя_канала</code>.
        </li>
      </ol>
    </details>
  )
}
