/**
 * Every platform event type (CONTRACT.md, "Platform events"). An event row is written in the same
 * transaction as the change it reports; webhooks and the `GET /events` feed read the same rows.
 */
export const EVENT_TYPES = [
  'order.created',
  'order.updated',
  'order.status_changed',
  'notification.sent',
  'notification.failed',
  'telegram.connected',
  'telegram.disconnected',
  'recipient.added',
  'recipient.removed',
  'buyer.subscribed',
  'buyer.message',
  'photo.added',
  'photo.approved',
  'photo.changes_requested',
  'delivery.assigned',
  'delivery.completed',
  'delivery.failed',
  'order.unaccepted',
  'webhook.test',
  // not in the contract's list: an endpoint switched off after days of nothing but failures
  'webhook.disabled',
] as const

export type EventType = (typeof EVENT_TYPES)[number]

/** Who made a change, as `order.status_changed` reports it. */
export type ChangeSource = { source: 'telegram' | 'api' | 'page'; name?: string }
