/** The conversations feature's surface: people (buyers, couriers) and the staff through the shop's bot. */
export * from './map'
export * from './photos'
export * from './private-chats'
