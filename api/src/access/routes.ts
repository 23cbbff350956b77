import { Elysia } from 'elysia'
import { z } from 'zod'
import { actorOf, principalOf } from '../platform/http/auth'
import { ErrorSchema, Id } from '../platform/http/schemas'
import type { AccessService } from './service'

const ShopParams = z.object({ shopId: Id })
const ApiKeySchema = z.object({ id: z.number(), prefix: z.string(), name: z.string(), createdAt: z.string(), lastUsedAt: z.string().nullable() })
const SessionSchema = z.object({
  token: z.string(),
  shopId: z.number(),
  expiresAt: z.string(),
  role: z.enum(['owner', 'manager']).describe('manager: orders and their actions, settings read-only'),
})
const OpenSessionSchema = z.object({
  id: z.number(),
  kind: z.enum(['owner', 'manager']),
  source: z.enum(['launch', 'telegram']),
  name: z.string().nullable().describe('The platform user (launch `name`) or the Telegram user'),
  subject: z.string().nullable().describe('The platform user id (launch `sub`) or `tg:<Telegram user id>`'),
  telegramUserId: z.number().nullable(),
  createdAt: z.string(),
  expiresAt: z.string(),
  current: z.boolean().describe('The session making this request'),
})
const ManagerSchema = z.object({ telegramUserId: z.number(), name: z.string().nullable(), addedBy: z.string(), createdAt: z.string() })
export const AccessRequestSchema = z.object({ telegramUserId: z.number(), name: z.string(), requestedAt: z.string() })
const authErrors = { 401: ErrorSchema, 403: ErrorSchema }

export const accessRoutes = (access: AccessService) =>
  new Elysia({ name: 'access', detail: { tags: ['Access'] } })
    .post(
      '/shops/:shopId/api-keys',
      async ({ params, body, request, set }) => {
        set.status = 201
        return access.createApiKey(params.shopId, body?.name, actorOf(principalOf(request)))
      },
      {
        params: ShopParams,
        body: z.object({ name: z.string().trim().max(100).optional() }).optional(),
        response: { 201: ApiKeySchema.extend({ key: z.string() }), 400: ErrorSchema, ...authErrors, 404: ErrorSchema, 422: ErrorSchema },
        detail: {
          summary: 'Issue an API key for the shop’s POS (operator only)',
          description:
            'The key is in this answer only; it is stored as a hash. The POS sends it as `Authorization: Bearer <key>` and reaches only this shop’s orders and status.',
        },
      },
    )
    .get('/shops/:shopId/api-keys', async ({ params }) => ({ items: await access.listApiKeys(params.shopId) }), {
      params: ShopParams,
      response: { 200: z.object({ items: z.array(ApiKeySchema) }), 400: ErrorSchema, ...authErrors, 404: ErrorSchema },
      detail: { summary: 'The shop’s active API keys (never the key itself; operator only)' },
    })
    .delete(
      '/shops/:shopId/api-keys/:keyId',
      async ({ params, request, set }) => {
        await access.revokeApiKey(params.shopId, params.keyId, actorOf(principalOf(request)))
        set.status = 204
        return null
      },
      {
        params: z.object({ shopId: Id, keyId: Id }),
        response: { 204: z.null(), 400: ErrorSchema, ...authErrors, 404: ErrorSchema },
        detail: { summary: 'Revoke an API key (operator only); it stops working at once' },
      },
    )
    .post(
      '/shops/:shopId/owner-link',
      async ({ params, request, set }) => {
        set.status = 201
        return access.ownerLink(params.shopId, new URL(request.url).origin, actorOf(principalOf(request)))
      },
      {
        params: ShopParams,
        response: { 201: z.object({ url: z.string(), expiresAt: z.string() }), 400: ErrorSchema, ...authErrors, 404: ErrorSchema, 409: ErrorSchema },
        detail: {
          summary: 'A settings-page link carrying a fresh launch token (operator only; support and demos)',
          description: '409 when PLATFORM_SECRET is not set.',
        },
      },
    )
    .post(
      '/session',
      async ({ body, set }) => {
        const s = 'launch' in body ? await access.openFromLaunch(body.launch) : await access.openFromTelegram(body.shopId, body.initData)
        set.status = 201
        return s
      },
      {
        parse: 'json',
        body: z.union([
          z.object({ launch: z.string().min(1).max(4096) }).strict(),
          z.object({ shopId: z.number().int().min(1).max(999_999_999_999_999), initData: z.string().min(1).max(8192) }).strict(),
        ]),
        response: { 201: SessionSchema, 400: ErrorSchema, 401: ErrorSchema, 403: ErrorSchema, 404: ErrorSchema, 422: ErrorSchema },
        detail: {
          summary: 'Trade a platform-signed launch token for an owner session',
          description:
            'Either `{launch}`: an HS256 JWT signed with PLATFORM_SECRET with claims `shop`, `exp` (≤ 10 min ahead) and a single-use `jti` (401 for a bad signature, an expired or reused token); or `{shopId, initData}` from a Telegram Mini App of that shop’s bot (401 `init_data_invalid` when not signed by it or older than 5 minutes, 401 `init_data_reused` when that initData already opened a session; 403 `not_allowed` for a user who is neither the owner nor an allowed manager). The session (≤ 12 h) reaches only that shop: an owner session all of it but API keys and owner links; a manager session (`role: manager`) orders and their actions, settings read-only. 429 `rate_limited` (with Retry-After) past the per-address budget.',
        },
      },
    )
    .delete(
      '/session',
      async ({ request, set }) => {
        await access.endSession(principalOf(request))
        set.status = 204
        return null
      },
      { response: { 204: z.null(), ...authErrors }, detail: { summary: 'End the session sent as the bearer' } },
    )
    .get('/shops/:shopId/audit', async ({ params, query }) => ({ items: await access.audit(params.shopId, query.limit ?? 50) }), {
      params: ShopParams,
      query: z.object({ limit: z.coerce.number().int().min(1).max(200).optional() }),
      response: {
        200: z.object({
          items: z.array(
            z.object({
              id: z.number(),
              actorKind: z.string(),
              actor: z.string(),
              action: z.string(),
              orderId: z.number().nullable(),
              details: z.record(z.string(), z.unknown()).nullable(),
              createdAt: z.string(),
            }),
          ),
        }),
        400: ErrorSchema,
        ...authErrors,
      },
      detail: { summary: 'Who changed what: the integration, recipients, order statuses, keys (newest first)' },
    })
    .get(
      '/shops/:shopId/telegram/managers',
      async ({ params }) => ({ items: await access.listManagers(params.shopId), requests: await access.listAccessRequests(params.shopId) }),
      {
        params: ShopParams,
        response: {
          200: z.object({
            items: z.array(ManagerSchema),
            requests: z.array(AccessRequestSchema).describe('People who opened the Mini App and are not allowed yet (last 30 days)'),
          }),
          400: ErrorSchema,
          ...authErrors,
        },
        detail: { summary: 'Telegram users allowed to open the settings inside Telegram besides the owner, and who asked' },
      },
    )
    .post(
      '/shops/:shopId/telegram/managers',
      async ({ params, body, request, set }) => {
        set.status = 201
        return { items: await access.allowManager(params.shopId, body, actorOf(principalOf(request))) }
      },
      {
        params: ShopParams,
        parse: 'json',
        body: z.object({ telegramUserId: z.number().int().min(1).max(999_999_999_999_999), name: z.string().trim().min(1).max(200).optional() }),
        response: { 201: z.object({ items: z.array(ManagerSchema) }), 400: ErrorSchema, ...authErrors, 404: ErrorSchema, 422: ErrorSchema },
        detail: { summary: 'Allow a Telegram user (by id) to open the settings inside Telegram' },
      },
    )
    .delete(
      '/shops/:shopId/telegram/managers/:telegramUserId',
      async ({ params, request, set }) => {
        await access.removeManager(params.shopId, params.telegramUserId, actorOf(principalOf(request)))
        set.status = 204
        return null
      },
      {
        params: z.object({ shopId: Id, telegramUserId: Id }),
        response: { 204: z.null(), 400: ErrorSchema, ...authErrors, 404: ErrorSchema },
        detail: { summary: 'Stop allowing a manager' },
      },
    )

/** The shop's open sessions, for the owner and the operator: who is signed in, and ending one. */
export const sessionRoutes = (access: AccessService) =>
  new Elysia({ name: 'access-sessions', detail: { tags: ['Access'] } })
    .get('/shops/:shopId/sessions', async ({ params, request }) => ({ items: await access.listSessions(params.shopId, principalOf(request)) }), {
      params: ShopParams,
      response: { 200: z.object({ items: z.array(OpenSessionSchema) }), 400: ErrorSchema, ...authErrors, 404: ErrorSchema },
      detail: { summary: 'Open sessions of the shop (owner, operator): who opened each, from where, until when' },
    })
    .delete(
      '/shops/:shopId/sessions/:sessionId',
      async ({ params, request, set }) => {
        await access.endShopSession(params.shopId, params.sessionId, actorOf(principalOf(request)))
        set.status = 204
        return null
      },
      {
        params: z.object({ shopId: Id, sessionId: Id }),
        response: { 204: z.null(), 400: ErrorSchema, ...authErrors, 404: ErrorSchema },
        detail: { summary: 'End a session of the shop (owner, operator); its live pages close within seconds' },
      },
    )
