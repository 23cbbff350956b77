import { dailySummaryKind } from './daily-summary'
import { MessageKinds } from './kind'
import { deliveryReminderKind, orderKind, orderStatusKind, type KeyboardFor } from './order'

export * from './kind'
export { orderText, type KeyboardFor, type OrderData } from './order'

/** The kinds the notifications feature itself sends; other features add theirs (`MessageKinds.add`). */
export function notificationKinds(keyboard?: KeyboardFor): MessageKinds {
  return new MessageKinds([orderKind(keyboard), orderStatusKind(keyboard), deliveryReminderKind, dailySummaryKind] as never[])
}
export { courierBuyerNewsKind, courierCardKind, courierReportKind, orderUnacceptedKind, type CourierKeyboardFor } from './courier'
