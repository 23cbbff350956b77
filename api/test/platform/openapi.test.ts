import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import SwaggerParser from '@apidevtools/swagger-parser'
import { accessOf } from '../../src/platform/http/auth'
import { createHarness, type Harness } from '../helpers'

/** The API document checked with a third-party validator and against what the server really does. */
describe('the API document tells the truth', () => {
  let h: Harness
  let doc: any
  beforeAll(async () => {
    h = await createHarness()
    doc = (await h.get('/swagger/json')).json
  })
  afterAll(() => h.close())

  const operations = () => Object.entries<any>(doc.paths).flatMap(([path, ops]) => Object.entries<any>(ops).map(([method, op]) => ({ path, method, op })))

  test('it is a valid OpenAPI document (swagger-parser) naming its server and licence', async () => {
    await SwaggerParser.validate(structuredClone(doc))
    expect(doc.servers[0].url).toBe('http://localhost')
    expect(doc.info.license.name).toBeTruthy()
  })

  test('every route behind auth documents 401 and 403; every body route 413; every shop write 429', () => {
    const ops = operations()
    expect(ops.length).toBeGreaterThan(15)
    for (const { path, method, op } of ops) {
      const statuses = Object.keys(op.responses)
      const access = accessOf(method.toUpperCase(), path.replace(/\{[^}]+\}/g, '1'))
      if (access !== 'public') expect(statuses, `${method} ${path}`).toEqual(expect.arrayContaining(['401', '403']))
      if (op.requestBody) expect(statuses, `${method} ${path}`).toContain('413')
      if (path.startsWith('/shops/{shopId}') && method !== 'get') expect(statuses, `${method} ${path}`).toContain('429')
      for (const [status, r] of Object.entries<any>(op.responses)) {
        if (/^4/.test(status)) expect(r.content?.['application/json']?.schema, `${method} ${path} ${status}`).toBeTruthy()
      }
    }
  })

  test('request bodies are offered as JSON only, and path ids are integers', () => {
    for (const { path, method, op } of operations()) {
      if (op.requestBody) expect(Object.keys(op.requestBody.content), `${method} ${path}`).toEqual(['application/json'])
      for (const p of op.parameters ?? [])
        if (p.in === 'path' && /Id$/.test(p.name) && p.name !== 'webhookId') expect(p.schema.type, `${method} ${path} ${p.name}`).toBe('integer')
    }
  })

  test('request schemas refuse what the server refuses: a negative total, an empty chat id', () => {
    const order = doc.paths['/shops/{shopId}/orders'].post.requestBody.content['application/json'].schema
    const total = order.properties.total.anyOf as any[]
    expect(total.find((b) => b.type === 'number').minimum).toBe(0)
    expect(total.find((b) => b.type === 'string').pattern).toBeTruthy()
    const connect = doc.paths['/shops/{shopId}/telegram/connect'].post.requestBody.content['application/json'].schema
    expect(JSON.stringify(connect.properties.chatId)).toContain('pattern')
  })

  test('error messages of the API are English (the page translates by error code)', async () => {
    const texts = [
      (await h.post('/shops/1/telegram/connect', { botToken: 'nope', enabled: true })).json.message,
      (await h.post('/shops/1/telegram/connect', { enabled: true })).json.message,
      (await h.post('/shops/1/orders', { number: 'x', total: -1, customerName: 'a' })).json.message,
    ]
    for (const t of texts) expect(t).not.toMatch(/[А-Яа-яЁё]/)
  })
})

describe('platform events in the API document', () => {
  test('the feed, the webhook routes and the payload of each event type are documented', async () => {
    const h = await createHarness()
    const doc = (await h.get('/swagger/json')).json
    await h.close()
    for (const p of ['/events', '/webhooks/endpoints', '/webhooks/endpoints/{id}/deliveries', '/webhooks/deliveries/{id}/retry', '/shops', '/shops/{shopId}'])
      expect(doc.paths[p], p).toBeDefined()
    const statusChanged = doc.components.schemas.Event_order_status_changed
    expect(statusChanged.properties.by.properties.source.enum).toEqual(['telegram', 'api', 'page'])
    expect(statusChanged.required).toEqual(expect.arrayContaining(['shopId', 'orderId', 'number', 'sequence', 'from', 'to']))
    expect(doc.components.schemas.Event_order_updated.properties.changed.type).toBe('array')
  })
})
