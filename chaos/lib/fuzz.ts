import fc from 'fast-check'

/**
 * Request generators for the fuzzing check: every route of the API (and unknown ones), with paths,
 * queries, headers and bodies drawn from valid, near-valid and hostile values.
 */
export type FuzzCase = { route: string; method: string; path: string; headers: Record<string, string>; body?: string }

export type FuzzTarget = {
  /** Shops of this worker: one connected with a chat, one bare. */
  shopOk: number
  shopBare: number
  missingShop: number
  orderId: number
  webhookId: string
  adminToken: string
  /** An API key of this worker's shop, and one of another shop (it must never reach this worker's shops). */
  keys: { own: string; other: string }
  /** Shop ids of the other workers (and the demo shop): never generated, so a 2xx of this worker cannot change what another worker watches. */
  foreign: string[]
}

const BAD_IDS = [
  '0',
  '-1',
  '01',
  '001',
  '1e3',
  '1E3',
  '1.0',
  '1.5',
  ' 1',
  '1 ',
  '+1',
  '0x1',
  '0b1',
  '1_000',
  '١٢٣',
  '１',
  '²',
  '9223372036854775807',
  '9223372036854775808',
  '-9223372036854775808',
  '18446744073709551616',
  '9007199254740992',
  '9007199254740993',
  '999999999999999',
  '1000000000000000',
  '99999999999999999999',
  'NaN',
  'Infinity',
  '-Infinity',
  'null',
  'undefined',
  'true',
  '[]',
  '{}',
  '%00',
  '%20',
  '%2F',
  '%0A',
  '%F0%9F%8C%B8',
  '%D9%A1',
  '%EF%BC%91',
  '%2e%2e',
  '..',
  '.',
  'a'.repeat(300),
  '1'.repeat(300),
  '1;select 1',
  "1'",
  '%27%20or%201%3D1',
]
const RAW_NUMBERS = [
  '9223372036854775808',
  '-9223372036854775809',
  '1e400',
  '-1e400',
  '-0',
  '1E3',
  '1e-400',
  '0.000000000000000000001',
  '123456789012345678901234567890',
  '1.005',
  '9999999999.995',
  '00',
  '0.10',
]
const CONTENT_TYPES = [
  'application/json',
  'application/json; charset=utf-8',
  'APPLICATION/JSON',
  'application/json; charset=latin1',
  'application/json; charset=utf-16',
  'text/plain',
  'text/html',
  'application/x-www-form-urlencoded',
  'multipart/form-data',
  'multipart/form-data; boundary=zzz',
  'application/octet-stream',
  'application/xml',
  'application/vnd.api+json',
  'application/ld+json',
  '*/*',
  'garbage',
  'application/',
]
const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS']

const ascii = (maxLength: number) => fc.string({ unit: 'grapheme-ascii', maxLength })
const weirdString = fc.oneof(
  { weight: 3, arbitrary: fc.string({ maxLength: 60 }) },
  { weight: 2, arbitrary: fc.string({ unit: 'grapheme', maxLength: 30 }) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 30 }) },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      '',
      ' ',
      '\u0000',
      '\u202e\u200b',
      '\ud800',
      '💐🌸'.repeat(40),
      'null',
      '<b>x</b> & <script>',
      "'; drop table orders; --",
      '1e3',
      '-1',
      '01',
      'x'.repeat(5000),
      'Ж'.repeat(300),
      '\t\n',
      '%s%n',
      '${7*7}',
      '__proto__',
    ),
  },
)
const hugeNumber = fc.constantFrom(2 ** 63, -(2 ** 63), 2 ** 53 + 1, 1e308, -1e308, 5e-324, Number.MAX_SAFE_INTEGER, 0.1 + 0.2, -0, 1e21, 12345678901.999)
const weird: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: weirdString },
  { weight: 1, arbitrary: fc.integer() },
  { weight: 1, arbitrary: fc.double() },
  { weight: 2, arbitrary: hugeNumber },
  { weight: 1, arbitrary: fc.boolean() },
  { weight: 1, arbitrary: fc.constant(null) },
  { weight: 1, arbitrary: fc.array(fc.jsonValue({ maxDepth: 2 }), { maxLength: 3 }) },
  { weight: 1, arbitrary: fc.dictionary(fc.string({ maxLength: 6 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 3 }) },
)
const maybe = <T>(valid: fc.Arbitrary<T>) => fc.oneof({ weight: 3, arbitrary: valid }, { weight: 2, arbitrary: weird })

/** Tokens shaped like BotFather's, with a unique random secret (so the secrets check can find them). */
export const tokenArb = fc
  .tuple(fc.integer({ min: 100, max: 99_999_999_999 }), fc.uint8Array({ minLength: 16, maxLength: 24 }))
  .map(([id, b]) => `${id}:FZ${Buffer.from(b).toString('hex')}`)

const orderBody = fc.record(
  {
    number: maybe(fc.constantFrom('F-1', 'F-2', 'F-3', ' F-1 ', 'f-1', 'F-' + 'x'.repeat(64), 'Ж-1')),
    total: maybe(fc.constantFrom(100, '100', '100.50', '100.5', 0, '0', '0.001', -1, '1e3', 1e10, 9999999999.99, '9999999999.99', '10000000000', ' 42 ')),
    customerName: maybe(fc.constantFrom('Анна', 'Bob', ' ', 'x'.repeat(201), '<b>Bob</b>')),
    customerPhone: maybe(fc.constantFrom('+7 916 555-12-01', '', null)),
    recipientName: maybe(fc.constantFrom('Мария', null)),
    deliveryDate: maybe(fc.constantFrom('2026-01-31', '2026-02-30', '2026-13-01', '0000-00-00', '9999-12-31', '2026-1-1', '', null)),
    deliveryTime: maybe(fc.constantFrom('14:00–16:00', '')),
    address: maybe(fc.constantFrom('ул. Ленина, 12', 'x'.repeat(501))),
    comment: maybe(fc.constantFrom('Позвонить', 'x'.repeat(2001))),
  },
  { requiredKeys: [] },
)
const connectBody = fc.record(
  {
    botToken: maybe(
      fc.oneof(tokenArb, fc.constantFrom('123:short', '12:' + 'A'.repeat(30), ' 123456:' + 'A'.repeat(35) + ' ', '123456:' + 'A'.repeat(65), 'abc:def', '')),
    ),
    chatId: maybe(
      fc.constantFrom(
        '123',
        '-100123456',
        '@channel_name',
        '0',
        '01',
        '-0',
        2 ** 53,
        2 ** 63,
        12345,
        -1001234567890,
        '99999999999999999999999',
        '@ab',
        '@' + 'a'.repeat(70),
        null,
      ),
    ),
    enabled: maybe(fc.boolean()),
  },
  { requiredKeys: [] },
)
const updateBody = fc.record(
  {
    update_id: maybe(fc.integer({ min: 1 })),
    message: maybe(
      fc.record({
        message_id: maybe(fc.integer({ min: 1 })),
        chat: maybe(fc.record({ id: maybe(fc.integer()), type: maybe(fc.constantFrom('private', 'group', 'supergroup', 'channel')) })),
        text: maybe(fc.constantFrom('/start abc', '/start', '/help')),
      }),
    ),
    my_chat_member: maybe(fc.constant({ chat: { id: 1, type: 'group' }, new_chat_member: { status: 'kicked' } })),
    callback_query: maybe(fc.constant({ id: 'q', from: { id: 1 }, data: 'accept:1' })),
  },
  { requiredKeys: [] },
)

function routeBody(route: string): fc.Arbitrary<unknown> {
  switch (route) {
    case 'order':
      return orderBody
    case 'connect':
      return connectBody
    case 'webhook':
      return updateBody
    case 'mock':
      return fc.record({ chatType: maybe(fc.constantFrom('private', 'group')) }, { requiredKeys: [] })
    default:
      return fc.jsonValue({ maxDepth: 2 })
  }
}

/** A body as bytes on the wire: valid JSON of a (near-)valid object, raw numbers, malformed text, nothing, oversized. */
function bodyArb(route: string): fc.Arbitrary<string | undefined> {
  return fc.oneof(
    { weight: 10, arbitrary: routeBody(route).map((v) => JSON.stringify(v)) },
    { weight: 3, arbitrary: fc.jsonValue().map((v) => JSON.stringify(v)) },
    {
      weight: 2,
      arbitrary: fc
        .tuple(fc.constantFrom(...RAW_NUMBERS), fc.constantFrom('total', 'number', 'customerName', 'chatId', 'enabled', 'update_id', 'botToken'))
        .map(([n, k]) => `{"number":"F-9","total":"1","customerName":"A","enabled":true,"${k}":${n}}`),
    },
    {
      weight: 2,
      arbitrary: fc.oneof(
        weirdString,
        fc.constantFrom(
          '{',
          '{"number":',
          '[',
          'nul',
          '{"a":1,}',
          "{'a':1}",
          '{"__proto__":{"x":1}}',
          '{"constructor":{"prototype":{}}}',
          '\ufeff{}',
          '{"number":"F-1","number":"F-2"}',
        ),
        fc.constantFrom('['.repeat(20_000) + ']'.repeat(20_000), '{"a":'.repeat(6000) + '1' + '}'.repeat(6000)),
      ),
    },
    { weight: 2, arbitrary: fc.constant(undefined) },
    { weight: 1, arbitrary: fc.constantFrom('number=1&total=2&customerName=x', 'botToken=1&enabled=true') },
    { weight: 1, arbitrary: fc.constantFrom(JSON.stringify({ number: 'F-big', total: 1, customerName: 'x'.repeat(70_000) }), 'x'.repeat(65 * 1024 + 1)) },
  )
}

export function caseArb(t: FuzzTarget): fc.Arbitrary<FuzzCase> {
  const shopAny = fc.oneof(
    { weight: 8, arbitrary: fc.constantFrom(String(t.shopOk), String(t.shopBare)) },
    { weight: 1, arbitrary: fc.constant(String(t.missingShop)) },
    { weight: 4, arbitrary: fc.constantFrom(...BAD_IDS) },
    { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 12 }).map(encodeURIComponent) },
    { weight: 1, arbitrary: fc.bigInt({ min: -(2n ** 70n), max: 2n ** 70n }).map(String) },
  )
  const shop = shopAny.map((s) => (t.foreign.includes(s) ? String(t.missingShop) : s))
  const order = fc.oneof(
    { weight: 4, arbitrary: fc.constant(String(t.orderId)) },
    { weight: 1, arbitrary: fc.constant('999999') },
    { weight: 3, arbitrary: fc.constantFrom(...BAD_IDS) },
  )
  const query = fc.oneof(
    fc.constant(''),
    fc
      .tuple(fc.constantFrom('1', '20', '100', '101', '0', ...BAD_IDS), fc.constantFrom('', '1', String(t.orderId), ...BAD_IDS))
      .map(([l, c]) => `?limit=${l}${c ? `&cursor=${c}` : ''}`),
    fc.constantFrom('?limit=1&limit=2', '?cursor=', '?limit=', '?=&&=', '?limit[]=1', '?%ZZ=1'),
  )
  const webhook = fc.oneof(
    fc.constant(t.webhookId),
    fc.constantFrom('x', 'a'.repeat(8), 'a'.repeat(101), '%00', '..'),
    fc.string({ maxLength: 20 }).map(encodeURIComponent),
  )
  const route = fc.oneof(
    shop.map((s) => ({ route: 'connect', method: 'POST', path: `/shops/${s}/telegram/connect` })),
    shop.map((s) => ({ route: 'order', method: 'POST', path: `/shops/${s}/orders` })),
    shop.map((s) => ({ route: 'order', method: 'POST', path: `/shops/${s}/orders` })),
    fc.tuple(shop, query).map(([s, q]) => ({ route: 'list', method: 'GET', path: `/shops/${s}/orders${q}` })),
    shop.map((s) => ({ route: 'status', method: 'GET', path: `/shops/${s}/telegram/status` })),
    shop.map((s) => ({ route: 'test', method: 'POST', path: `/shops/${s}/telegram/test` })),
    shop.map((s) => ({ route: 'link', method: 'POST', path: `/shops/${s}/telegram/link` })),
    fc.tuple(shop, order).map(([s, o]) => ({ route: 'resend', method: 'POST', path: `/shops/${s}/orders/${o}/telegram/resend` })),
    shop.map((s) => ({ route: 'mock', method: 'POST', path: `/shops/${s}/telegram/mock/start` })),
    webhook.map((w) => ({ route: 'webhook', method: 'POST', path: `/telegram/webhook/${w}` })),
    fc.constant({ route: 'health', method: 'GET', path: '/health' }),
    shop.map((s) => ({ route: 'page', method: 'GET', path: `/shops/${s}/growth/telegram` })),
    fc
      .constantFrom(
        '/',
        '/shops',
        '/shops/',
        '/shops//orders',
        '/swagger/json',
        '/nope',
        '/shops/1/telegram',
        '/shops/1/orders/1',
        '/.env',
        '/shops/1/growth/telegram/../../x',
      )
      .map((p) => ({ route: 'unknown', method: 'GET', path: p })),
    fc.string({ maxLength: 30 }).map((p) => ({ route: 'unknown', method: 'GET', path: '/' + encodeURIComponent(p) })),
  )
  const auth = fc.oneof(
    { weight: 12, arbitrary: fc.constant(`Bearer ${t.adminToken}`) },
    { weight: 3, arbitrary: fc.constant(`Bearer ${t.keys.own}`) },
    { weight: 3, arbitrary: fc.constant(`Bearer ${t.keys.other}`) },
    {
      weight: 3,
      arbitrary: fc.constantFrom(undefined, 'Bearer wrong-token', `bearer ${t.adminToken}`, `Bearer ${t.adminToken} `, `Basic ${btoa('a:b')}`, 'Bearer', ''),
    },
    { weight: 1, arbitrary: ascii(40) },
  )
  const contentType = fc.oneof(
    { weight: 6, arbitrary: fc.constant('application/json') },
    { weight: 4, arbitrary: fc.constantFrom(...CONTENT_TYPES, undefined) },
    { weight: 1, arbitrary: ascii(30) },
  )
  const extra = fc.option(
    fc.tuple(
      fc.constantFrom(
        'x-forwarded-for',
        'accept',
        'accept-encoding',
        'content-encoding',
        'x-request-id',
        'origin',
        'x-telegram-bot-api-secret-token',
        'transfer-encoding-x',
        'cookie',
      ),
      ascii(60),
    ),
    { nil: undefined },
  )
  return fc
    .tuple(route, fc.integer({ min: 0, max: 99 }), fc.constantFrom(...METHODS), auth, contentType, extra, fc.string({ maxLength: 40 }))
    .chain(([r, methodDice, otherMethod, a, ct, ex, secret]) =>
      bodyArb(r.route).map((body) => {
        const method = methodDice < 85 ? r.method : otherMethod
        const headers: Record<string, string> = {}
        if (a !== undefined) headers.authorization = a
        if (ct !== undefined && body !== undefined) headers['content-type'] = ct
        if (ex) headers[ex[0]] = ex[1]
        if (r.route === 'webhook' && methodDice % 2 === 0) headers['x-telegram-bot-api-secret-token'] = secret.replace(/[^\x20-\x7e]/g, '')
        return { route: r.route, method, path: r.path, headers, body: method === 'GET' || method === 'HEAD' ? undefined : body }
      }),
    )
}
