/** Platform events: the event log written with each change, its feed and the webhooks that carry it. */
export { recordEvent, ORDER_CREATED_EVENT_SQL } from './record'
export { EVENT_TYPES, type EventType, type ChangeSource } from './types'
