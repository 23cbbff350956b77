/** The updates feature's surface: other features import only from here. */
export * from './callbacks'
export * from './commands'
export * from './poller'
export * from './router'
export * from './routes'
