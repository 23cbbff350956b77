import { describe, expect, test } from 'bun:test'
import { readdirSync, readFileSync, statSync } from 'node:fs'
import path from 'node:path'

/**
 * The house rules of api/src, read off the import statements: feature folders reach each other only
 * through `index.ts`, the platform reaches no feature, and no two features import each other (directly
 * or round a longer loop). The allowed order today:
 *   updates → connect, orders → notifications → bot-api → platform   (access → platform; live → platform;
 *   managed → connect, events → platform)
 */
const SRC = path.resolve(import.meta.dir, '../../src')
const FEATURES = ['managed', 'live', 'access', 'updates', 'couriers', 'connect', 'orders', 'conversations', 'notifications', 'bot-api', 'events', 'shops']

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = path.join(dir, n)
    return statSync(p).isDirectory() ? walk(p) : p.endsWith('.ts') ? [p] : []
  })
}

type Edge = { from: string; to: string; target: string }

function edges(): Edge[] {
  const out: Edge[] = []
  for (const file of walk(SRC)) {
    const text = readFileSync(file, 'utf8')
    for (const m of text.matchAll(/(?:from|import)\s*\(?\s*'(\.{1,2}\/[^']+)'/g)) {
      const target = path.resolve(path.dirname(file), m[1]!)
      out.push({ from: path.relative(SRC, file), to: path.relative(SRC, target), target })
    }
  }
  return out
}

const areaOf = (rel: string) => {
  const top = rel.split('/')[0]!
  return FEATURES.includes(top) ? top : top === 'platform' ? 'platform' : 'root'
}

describe('imports between feature folders', () => {
  const all = edges()

  test('a feature reaches another feature only through its index.ts', () => {
    const bypass = all.filter((e) => {
      const a = areaOf(e.from)
      const b = areaOf(e.to)
      return FEATURES.includes(b) && a !== b && e.to !== b && e.to !== `${b}/index`
    })
    expect(bypass.map((e) => `${e.from} → ${e.to}`)).toEqual([])
  })

  test('the platform imports no feature', () => {
    const up = all.filter((e) => areaOf(e.from) === 'platform' && FEATURES.includes(areaOf(e.to)))
    expect(up.map((e) => `${e.from} → ${e.to}`)).toEqual([])
  })

  test('there is no import cycle between feature folders', () => {
    const graph = new Map<string, Set<string>>()
    for (const e of all) {
      const a = areaOf(e.from)
      const b = areaOf(e.to)
      if (FEATURES.includes(a) && FEATURES.includes(b) && a !== b) graph.set(a, (graph.get(a) ?? new Set()).add(b))
    }
    const cycles: string[] = []
    const visit = (node: string, trail: string[]) => {
      if (trail.includes(node)) return void cycles.push([...trail.slice(trail.indexOf(node)), node].join(' → '))
      for (const next of graph.get(node) ?? []) visit(next, [...trail, node])
    }
    for (const f of FEATURES) visit(f, [])
    expect(graph.get('orders')?.has('notifications')).toBe(true) // the walk sees real edges
    expect(cycles).toEqual([])
    // and the edges that exist all point down the documented order
    const rank: Record<string, number> = { managed: 4, live: 4, access: 4, updates: 4, couriers: 3.5, connect: 3, orders: 3, notifications: 2, 'bot-api': 1 }
    const upward = [...graph].flatMap(([a, bs]) => [...bs].filter((b) => rank[b]! >= rank[a]!).map((b) => `${a} → ${b}`))
    expect(upward).toEqual([])
  })
})
