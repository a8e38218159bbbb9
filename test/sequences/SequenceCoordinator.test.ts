/**
 * Execution sequences in process (ingest, the runner, the instance as author, the sequence
 * coordinator driven by hand under the TestClock): a 10-node DAG run by 3 registered
 * operators, one of whom claims and never answers. The coordinator expires that claim once
 * its lease ran out (not before), another operator re-claims it, and the coordinator
 * completes the sequence; a stranger's claim is refused at ingest; a node that uses up its
 * attempts fails its sequence. Replay of the log reaches the live digests.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { TestClock } from "effect/testing"
import * as InstanceKeyFile from "../../src/adapters/files/InstanceKeyFile.ts"
import * as MemoryCausalLog from "../../src/adapters/storage/MemoryCausalLog.ts"
import * as NodeCryptoSignatureVerifier from "../../src/adapters/signatures/NodeCryptoSignatureVerifier.ts"
import * as SqliteProjectionStore from "../../src/adapters/storage/SqliteProjectionStore.ts"
import type { KeyFile } from "../../src/domain/Keys.ts"
import { nodeOf, sequenceOf } from "../../src/domain/sequences/Sequences.ts"
import { operatorRosterLayer, projections } from "../../src/main.ts"
import { CausalLog } from "../../src/ports/CausalLog.ts"
import * as ProjectionRunner from "../../src/projections/ProjectionRunner.ts"
import * as Views from "../../src/projections/Views.ts"
import * as Author from "../../src/services/Author.ts"
import * as Ingest from "../../src/services/Ingest.ts"
import * as SequenceCoordinator from "../../src/services/SequenceCoordinator.ts"
import { testKey } from "../support/fixtures.ts"
import { instance, submit } from "../mempool/stack.ts"

const context = { instanceKey: instance.publicKey }
const core = Ingest.layer({ ...Ingest.defaultOptions, exemptSenders: [instance.publicKey] }).pipe(
  Layer.provide(operatorRosterLayer),
  Layer.provideMerge(Views.layer.pipe(Layer.provideMerge(ProjectionRunner.layer(projections(context), { snapshotEvery: 1_000_000, pageSize: 4096 }))))
)
const layer = SequenceCoordinator.layer({ background: false }).pipe(
  Layer.provideMerge(Author.layer),
  Layer.provideMerge(core),
  Layer.provideMerge(Layer.mergeAll(MemoryCausalLog.layerMemory, SqliteProjectionStore.layerMemory, NodeCryptoSignatureVerifier.layer, InstanceKeyFile.layerKey(instance)))
)

const [alice, bob, carol, stranger] = ["coord-alice", "coord-bob", "coord-carol", "coord-stranger"].map((l) => testKey(l)) as [KeyFile, KeyFile, KeyFile, KeyFile]

const tenNodes = [
  { id: "n0", deps: [], spec: 0 },
  { id: "n1", deps: [], spec: 1 },
  { id: "n2", deps: ["n0"], spec: 2 },
  { id: "n3", deps: ["n0", "n1"], spec: 3 },
  { id: "n4", deps: ["n1"], spec: 4 },
  { id: "n5", deps: ["n2", "n3"], spec: 5 },
  { id: "n6", deps: ["n4"], spec: 6 },
  { id: "n7", deps: ["n5", "n6"], spec: 7 },
  { id: "n8", deps: ["n7"], spec: 8 },
  { id: "n9", deps: ["n8"], spec: 9 }
]

const register = (...keys: ReadonlyArray<KeyFile>) =>
  Effect.gen(function*() {
    const author = yield* Author.Author
    const runner = yield* ProjectionRunner.Projections
    for (const k of keys) {
      const r = yield* author.publish("OperatorRegistered", { operator: k.publicKey })
      yield* runner.awaitOffset(r.offset + 1)
    }
  })

const sequence = (id: string) =>
  Effect.gen(function*() {
    const view = yield* Views.SequencesView
    const s = sequenceOf(yield* view.state, id)
    if (s === undefined) throw new Error(`no sequence ${id}`)
    return s
  })

/** Claim and answer a node as `key`. */
const run = (key: KeyFile, sequenceId: string, nodeId: string) =>
  Effect.gen(function*() {
    const claim = yield* submit(key, "NodeClaimed", { sequenceId, nodeId })
    yield* submit(key, "NodeResultSubmitted", { sequenceId, nodeId, claimId: claim.id, result: { by: nodeId } })
  })

describe("the sequence coordinator", () => {
  it.effect("re-opens a silent claimant's node after its lease, and completes the sequence once every node completed; replay equals live", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(1_000_000)
      const coordinator = yield* SequenceCoordinator.SequenceCoordinator
      yield* register(alice, bob, carol)
      const refused = yield* Effect.flip(submit(stranger, "NodeClaimed", { sequenceId: "s1", nodeId: "n0" }))
      expect(refused._tag).toBe("OperatorNotRegistered")
      yield* submit(alice, "ExecutionSequenceAnnounced", { sequenceId: "s1", nodes: tenNodes, leaseMs: 10_000 })
      yield* run(alice, "s1", "n0")
      yield* run(bob, "s1", "n1")
      const silent = yield* submit(carol, "NodeClaimed", { sequenceId: "s1", nodeId: "n3" })
      yield* run(alice, "s1", "n2")
      yield* run(bob, "s1", "n4")
      yield* run(alice, "s1", "n6")
      // The coordinator sees carol's claim now; the lease runs from here.
      expect(yield* coordinator.tick).toEqual({ expired: 0, completed: 0, failed: 0 })
      yield* TestClock.adjust("9 seconds")
      expect((yield* coordinator.tick).expired).toBe(0)
      expect(nodeOf(yield* sequence("s1"), "n3")?.status).toBe("claimed")
      yield* TestClock.adjust("1 second")
      expect((yield* coordinator.tick).expired).toBe(1)
      const n3 = nodeOf(yield* sequence("s1"), "n3")
      expect(n3?.status).toBe("open")
      expect(n3?.attempts.map((a) => [a.claimId, a.end])).toEqual([[silent.id, "expired"]])
      // Bob takes it over; the rest of the DAG runs.
      yield* run(bob, "s1", "n3")
      for (const [k, n] of [[alice, "n5"], [bob, "n7"], [carol, "n8"], [alice, "n9"]] as const) yield* run(k, "s1", n)
      expect((yield* sequence("s1")).status).toBe("running")
      expect(yield* coordinator.tick).toEqual({ expired: 0, completed: 1, failed: 0 })
      expect((yield* sequence("s1")).status).toBe("completed")
      expect(yield* coordinator.tick).toEqual({ expired: 0, completed: 0, failed: 0 })

      const runner = yield* ProjectionRunner.Projections
      const log = yield* CausalLog
      const live = yield* runner.status
      const replayed = yield* ProjectionRunner.replay(log, projections(context))
      for (const name of ["registers", "sequences"]) expect(replayed.digests[name]).toBe(live.find((p) => p.name === name)?.digest)
    }).pipe(Effect.provide(layer)))

  it.effect("fails a sequence whose node used up its attempts, with the reason", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(1_000_000)
      const coordinator = yield* SequenceCoordinator.SequenceCoordinator
      yield* register(alice, bob)
      yield* submit(alice, "ExecutionSequenceAnnounced", { sequenceId: "s2", nodes: tenNodes.slice(0, 2), maxAttempts: 1, leaseMs: 1000 })
      yield* submit(bob, "NodeClaimed", { sequenceId: "s2", nodeId: "n0" })
      yield* coordinator.tick
      yield* TestClock.adjust("1 second")
      expect(yield* coordinator.tick).toEqual({ expired: 1, completed: 0, failed: 1 })
      const s = yield* sequence("s2")
      expect(s.status).toBe("failed")
      expect(s.reason).toContain("node n0 used its 1 attempts; the last expired")
    }).pipe(Effect.provide(layer)))
})
