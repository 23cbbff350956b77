/** How to find a group's or channel's id, for the few who type it (under «Дополнительно»). */
export function ChatIdHint() {
  return (
    <ul class="hint-list small muted" data-testid="chat-id-hint">
      <li>Проще без id: ссылка «Добавить бота в группу» подключит группу сама.</li>
      <li>
        Id группы — отрицательное число (у супергрупп начинается с <code>-100</code>). Его видно в адресе группы в{' '}
        <a href="https://web.telegram.org" target="_blank" rel="noopener noreferrer">
          web.telegram.org
        </a>{' '}
        после знака <code>#</code>. Бот должен быть в этой группе.
      </li>
      <li>
        Для канала подойдёт <code>@имя_канала</code>.
      </li>
    </ul>
  )
}
