import { escapeHtml } from '../notifications'

/**
 * What the manager bot and a new shop bot say, and the name, username and descriptions suggested for
 * the shop's bot. Pure functions of the shop's name (tested in api/test/managed/names.test.ts).
 */

const RU_LATIN: Record<string, string> = {
  а: 'a',
  б: 'b',
  в: 'v',
  г: 'g',
  д: 'd',
  е: 'e',
  ё: 'e',
  ж: 'zh',
  з: 'z',
  и: 'i',
  й: 'y',
  к: 'k',
  л: 'l',
  м: 'm',
  н: 'n',
  о: 'o',
  п: 'p',
  р: 'r',
  с: 's',
  т: 't',
  у: 'u',
  ф: 'f',
  х: 'kh',
  ц: 'ts',
  ч: 'ch',
  ш: 'sh',
  щ: 'shch',
  ъ: '',
  ы: 'y',
  ь: '',
  э: 'e',
  ю: 'yu',
  я: 'ya',
}

/** Russian letters in Latin ones (the common passport-style scheme); other characters pass through. */
export function transliterate(s: string): string {
  return Array.from(s.toLowerCase(), (ch) => RU_LATIN[ch] ?? ch).join('')
}

/** Telegram's rule for a bot's username: 5–32 characters of a–z, 0–9 and `_`, a letter first, ending in `bot`. */
export const BOT_USERNAME_RE = /^[a-z][a-z0-9_]{1,28}bot$/

/**
 * A username Telegram accepts, from the shop's name: «Цветы на Ленина» (shop 42) →
 * `tsvety_na_lenina_42_bot`. The shop id makes a clash with someone else's bot unlikely; the person
 * can still change it in the creation screen.
 */
export function suggestUsername(shopName: string, shopId: number): string {
  const suffix = `_${shopId}_bot`
  let base = transliterate(shopName)
    .replace(/[^a-z0-9]+/g, '_')
    .replace(/^[^a-z]+/, '')
    .replace(/_+$/, '')
  base = base.slice(0, Math.max(0, 32 - suffix.length)).replace(/_+$/, '')
  if (!base) base = 'shop'
  return `${base}${suffix}`
}

/** The bot's display name: the shop's name (Telegram allows 64 characters). */
export function suggestName(shopName: string): string {
  const name = Array.from(shopName.trim().replace(/\s+/g, ' ')).slice(0, 64).join('').trim()
  return name || 'Заказы магазина'
}

const cut = (s: string, max: number) =>
  Array.from(s).length <= max
    ? s
    : `${Array.from(s)
        .slice(0, max - 1)
        .join('')}…`

/** What an empty chat with the bot shows (≤ 512 characters). */
export const botDescription = (shopName: string) =>
  cut(
    `Бот магазина «${suggestName(shopName)}». Присылает флористам новые заказы с кнопкой «Принять», напоминает о доставках и утром присылает сводку дня.`,
    512,
  )

/** The bot's profile line (≤ 120 characters). */
export const botShortDescription = (shopName: string) => cut(`Заказы магазина «${suggestName(shopName)}» в Telegram`, 120)

/** The reply-keyboard button that asks the person to create the shop's bot. */
export const CREATE_BOT_BUTTON = 'Создать бота'

/** The manager bot's answer to `/start <live code>`. */
export const createBotPrompt = (shopName: string) =>
  `Создадим бота для магазина «${escapeHtml(shopName)}».\n\nНажмите «${CREATE_BOT_BUTTON}» внизу: Telegram предложит имя и адрес бота, их можно поменять. Токен копировать не нужно — бот подключится сам.`

export const staleManagedLinkText = 'Эта ссылка устарела или уже использована. Откройте настройки Telegram вашего магазина и нажмите «Создать бота» ещё раз.'

export const managerHelpText =
  'Я создаю ботов для магазинов Posiflora. Откройте настройки Telegram вашего магазина и нажмите «Создать бота» — ссылка приведёт сюда с нужным кодом.'

/** The button under `botReadyText`: opens the new bot with its connect code. */
export const OPEN_BOT_BUTTON = 'Открыть бота'

export const botReadyText = (shopName: string, botUsername: string) =>
  `✅ Бот @${escapeHtml(botUsername)} создан и подключён к магазину «${escapeHtml(shopName)}».\n\nНажмите «${OPEN_BOT_BUTTON}» и «Запустить»: заказы начнут приходить вам в этот чат.`

export const botNotConnectedText = 'Бот создан, но подключить его к магазину не получилось. Откройте настройки Telegram магазина и попробуйте ещё раз.'

/** The button under `addGroupText`: Telegram's «add to group» picker for the shop's bot. */
export const ADD_GROUP_BUTTON = 'Добавить в группу'

export const addGroupText = 'Заказы могут приходить и в рабочую группу флористов: нажмите «Добавить в группу» и выберите её.'
