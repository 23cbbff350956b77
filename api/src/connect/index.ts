/** The connect feature's surface: other features import only from here. */
export * from './repository'
export * from './routes'
export * from './service'
export * from './schema'
export * from './reencrypt'
export * from './recipients'
export * from './settings'
export * from './mock-messages'
