/**
 * `bun run bench`: every performance figure of issue 8 in one run, each beside a baseline measured in
 * the same run (the machine is noisy and shared). Prints a table and writes bench/results/<stamp>.json
 * and bench/results/latest.json. Not part of `bun test`.
 *
 * Sections: intake (vs bare insert and the contract floor), fan-out, peak day (per-class lag and 429s
 * under Telegram's limits), status, start-up.
 *
 * Processes: one embedded PostgreSQL for the whole run (temp dir); the service as real child processes
 * (`bun api/src/main.ts`); the baselines as child processes too; the fake Bot API and the load
 * generator live in this process, so they share the 2 cores with everything else (said in the output).
 */
import os from 'node:os'
import path from 'node:path'
import { writeFileSync } from 'node:fs'
import { cleanupAll, round } from './lib'
import { QUICK, RESULTS, pgVersion, results, rows, t0 } from './sections/context'
import { intake } from './sections/intake'
import { fanOutAll } from './sections/fanout'
import { peak, PEAK_CLASSES, PEAK_CLASS_NAMES } from './sections/peak'
import { status } from './sections/status'
import { startup } from './sections/startup'

// =====================================================================================
let failed = false
try {
  const machine = {
    cores: os.cpus().length,
    cpu: os.cpus()[0]?.model,
    ramGiB: round(os.totalmem() / 2 ** 30, 1),
    os: `${os.type()} ${os.release()}`,
    bun: Bun.version,
    postgres: pgVersion,
    note: 'The load generator and the fake Bot API run in the bench process; PostgreSQL, the service and the baselines run on the same cores.',
  }
  results.date = new Date().toISOString()
  results.machine = machine
  results.quick = QUICK
  if (process.env.BENCH_SERVICE_ROOT) results.serviceRoot = process.env.BENCH_SERVICE_ROOT
  // BENCH_ONLY=intake,fanout,peak,status,startup runs a subset (for trying a change); the default is all.
  const only = (process.env.BENCH_ONLY ?? 'intake,fanout,peak,status,startup').split(',')
  if (only.includes('intake')) await intake()
  if (only.includes('fanout')) await fanOutAll()
  if (only.includes('peak')) await peak()
  if (only.includes('status')) await status()
  if (only.includes('startup')) await startup()
} catch (err) {
  failed = true
  console.error('bench failed:', err)
} finally {
  await cleanupAll()
}

results.elapsedSec = round((performance.now() - t0) / 1000, 0)
const stamp = results.date.replace(/[:.]/g, '-')
const partial = !!(process.env.BENCH_ONLY || process.env.BENCH_SERVICE_ROOT || QUICK)
writeFileSync(path.join(RESULTS, `${stamp}${partial ? '-partial' : ''}.json`), JSON.stringify({ ...results, table: rows }, null, 2))
if (!partial) writeFileSync(path.join(RESULTS, 'latest.json'), JSON.stringify({ ...results, table: rows }, null, 2))

const w = [58, 16, 16, 7, 14]
const cell = (s: string, n: number) => (s.length > n ? s.slice(0, n - 1) + '…' : s.padEnd(n))
console.log(
  `\n${results.date}  ${results.machine?.cores} cores (${results.machine?.cpu}), ${results.machine?.ramGiB} GiB RAM, Bun ${Bun.version}, PostgreSQL ${pgVersion}${QUICK ? '  [BENCH_QUICK]' : ''}`,
)
console.log(results.machine?.note)
console.log(['figure', 'value', 'baseline', 'ratio', 'goal'].map((h, i) => cell(h, w[i]!)).join(' │ '))
console.log(w.map((n) => '─'.repeat(n)).join('─┼─'))
for (const r of rows) console.log([r.figure, r.value, r.baseline, r.ratio, r.goal ?? ''].map((h, i) => cell(h, w[i]!)).join(' │ '))
if (results.peak?.table) {
  const pw = [42, 20, 20, 20, 20, 22]
  const p = results.peak
  console.log(
    `\npeak day: ${p.shops} shops, ${p.loadSec} s of orders + statuses ${p.statusGapMs / 1000} s apart, fake enforcing 30/s per bot, 1/s per chat, 20/min per group; ${p.drained ? `drained at ${p.drainedSec} s` : `NOT drained after ${p.drainedSec} s (${p.pendingAtEnd} pending)`}`,
  )
  console.log(['figure', ...PEAK_CLASSES.map((k) => PEAK_CLASS_NAMES[k]), 'goal'].map((h, i) => cell(h, pw[i]!)).join(' │ '))
  console.log(pw.map((n) => '─'.repeat(n)).join('─┼─'))
  for (const r of results.peak.table as { figure: string; cells: string[]; goal: string }[])
    console.log([r.figure, ...r.cells, r.goal].map((h, i) => cell(h, pw[i]!)).join(' │ '))
}
console.log(`\nresults: bench/results/${stamp}${partial ? '-partial' : ''}.json${partial ? '' : ' (and latest.json)'}, ${results.elapsedSec} s`)
process.exit(failed ? 1 : 0)
