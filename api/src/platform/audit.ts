import type { Sql } from './db/client'
import type { Actor } from './http/auth'

/**
 * The audit trail: who (operator, which API key, which owner) changed the integration, a recipient or an
 * order's status. Every feature that changes something on someone's behalf writes here.
 */
export type AuditEntry = { shopId: number; actor: Actor; action: string; orderId?: number | null; details?: Record<string, unknown> | null }

export async function insertAudit(sql: Sql, e: AuditEntry): Promise<void> {
  await sql`
    insert into audit_log (shop_id, actor_kind, actor_id, actor_label, action, order_id, details)
    values (${e.shopId}, ${e.actor.kind}, ${e.actor.id}, ${e.actor.label}, ${e.action}, ${e.orderId ?? null}, ${e.details ? sql.json(e.details as never) : null})`
}

export type AuditRow = { id: string; actor_kind: string; actor_label: string; action: string; order_id: string | null; details: unknown; created_at: Date }

export function listAudit(sql: Sql, shopId: number, limit: number): Promise<AuditRow[]> {
  return sql<AuditRow[]>`
    select id, actor_kind, actor_label, action, order_id, details, created_at from audit_log
    where shop_id = ${shopId} order by id desc limit ${limit}`
}
