import { describe, expect, it } from "@effect/vitest"
import { Effect, Fiber, HashMap, Layer, Option } from "effect"
import * as MemoryCausalLog from "../../src/adapters/storage/MemoryCausalLog.ts"
import * as NodeCryptoSignatureVerifier from "../../src/adapters/signatures/NodeCryptoSignatureVerifier.ts"
import * as SqliteProjectionStore from "../../src/adapters/storage/SqliteProjectionStore.ts"
import { CausalLog, type CausalLogService } from "../../src/ports/CausalLog.ts"
import { ProjectionStore } from "../../src/ports/ProjectionStore.ts"
import { LogIndex } from "../../src/projections/LogIndex/LogIndex.ts"
import { type Projection, digestOf } from "../../src/projections/Projection.ts"
import * as ProjectionRunner from "../../src/projections/ProjectionRunner.ts"
import { envelope, recordOf, testKey } from "../support/fixtures.ts"

const keys = ["a", "b", "c"].map((l) => testKey(l))

/** Append n real envelopes from three senders straight into the log. */
const seed = (log: CausalLogService, n: number, startNonce = 1) =>
  log.append(
    Array.from({ length: n }, (_, i) => {
      const key = keys[i % 3] as (typeof keys)[number]
      const e = envelope(key, { nonce: startNonce + i, lamport: startNonce + i })
      return recordOf(e)
    })
  )

/** A projection that reads bodies: sums the latency field of every NetworkHealth payload. */
const LatencySum: Projection<number> = {
  name: "latency-sum",
  version: 1,
  needsBody: true,
  initialState: 0,
  evolve: (s, r) => s + (JSON.parse(r.body).payload.latencyMs as number),
  encode: (s) => s,
  decode: (j) => {
    if (typeof j !== "number") throw new Error("not a number")
    return j
  }
}

const storage = Layer.mergeAll(MemoryCausalLog.layerMemory, SqliteProjectionStore.layerMemory, NodeCryptoSignatureVerifier.layer)
const runner = (options = ProjectionRunner.defaultRunnerOptions, projections = [LogIndex, LatencySum]) =>
  ProjectionRunner.make(projections, options)

describe("ProjectionRunner", () => {
  it.effect("folds the log live and reaches the digest a replay from offset 0 reaches", () =>
    Effect.gen(function*() {
      const log = yield* CausalLog
      yield* seed(log, 50)
      const projections = yield* runner()
      yield* projections.awaitOffset(50)
      yield* seed(log, 25, 100) // appended while following
      yield* projections.awaitOffset(75)
      const status = yield* projections.status
      const replayed = yield* ProjectionRunner.replay(log, [LogIndex, LatencySum])
      expect(replayed.offset).toBe(75)
      expect(status.map((s) => [s.name, s.offset, s.digest])).toEqual([
        ["log-index", 75, replayed.digests["log-index"]],
        ["latency-sum", 75, replayed.digests["latency-sum"]]
      ])
      const { state } = yield* projections.state(LogIndex)
      expect(state.total).toBe(75)
      expect(Option.getOrThrow(HashMap.get(state.byType, "NetworkHealth"))).toBe(75)
      // Per sender: the log's own table (the projection keeps none).
      expect((yield* log.senders(undefined, 10)).page.find((s) => s.sender === keys[0]!.publicKey)?.count).toBe(17 + 9)
      expect((yield* projections.state(LatencySum)).state).toBe(75)
      expect(yield* projections.caughtUp).toBe(true)
    }).pipe(Effect.scoped, Effect.provide(storage)))

  it.effect("ready: false until the log as it stood is folded, then true while no projection trails its end by more than maxBehind", () =>
    Effect.gen(function*() {
      const log = yield* CausalLog
      yield* seed(log, 30)
      const projections = yield* runner()
      // The folds run in the runner's own fibers: none has run yet.
      expect(yield* projections.ready(1_000)).toBe(false)
      yield* projections.awaitOffset(30)
      expect(yield* projections.ready(0)).toBe(true)
      // Appended and not folded yet (the folds wait for their turn): 5 records behind.
      yield* seed(log, 5, 100)
      expect(yield* projections.caughtUp).toBe(false)
      expect(yield* projections.ready(5)).toBe(true)
      expect(yield* projections.ready(4)).toBe(false)
      yield* projections.awaitOffset(35)
      expect(yield* projections.ready(0)).toBe(true)
    }).pipe(Effect.scoped, Effect.provide(storage)))

  it.effect("positions give every projection's offset without serializing any state (what /metrics and the dashboard's sampler read)", () =>
    Effect.gen(function*() {
      const log = yield* CausalLog
      yield* seed(log, 20)
      let encodes = 0
      const Counted: Projection<number> = { ...LatencySum, name: "counted", encode: (s) => (encodes++, s) }
      const projections = yield* runner({ ...ProjectionRunner.defaultRunnerOptions, snapshotEvery: 1_000_000 }, [LogIndex, Counted])
      yield* projections.awaitOffset(20)
      expect(yield* projections.positions).toEqual([{ name: "log-index", offset: 20 }, { name: "counted", offset: 20 }])
      expect(encodes).toBe(0)
      yield* projections.status
      expect(encodes).toBe(1)
    }).pipe(Effect.scoped, Effect.provide(storage)))

  it.effect("replay reads header columns only for projections that do not need bodies", () =>
    Effect.gen(function*() {
      const log = yield* CausalLog
      yield* seed(log, 5)
      const bodies: Array<string> = []
      const spy: Projection<number> = { ...LatencySum, name: "spy", needsBody: false, evolve: (s, r) => (bodies.push(r.body), s + 1) }
      yield* ProjectionRunner.replay(log, [spy])
      expect(bodies).toEqual(["", "", "", "", ""])
      yield* ProjectionRunner.replay(log, [spy, LatencySum])
      expect(bodies.slice(5).every((b) => b.startsWith("{"))).toBe(true)
    }).pipe(Effect.provide(storage)))

  it.effect("snapshots, and a restarted runner resumes from the verified snapshot", () =>
    Effect.gen(function*() {
      const log = yield* CausalLog
      const store = yield* ProjectionStore
      yield* seed(log, 40)
      yield* Effect.scoped(Effect.gen(function*() {
        const p = yield* runner({ snapshotEvery: 10, pageSize: 8 })
        yield* p.awaitOffset(40)
      }))
      const snap = Option.getOrThrow(yield* store.load("log-index"))
      expect(snap.offset).toBe(40) // the final snapshot on scope close
      const replayed = yield* ProjectionRunner.replay(log, [LogIndex])
      expect(snap.digest).toBe(replayed.digests["log-index"])

      // Resume: a projection whose evolve counts calls proves only new records are folded.
      let calls = 0
      const counting: Projection<typeof LogIndex.initialState> = { ...LogIndex, evolvePage: undefined, evolve: (s, r) => (calls++, LogIndex.evolve(s, r)) }
      yield* seed(log, 5, 1000)
      yield* Effect.scoped(Effect.gen(function*() {
        const p = yield* runner(ProjectionRunner.defaultRunnerOptions, [counting])
        yield* p.awaitOffset(45)
        const [status] = yield* p.status
        expect(status!.digest).toBe((yield* ProjectionRunner.replay(log, [LogIndex])).digests["log-index"])
      }))
      expect(calls).toBe(5)
    }).pipe(Effect.provide(storage)))

  it.effect("rebuilds from offset 0 when the version is bumped or the snapshot is corrupt", () =>
    Effect.gen(function*() {
      const log = yield* CausalLog
      const store = yield* ProjectionStore
      yield* seed(log, 12)
      yield* Effect.scoped(runner().pipe(Effect.flatMap((p) => p.awaitOffset(12))))
      const good = Option.getOrThrow(yield* store.load("log-index"))

      const cases = [
        { label: "version bump", projection: { ...LogIndex, version: LogIndex.version + 1 }, snapshot: good },
        { label: "digest mismatch", projection: LogIndex, snapshot: { ...good, digest: "00".repeat(32) } },
        { label: "state tampered", projection: LogIndex, snapshot: { ...good, state: good.state.replace('"total":12', '"total":13') } }
      ]
      for (const c of cases) {
        yield* store.save(c.snapshot)
        let calls = 0
        const counting = { ...c.projection, evolvePage: undefined, evolve: (s: typeof LogIndex.initialState, r: Parameters<typeof LogIndex.evolve>[1]) => (calls++, LogIndex.evolve(s, r)) }
        yield* Effect.scoped(Effect.gen(function*() {
          const p = yield* runner(ProjectionRunner.defaultRunnerOptions, [counting])
          yield* p.awaitOffset(12)
          const [status] = yield* p.status
          expect(status!.digest, c.label).toBe(digestOf(LogIndex, (yield* p.state(LogIndex)).state))
          expect((yield* p.state(LogIndex)).state.total, c.label).toBe(12)
        }))
        expect(calls, c.label).toBe(12)
      }
    }).pipe(Effect.provide(storage)))
  it.effect("following the log, a large append is folded in slices: other fibers run between them and see the states in between", () =>
    Effect.gen(function*() {
      // 50 µs of work per record: an append of 1,024 is about 50 ms of folding in one go.
      const Slow: Projection<number> = {
        name: "slow",
        version: 1,
        needsBody: false,
        initialState: 0,
        evolve: (s) => {
          const until = performance.now() + 0.05
          while (performance.now() < until) { /* busy */ }
          return s + 1
        },
        encode: (s) => s,
        decode: (j) => j as number
      }
      const log = yield* CausalLog
      const projections = yield* runner(ProjectionRunner.defaultRunnerOptions, [Slow])
      yield* seed(log, 1)
      yield* projections.awaitOffset(1)
      const seen = new Set<number>()
      let done = false
      const poller = yield* Effect.forkChild(Effect.gen(function*() {
        while (!done) {
          seen.add((yield* projections.state(Slow)).offset)
          yield* Effect.yieldNow
        }
      }))
      // The poller runs before the append (a forked fiber starts at the parent's next yield).
      while (seen.size === 0) yield* Effect.yieldNow
      yield* seed(log, 1024, 10)
      yield* projections.awaitOffset(1025)
      done = true
      yield* Fiber.join(poller)
      const between = [...seen].filter((o) => o > 1 && o < 1025)
      // Slices of 128 records, each over the 4 ms budget: the poller sees most slice ends.
      expect(between.length).toBeGreaterThanOrEqual(3)
      for (const o of between) expect((o - 1) % 128).toBe(0)
      expect((yield* projections.state(Slow)).state).toBe(1025)
    }).pipe(Effect.provide(storage)))
})
