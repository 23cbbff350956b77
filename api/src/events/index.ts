/** Platform events: the event log written with each change, its feed and the webhooks that carry it. */
export { recordEvent, ORDER_CREATED_EVENT_SQL } from './record'
export { EVENT_TYPES, type EventType, type ChangeSource } from './types'
export { EventService } from './service'
export { eventRoutes } from './routes'
export { EVENT_PAYLOADS } from './schema'
export { reencryptWebhookSecrets, WebhookSender, defaultWebhookConfig, DEFAULT_RETRY_DELAYS_MS, type WebhookConfig } from './webhooks'
