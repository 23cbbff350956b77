/** Access: shop API keys, owner sessions (launch tokens, Telegram), owner links. */
export { accessRoutes, sessionRoutes } from './routes'
export { AccessService, SESSION_TTL_MS } from './service'
export { signLaunchToken, verifyLaunchToken, LAUNCH_MAX_LIFETIME_SEC } from './launch'
export { API_KEY_PREFIX, SESSION_PREFIX } from './credentials'
export { SESSIONS_ENDED_CHANNEL, endedSessions } from './repository'
