/** The orders feature's surface: other features import only from here. */
export * from './buttons'
export * from './courier-buttons'
export * from './repository'
export * from './routes'
export * from './service'
export * from './courier-repository'
