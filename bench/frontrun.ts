/**
 * bench:frontrun — the adversarial simulation (docs/frontrun.md): a searcher who reads every
 * broadcast, API response, SSE event, log line and metric of a real causeway server tries to
 * sandwich victims' orders on a constant-product pool, under a plain FIFO mempool (baseline),
 * commit-reveal and time-lock encryption. Prints each mode's figures; last line
 * {"successRate":{"baseline","commitReveal","timelock"},"attempts"} (attempts per mode).
 *
 * FRONTRUN_ATTEMPTS (default 40) victims per mode. Timing on a shared machine is noisy: a
 * baseline failure is a race the searcher lost, and is counted as such.
 */
import { availableParallelism, loadavg } from "node:os"
import { defaultSimOptions, type ModeResult, modes, runMode } from "./support/frontrunSim.ts"

const attempts = Number(process.env["FRONTRUN_ATTEMPTS"] ?? defaultSimOptions.attempts)
if (!Number.isSafeInteger(attempts) || attempts < 1) throw new Error("FRONTRUN_ATTEMPTS must be a positive integer")
const options = { ...defaultSimOptions, attempts, log: (line: string) => process.stderr.write(`${line}\n`) }

console.log(`cores ${availableParallelism()}, load average ${loadavg().map((l) => l.toFixed(2)).join(" ")} (shared machine: timing is noisy)`)
console.log(
  `pool ${options.pool.market}: ${options.pool.base / 10n ** 18n} base / ${options.pool.quote / 10n ** 18n} quote, fee ${options.pool.feeBps} bps; ` +
    `batch window ${options.windowMs} ms; victims reach the sequencer in ${options.victimDelayMs[0]}–${options.victimDelayMs[1]} ms, ` +
    `the searcher in ${options.searcherDelayMs} ms; API poll every ${options.pollMs} ms; blind front leg ${options.blindBps} bps of the quote reserve`
)

/** A decimal-string amount of 18-decimal units as tokens, 2 decimals. */
const tokens = (units: string): string => (Number(BigInt(units) / 10n ** 14n) / 10_000).toFixed(2)

const results: Array<ModeResult> = []
for (const mode of modes) {
  const r = await runMode(mode, options)
  results.push(r)
  const rate = (n: number) => `${n}/${r.attempts} (${((100 * n) / r.attempts).toFixed(1)}%)`
  console.log(`\n${mode} (${r.seconds.toFixed(1)} s, ${r.batches} batches, processing order fair: ${r.fair})`)
  console.log(`  successful sandwiches using the victim's order: ${rate(r.successes)}`)
  console.log(`  victim's order read before its batch was sealed: ${rate(r.contentBeforeSeal)}; first read on ${JSON.stringify(r.contentChannels)}`)
  if (r.contentAfterSealMs !== null) console.log(`  orders read only after the seal: median ${r.contentAfterSealMs} ms after it`)
  console.log(`  informed front legs: ${r.informedAttempts}; blind front legs: ${r.blindAttempts}, of which profitable by luck (not success): ${r.blindProfitable}`)
  console.log(`  victims executed at the pool: ${rate(r.victimsExecuted)}`)
  console.log(`  searcher's net result at the reference price: informed legs ${tokens(r.pnl.informed)}, blind legs ${tokens(r.pnl.blind)} (quote tokens)`)
  console.log(`  failures: ${JSON.stringify(r.failures)}`)
  console.log(`  observations read: ${JSON.stringify(r.observations)}`)
}

const of = (mode: string) => {
  const r = results.find((x) => x.mode === mode) as ModeResult
  return Math.round((r.successes / r.attempts) * 10_000) / 10_000
}
console.log(JSON.stringify({ successRate: { baseline: of("baseline"), commitReveal: of("commitReveal"), timelock: of("timelock") }, attempts }))
