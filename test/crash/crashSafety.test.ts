/**
 * Crash safety of the embedded log: a child process (ingestChild.ts) ingests real signed
 * envelopes through `coreLayer` and is killed with SIGKILL at a random moment, over and
 * over, on the same data directory. After every kill the log is opened read-only on its own
 * connection and checked: integrity, every acknowledged message at its acknowledged offset,
 * dense offsets, every body re-decodes to its id and signature, dependencies before their
 * dependents, the dependency table matching the records, nonces rising per sender, and the
 * stored snapshot equal to a replay of the log up to its offset. Every restart's live
 * digests (after catch-up from that snapshot) must equal the parent's own replay, and its
 * only log line is taking over the data directory lock the killed child left behind.
 *
 * The machinery is in support/harness.ts, shared with `npm run bench:crash` (bench/crash.ts),
 * which runs 1,000 kills; this is the CI-sized run.
 *
 * Reproduce a failure with CRASH_SEED=<seed printed on start>; keep the data directory with
 * CRASH_KEEP=1.
 */
import { describe, expect, it } from "@effect/vitest"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Effect } from "effect"
import { mulberry32 } from "./prng.ts"
import { crashRun, type RoundStats } from "./support/harness.ts"

/** Kills at least this many times... */
const MIN_ROUNDS = 24
/** ...and until this many kills hit a child that had acknowledged messages (on a loaded
 * machine the shortest windows can end before the first commit), but at most this many. */
const MIN_INGESTING_ROUNDS = 20
const MAX_ROUNDS = 48
const SNAPSHOT_EVERY = 100
const SEED = process.env.CRASH_SEED !== undefined ? Number(process.env.CRASH_SEED) : Date.now() % 2 ** 31

describe("crash safety", () => {
  it.live("SIGKILL at random points loses no acknowledged message and breaks nothing", () =>
    Effect.gen(function*() {
      console.log(`crash safety: seed ${SEED} (CRASH_SEED=${SEED} reproduces the schedule)`)
      const random = mulberry32(SEED)
      const dataDir = mkdtempSync(join(tmpdir(), "causeway-crash-"))
      yield* Effect.addFinalizer(() =>
        Effect.sync(() => (process.env.CRASH_KEEP === undefined ? rmSync(dataDir, { recursive: true, force: true }) : console.log(`kept ${dataDir}`)))
      )
      const run = crashRun(dataDir, SNAPSHOT_EVERY)
      const stats: Array<RoundStats> = []
      let ingestingRounds = 0
      for (let round = 1; round <= MIN_ROUNDS || (ingestingRounds < MIN_INGESTING_ROUNDS && round <= MAX_ROUNDS); round++) {
        const label = `seed ${SEED} round ${round}`
        const killAfterMs = 50 + Math.floor(random() * 351)
        const childSeed = Math.floor(random() * 2 ** 31)
        const r = yield* run.round(round, label, killAfterMs, childSeed)
        expect(r.lost, `${label}: acknowledged messages lost`).toEqual([])
        expect(r.replayMismatches, `${label}: live digests or snapshots vs the replay`).toEqual([])
        expect(r.problems, `${label}: problems`).toEqual([])
        stats.push(r.stats)
        if (r.stats.acks > 0) ingestingRounds++
      }

      // Control: a tampered snapshot must be noticed (so the "no log lines" check above can
      // fail), and the rebuild from offset 0 must still reach the replay's digests.
      const control = yield* run.tamperedRestart
      expect(control.replayMismatches).toEqual([])
      expect(control.logs.some((l) => l.includes("rebuilding from offset 0"))).toBe(true)

      console.table(stats)
      const totalAcks = stats.reduce((n, s) => n + s.acks, 0)
      console.log(`crash safety: ${stats.length} kills (${ingestingRounds} after acknowledgments), ${totalAcks} acknowledged, ` +
        `log end ${run.end()}, ${run.withDeps()} records with deps, ${stats.filter((s) => s.resumedFrom > 0).length} restarts resumed from a snapshot`)
      expect(stats.length).toBeGreaterThanOrEqual(MIN_ROUNDS)
      expect(ingestingRounds, "kills that hit a child with acknowledged messages").toBeGreaterThanOrEqual(MIN_INGESTING_ROUNDS)
      expect(run.acknowledged()).toBe(totalAcks)
      expect(run.withDeps()).toBeGreaterThan(run.end() / 4)
      // Snapshot resume was exercised: most restarts began from a stored, verified snapshot.
      expect(stats.filter((s) => s.resumedFrom > 0).length).toBeGreaterThanOrEqual(MIN_ROUNDS / 2)
    }), { timeout: 150_000 })
})
