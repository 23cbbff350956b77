/** The notifications feature's surface: other features import only from here. */
export * from './dispatcher'
export * from './message'
export * from './outbox'
export * from './sender'
export * from './quiet-hours'
export * from './summary'
export * from './courier-messages'
export * from './courier-outbox'
