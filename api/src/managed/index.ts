/** The managed feature's surface (one tap to a bot): other features import only from here. */
export * from './manager'
export * from './poller'
export * from './routes'
export * from './service'
export { suggestName, suggestUsername, transliterate, BOT_USERNAME_RE } from './texts'
