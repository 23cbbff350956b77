import { AccessService, endedSessions, SESSIONS_ENDED_CHANNEL } from './access'
import { BuyerConversations, conversationKinds, PhotoCache } from './conversations'
import { GrammyClient, MockClient, type TelegramClient } from './bot-api'
import type { Config } from './config'
import { RecipientService, TelegramService } from './connect'
import {
  courierBuyerNewsKind,
  courierCardKind,
  courierReportKind,
  Dispatcher,
  defaultSenderConfig,
  notificationKinds,
  orderUnacceptedKind,
  Sender,
  type SenderConfig,
} from './notifications'
import { OrderService, courierCardKeyboard, orderKeyboard } from './orders'
import type { TokenCipher } from './platform/crypto'
import type { Sql } from './platform/db/client'
import type { Logger } from './platform/log'
import { Metrics } from './platform/metrics'
import { LiveHub } from './live'
import { CourierService } from './couriers'
import { EventService, WebhookSender, defaultWebhookConfig, type WebhookConfig } from './events'
import { ShopService } from './shops'
import { ManagedBotService, ManagerPoller } from './managed'
import { ReplicaRegistry } from './platform/http/replicas'
import { BotCommands, createCallbackHandler, Poller, UpdateRouter, type CallbackHandler } from './updates'

export type Services = ReturnType<typeof createServices>

/** The Bot API client of TELEGRAM_MODE; the mock one logs each message it records (never a token). */
export function createTelegramClient(config: Pick<Config, 'TELEGRAM_MODE' | 'TELEGRAM_API_ROOT' | 'TELEGRAM_TIMEOUT_MS'>, log?: Logger): TelegramClient {
  return config.TELEGRAM_MODE === 'real' ? new GrammyClient({ apiRoot: config.TELEGRAM_API_ROOT, timeoutMs: config.TELEGRAM_TIMEOUT_MS }) : new MockClient(log)
}

/** Builds the object graph once; main.ts, the tests and the bench build the same graph. */
export function createServices(p: {
  config: Config
  sql: Sql
  client: TelegramClient
  cipher: TokenCipher
  log: Logger
  delivery?: Partial<SenderConfig>
  webhooks?: Partial<WebhookConfig> & { fetch?: typeof fetch; resolve?: (host: string) => Promise<string[]> }
}) {
  const { config, sql, client, cipher, log } = p
  const deliveryConfig: SenderConfig = {
    ...defaultSenderConfig,
    timeoutMs: config.TELEGRAM_TIMEOUT_MS,
    baseDelayMs: config.RETRY_BASE_DELAY_MS,
    maxDelayMs: config.RETRY_MAX_DELAY_MS,
    maxAttempts: config.RETRY_MAX_ATTEMPTS,
    intervalMs: config.DISPATCH_INTERVAL_MS,
    concurrency: config.DISPATCH_CONCURRENCY,
    chatIntervalMs: config.TELEGRAM_CHAT_INTERVAL_MS,
    groupIntervalMs: config.TELEGRAM_GROUP_INTERVAL_MS,
    groupPerMinute: config.TELEGRAM_GROUP_PER_MINUTE,
    ...p.delivery,
  }
  const metrics = new Metrics(sql)
  // every message kind the one outbox sends (notifications/kinds): each feature adds its own
  const kinds = notificationKinds(orderKeyboard(cipher, config.PUBLIC_URL))
    .add(courierCardKind(courierCardKeyboard(cipher)))
    .add(courierReportKind)
    .add(courierBuyerNewsKind)
    .add(orderUnacceptedKind(orderKeyboard(cipher, config.PUBLIC_URL)))
  for (const k of conversationKinds(cipher)) kinds.add(k)
  const delivery = new Sender({ sql, client, cipher, log, metrics, config: deliveryConfig, kinds })
  const dispatcher = new Dispatcher({ sql, delivery, log })
  const telegram = new TelegramService({
    sql,
    client,
    cipher,
    log,
    publicUrl: config.PUBLIC_URL,
    timeoutMs: config.TELEGRAM_TIMEOUT_MS,
    managerBot: !!config.MANAGER_BOT_TOKEN,
  })
  // One tap to a bot: the platform's manager bot creates shops' bots (MANAGER_BOT_TOKEN).
  const managed = new ManagedBotService({
    sql,
    client,
    cipher,
    log,
    telegram,
    managerToken: config.MANAGER_BOT_TOKEN,
    publicUrl: config.PUBLIC_URL,
    timeoutMs: config.TELEGRAM_TIMEOUT_MS,
  })
  const managerPoller = config.MANAGER_BOT_TOKEN
    ? new ManagerPoller({ sql, client, managed, managerToken: config.MANAGER_BOT_TOKEN, log, intervalMs: config.POLL_INTERVAL_MS })
    : null
  const recipients = new RecipientService({ sql, client, cipher, log, timeoutMs: config.TELEGRAM_TIMEOUT_MS })
  const access = new AccessService({
    sql,
    log,
    cipher,
    client,
    timeoutMs: config.TELEGRAM_TIMEOUT_MS,
    platformSecret: config.PLATFORM_SECRET,
    previousPlatformSecrets: config.previousPlatformSecrets,
    publicUrl: config.PUBLIC_URL,
  })
  const couriers = new CourierService({ sql, client, cipher, log, timeoutMs: config.TELEGRAM_TIMEOUT_MS })
  const orders = new OrderService({ sql, delivery, dispatcher, log, cipher, couriers })
  // Imports run one way (updates → orders → notifications): the router is built last and given the
  // button handler, so nothing is assigned after construction.
  const accept = createCallbackHandler({ sql, client, cipher, orders, log, timeoutMs: config.TELEGRAM_TIMEOUT_MS })
  // «Разрешить» under an access request is the access feature's; every other press is an order's
  const buyers = new BuyerConversations({ sql, client, cipher, log, timeoutMs: config.TELEGRAM_TIMEOUT_MS })
  const onCallback: CallbackHandler = async (integration, token, update) => {
    if (await couriers.handlePress(integration, token, update)) return
    if (await buyers.press(integration, token, update)) return
    if (!(await access.handleTelegramPress(integration, token, update))) await accept(integration, token, update)
  }
  const commands = new BotCommands({ sql, client, cipher, log, timeoutMs: config.TELEGRAM_TIMEOUT_MS, publicUrl: config.PUBLIC_URL })
  const updates = new UpdateRouter({
    sql,
    client,
    cipher,
    log,
    timeoutMs: config.TELEGRAM_TIMEOUT_MS,
    onCallback,
    commands,
    publicUrl: config.PUBLIC_URL,
    onPhoto: (integration, token, msg) => couriers.handlePhoto(integration, token, msg),
    onStart: (integration, token, msg, code) => couriers.handleStart(integration, token, msg, code!),
    onChatBound: (integration, token, chat) => managed.offerGroup(integration, token, chat),
    conversations: buyers,
  })
  // Live pages: the hub is fed by LISTEN/NOTIFY and reads what it sends through the same services the GET routes use.
  const live = new LiveHub({
    sql,
    log,
    limits: { maxStreams: config.LIVE_MAX_STREAMS, maxPerShop: config.LIVE_MAX_STREAMS_PER_SHOP },
    // a stream of a session that ends (a removed manager's, say) closes within seconds
    endedSessions: (ids) => endedSessions(sql, ids),
    sessionsChannel: SESSIONS_ENDED_CHANNEL,
    sources: {
      order: (shopId, orderId) => orders.item(shopId, orderId),
      status: (shopId, links) => telegram.status(shopId, { links }),
      chats: async (shopId) => ({ items: await recipients.list(shopId) }),
    },
  })
  metrics.gaugeOf('notify_live_streams', 'Open live page streams (server-sent events) in this process', () => live.size)
  const { fetch: webhookFetch, resolve, ...webhookOverrides } = p.webhooks ?? {}
  const webhookSender = new WebhookSender({
    sql,
    cipher,
    log,
    fetch: webhookFetch,
    resolve,
    config: {
      ...defaultWebhookConfig,
      timeoutMs: config.WEBHOOK_TIMEOUT_MS,
      retryDelaysMs: config.WEBHOOK_RETRY_DELAYS_MS ?? defaultWebhookConfig.retryDelaysMs,
      eventRetentionDays: config.EVENTS_RETENTION_DAYS,
      ...webhookOverrides,
    },
    counters: {
      outcome: (o) => metrics.webhookDeliveries.inc({ outcome: o }),
      disabled: () => metrics.webhookEndpointsDisabled.inc(),
    },
  })
  const events = new EventService({ sql, cipher, log, resolve, wake: () => webhookSender.wake() })
  const shops = new ShopService({ sql, client, cipher, log, timeoutMs: config.TELEGRAM_TIMEOUT_MS })
  // per-shop rate limits as one budget across replicas (platform/http/replicas.ts)
  const replicas = new ReplicaRegistry({ sql, log, id: delivery.owner })
  const poller = new Poller({ sql, client, cipher, router: updates, log, intervalMs: config.POLL_INTERVAL_MS })
  return {
    config,
    sql,
    client,
    cipher,
    log,
    delivery,
    dispatcher,
    telegram,
    updates,
    poller,
    orders,
    access,
    recipients,
    couriers,
    buyers,
    /** what the photo route needs: it streams an order's photos through the shop's bot, with a bounded cache */
    photos: { sql, client, cipher, timeoutMs: config.TELEGRAM_TIMEOUT_MS, cache: new PhotoCache() },
    metrics,
    live,
    events,
    webhookSender,
    shops,
    replicas,
    managed,
    managerPoller,
    /** Background work: the dispatcher always, the poller only when no webhook can reach us. */
    start() {
      dispatcher.start()
      webhookSender.start()
      replicas.start()
      if (!config.PUBLIC_URL) poller.start()
      // the manager bot: its webhook pointed at us, or polled like the shops' bots
      if (managed.manager.configured && config.PUBLIC_URL) managed.manager.me().catch((error) => log.warn('manager_bot_not_ready', { error }))
      if (!config.PUBLIC_URL) managerPoller?.start()
    },
    async stop() {
      await Promise.all([dispatcher.stop(), poller.stop(), live.stop(), webhookSender.stop(), managerPoller?.stop(), replicas.stop()])
      await delivery.settle()
      await updates.settle()
      await managed.settle()
      await buyers.settle()
    },
  }
}
