/**
 * Crash safety at scale: N SIGKILLs (default 1,000) of a server core under ingest load, with
 * the checks of the crash-safety test after every one (test/crash/support/harness.ts, shared
 * with test/crash/crashSafety.test.ts, the CI-sized run).
 *
 * A child (test/crash/ingestChild.ts) opens the service's core on a data directory with
 * synchronous=FULL, catches its projections up with the log, prints READY with their digests,
 * then ingests real signed envelopes (batches with dependencies, held-and-released messages,
 * causal chains, singles) and prints `ACK <id> <offset>` per acknowledgment. It is killed with
 * SIGKILL 50–400 ms after READY (drawn from the seed) and restarted on the same directory.
 * After each kill, on the parent's own read-only connections: every acknowledged message must
 * be in the log at its acknowledged offset (else it counts as lost), the log must be intact
 * (integrity, dense offsets, bodies re-decode to their ids and signatures, dependencies before
 * dependents, log_deps matching, nonces rising), and each stored snapshot and each restart's
 * live digests must equal the parent's own replay of the log (else a replay mismatch).
 * Anything else (a child that exits by itself, a rejection, a log line other than taking over
 * the stale lock, a damaged store) counts as a problem. At the end one control restart after
 * tampering with the snapshots must log a rebuild from offset 0 and still match the replay.
 *
 * The data directory is replaced by a fresh one every `--kills-per-dir` kills (default 100),
 * so the per-kill check of the whole log stays bounded; 0 keeps one directory throughout.
 *
 * Options: --kills N (env CRASH_KILLS, default 1000), --seed S (env CRASH_SEED),
 * --kills-per-dir K (env CRASH_KILLS_PER_DIR), CRASH_KEEP=1 keeps the data directories.
 * Last line: {"kills","killsAfterAcks","acknowledged","lost","replayMismatches","seconds",
 * "killsPerMinute", ...}; exit 1 if anything was lost, mismatched or otherwise wrong.
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Effect } from "effect"
import { mulberry32 } from "../test/crash/prng.ts"
import { crashRun } from "../test/crash/support/harness.ts"

const option = (name: string, env: string, fallback: number): number => {
  const i = process.argv.indexOf(`--${name}`)
  const raw = i >= 0 ? process.argv[i + 1] : process.env[env]
  if (raw === undefined) return fallback
  const v = Number(raw)
  if (!Number.isInteger(v) || v < 0) throw new Error(`--${name} (${env}) must be a non-negative integer, got ${raw}`)
  return v
}

const KILLS = option("kills", "CRASH_KILLS", 1000)
const SEED = option("seed", "CRASH_SEED", Date.now() % 2 ** 31)
const KILLS_PER_DIR = option("kills-per-dir", "CRASH_KILLS_PER_DIR", 100)
const SNAPSHOT_EVERY = 100
/** Print a progress line every this many kills. */
const PROGRESS_EVERY = 10
/** Print at most this many failure lines. */
const MAX_PRINTED = 50

const program = Effect.gen(function*() {
  console.log(`bench:crash: ${KILLS} kills, seed ${SEED} (--seed ${SEED} reproduces the schedule), a fresh data directory every ${KILLS_PER_DIR || KILLS} kills`)
  const random = mulberry32(SEED)
  const dirs: Array<string> = []
  const keep = process.env.CRASH_KEEP !== undefined
  let dirCount = 0
  yield* Effect.addFinalizer(() => Effect.sync(() => keep || dirs.forEach((d) => rmSync(d, { recursive: true, force: true }))))
  const newRun = () => {
    const dir = mkdtempSync(join(tmpdir(), "causeway-bench-crash-"))
    dirs.push(dir)
    dirCount++
    if (keep) console.log(`keeping ${dir}`)
    return crashRun(dir, SNAPSHOT_EVERY)
  }

  const started = performance.now()
  let run = newRun()
  let acknowledged = 0
  let killsAfterAcks = 0
  let kills = 0
  let records = 0
  let unacked = 0
  let resumed = 0
  let printed = 0
  const failures = { lost: 0, replayMismatches: 0, problems: 0 }
  const report = (lines: ReadonlyArray<string>) => {
    for (const l of lines) if (printed++ < MAX_PRINTED) console.log(`FAIL ${l}`)
  }
  /** Figures of the directory in use, added to the totals when it is replaced. */
  const closeDir = () => {
    acknowledged += run.acknowledged()
    records += run.end()
  }

  for (let k = 1; k <= KILLS; k++) {
    if (KILLS_PER_DIR > 0 && k > 1 && (k - 1) % KILLS_PER_DIR === 0) {
      closeDir()
      if (!keep) rmSync(dirs.pop() as string, { recursive: true, force: true })
      run = newRun()
    }
    const label = `seed ${SEED} kill ${k}`
    const killAfterMs = 50 + Math.floor(random() * 351)
    const childSeed = Math.floor(random() * 2 ** 31)
    const r = yield* Effect.result(run.round(k, label, killAfterMs, childSeed))
    if (r._tag === "Failure") {
      // The child did not come up (or a check could not run): nothing after this is meaningful.
      failures.problems++
      report([`${label}: ${String(r.failure)}`])
      break
    }
    const { stats, lost, replayMismatches, problems } = r.success
    kills = k
    if (stats.acks > 0) killsAfterAcks++
    if (stats.resumedFrom > 0) resumed++
    unacked += stats.unacked
    failures.lost += lost.length
    failures.replayMismatches += replayMismatches.length
    failures.problems += problems.length
    report([...lost, ...replayMismatches, ...problems])
    if (k % PROGRESS_EVERY === 0 || k === KILLS) {
      const s = (performance.now() - started) / 1000
      console.log(`${k}/${KILLS} kills in ${s.toFixed(0)} s (${((k / s) * 60).toFixed(1)}/min, ETA ${(((KILLS - k) * s) / k).toFixed(0)} s): ` +
        `${acknowledged + run.acknowledged()} acknowledged, log end ${run.end()}, ` +
        `lost ${failures.lost}, replay mismatches ${failures.replayMismatches}, problems ${failures.problems}`)
    }
  }
  const seconds = (performance.now() - started) / 1000

  // Control: the checks can fail. A tampered snapshot must be noticed and rebuilt from 0.
  const control = yield* Effect.result(run.tamperedRestart)
  closeDir()
  let controlRebuilt = false
  if (control._tag === "Failure") {
    failures.problems++
    report([`control: ${String(control.failure)}`])
  } else {
    controlRebuilt = control.success.logs.some((l) => l.includes("rebuilding from offset 0"))
    if (!controlRebuilt) failures.problems++
    failures.replayMismatches += control.success.replayMismatches.length
    report(control.success.replayMismatches)
  }

  console.log(`${kills} kills (${killsAfterAcks} after acknowledgments) in ${seconds.toFixed(1)} s; ${acknowledged} acknowledged, ` +
    `${records} records in ${dirCount} data directories, ` +
    `${unacked} committed but not acknowledged (killed between commit and ACK), ${resumed} restarts resumed from a snapshot; ` +
    `control restart after a tampered snapshot rebuilt: ${controlRebuilt}`)
  const result = {
    kills,
    killsAfterAcks,
    acknowledged,
    lost: failures.lost,
    replayMismatches: failures.replayMismatches,
    seconds: Number(seconds.toFixed(1)),
    killsPerMinute: Number(((kills / seconds) * 60).toFixed(1)),
    problems: failures.problems,
    seed: SEED
  }
  console.log(JSON.stringify(result))
  return result.lost === 0 && result.replayMismatches === 0 && result.problems === 0 && kills === KILLS
})

Effect.runPromise(Effect.scoped(program)).then(
  (ok) => process.exit(ok ? 0 : 1),
  (e) => {
    console.error(e)
    process.exit(1)
  }
)
