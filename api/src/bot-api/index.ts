/** The bot-api feature's surface: other features import only from here. */
export * from './client'
export * from './grammy-client'
export * from './mock-client'
