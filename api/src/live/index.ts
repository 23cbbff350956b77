/** The live feature's surface: other code imports only from here. */
export * from './hub'
export * from './routes'
