import { deliveriesOn, renderSummary } from '../summary'
import type { MessageKind } from './kind'

/** The morning summary of one recipient chat: the day's deliveries, read when it goes out. */
export const dailySummaryKind: MessageKind<null> = {
  name: 'daily_summary',
  plan: async (n, ctx) => ({
    send: { method: 'sendMessage', text: renderSummary(n.shop_name, n.due_key!, await deliveriesOn(ctx.sql, n.shop_id, n.due_key!)) },
  }),
}
