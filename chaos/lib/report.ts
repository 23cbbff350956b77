import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import type { Accept } from './fake-bot'

export type Row = { check: string; ok: boolean; figures: string }
export const rows: Row[] = []

/** Prints one check's figures as they come, and keeps them for the final table. */
export function record(check: string, ok: boolean, figures: Record<string, string | number>): void {
  const text = Object.entries(figures)
    .map(([k, v]) => `${k} ${v}`)
    .join(' · ')
  rows.push({ check, ok, figures: text })
  console.log(
    `\n[chaos] ${ok ? 'PASS' : 'FAIL'} ${check}\n        ${Object.entries(figures)
      .map(([k, v]) => `${k}: ${v}`)
      .join('\n        ')}`,
  )
}

export function table(meta: string): string {
  const lines = [
    `# Chaos suite — latest run`,
    '',
    meta,
    '',
    '| check | result | figures |',
    '| --- | --- | --- |',
    ...rows.map((r) => `| ${r.check} | ${r.ok ? 'pass' : '**FAIL**'} | ${r.figures.replace(/\|/g, '\\|')} |`),
    '',
  ]
  return lines.join('\n')
}

/**
 * Writes chaos/results/latest.md. A run of some checks only (`-t …`) replaces their rows and keeps
 * the others from the file, and the header says which rows come from which run.
 */
export function writeResults(meta: string): string {
  const dir = path.join(import.meta.dir, '..', 'results')
  const file = path.join(dir, 'latest.md')
  const old = existsSync(file) ? readFileSync(file, 'utf8') : ''
  const oldMeta = (old.split('\n')[2] ?? '').split(' — this run:')[0]!
  const when = (m: string) => `${m.split(' · ')[0]}, ${m.split(' · ').slice(3).join(' · ')}`
  // rows the old file had kept from an earlier run keep that run's date
  const earlier = [...old.matchAll(/^Kept from the previous run \((.*?)\): (.*)$/gm)].map((m) => ({ from: m[1]!, checks: m[2]!.split('; ') }))
  const kept: (Row & { from: string })[] = []
  for (const line of old.split('\n')) {
    const m = /^\| (.+?) \| (pass|\*\*FAIL\*\*) \| (.*) \|$/.exec(line)
    if (!m || m[1] === 'check' || rows.some((r) => r.check === m[1])) continue
    const from = earlier.find((e) => e.checks.includes(m[1]!))?.from ?? when(oldMeta)
    kept.push({ check: m[1]!, ok: m[2] === 'pass', figures: m[3]!.replace(/\\\|/g, '|'), from })
  }
  const froms = [...new Set(kept.map((r) => r.from))]
  const merged = kept.length
    ? `${meta} — this run: ${rows.map((r) => r.check).join(', ')}\n\n${froms
        .map(
          (f) =>
            `Kept from the previous run (${f}): ${kept
              .filter((r) => r.from === f)
              .map((r) => r.check)
              .join('; ')}`,
        )
        .join('\n\n')}`
    : meta
  const all = [...rows, ...kept].sort((a, b) => parseFloat(a.check) - parseFloat(b.check))
  rows.splice(0, rows.length, ...all)
  const md = table(merged)
  mkdirSync(dir, { recursive: true })
  writeFileSync(file, md)
  return md
}

/** Something that happened to the system, during which an accepted message may miss its commit. */
export type Incident = { label: string; at: number; until: number; kind: 'kill' | 'database' }

export type Duplicate = { number: string; copies: number; cause: string; gapMs: number | null }

/**
 * Per order number: how many messages the fake accepted. A second copy is *explained* when the
 * previous copy falls in the documented window between Telegram accepting a message and our commit:
 * - `in flight at <incident>`: the request reached the Bot API before the incident and was answered
 *   after it (the sender was gone: killed, or its database vanished), so nobody could record it;
 * - `commit lost at <incident>`: answered before the incident, the commit did not land; `gapMs` is
 *   how long before the incident — one PostgreSQL round trip is expected;
 * - `accepted, then the commit failed`: the database went away between the Bot API's answer and our
 *   commit (the process is alive and knows it sent; today the lease expires and it is sent again);
 * - `accepted after the sender timed out`: the Bot API answered after our deadline.
 * Anything else is a bug.
 */
export function analyseDeliveries(numbers: string[], byNumber: Map<string, Accept[]>, incidents: Incident[], windowMs = 3000) {
  const missing: string[] = []
  const duplicates: Duplicate[] = []
  for (const n of numbers) {
    const acc = (byNumber.get(n) ?? []).sort((a, b) => a.at - b.at)
    if (acc.length === 0) missing.push(n)
    for (let i = 1; i < acc.length; i++) {
      const prev = acc[i - 1]!
      const inc = incidents.find((x) => prev.at >= x.at - windowMs && prev.at <= x.until)
      let cause = prev.clientGone ? 'accepted after the sender timed out' : 'UNEXPLAINED'
      if (inc && inc.kind === 'database') cause = `accepted, then the commit failed: ${inc.label}`
      else if (inc) cause = prev.clientGone || prev.at > inc.at ? `in flight at ${inc.label}` : `commit lost at ${inc.label}`
      duplicates.push({ number: n, copies: acc.length, cause, gapMs: inc ? inc.at - prev.at : null })
    }
  }
  const extra = new Set(numbers)
  const unknown = [...byNumber.keys()].filter((k) => !extra.has(k))
  return { missing, duplicates, unexplained: duplicates.filter((d) => d.cause === 'UNEXPLAINED'), unknown }
}

export function describeDuplicates(d: Duplicate[]): string {
  if (d.length === 0) return '0'
  const byCause = new Map<string, number>()
  for (const x of d) byCause.set(x.cause, (byCause.get(x.cause) ?? 0) + 1)
  return `${d.length} (${[...byCause].map(([c, n]) => `${n}× ${c}`).join('; ')})`
}
