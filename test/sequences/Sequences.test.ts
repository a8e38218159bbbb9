/**
 * The execution sequences projection (src/projections/Sequences): a DAG of 10 nodes run by 3
 * operators, one of whom claims and never answers (re-claimed once the authority expires its
 * lease, and the sequence completes); claims only on runnable nodes and first-in-log-order;
 * results only from the claimant; the retry limit fails the sequence; a cycle or an unknown
 * dependency is refused by the schema; a result with a proof waits for its verdict; the
 * suggested claimant is the rendezvous choice; snapshots round-trip to the same digest.
 */
import { describe, expect, it } from "@effect/vitest"
import { sha256 } from "@noble/hashes/sha2.js"
import { bytesToHex } from "@noble/hashes/utils.js"
import { Result } from "effect"
import { decodePayload } from "../../src/domain/MessageTypes.ts"
import { resultBinding } from "../../src/domain/proofs/ProofBinding.ts"
import { dagProblem } from "../../src/domain/sequences/SequenceMessages.ts"
import { dueDecisions, heldClaims, isRunnable, nodeOf, sequenceOf } from "../../src/domain/sequences/Sequences.ts"
import type { LogRecord } from "../../src/ports/CausalLog.ts"
import { digestOf, foldPage } from "../../src/projections/Projection.ts"
import { makeSequences, suggestionsOf } from "../../src/projections/Sequences/Sequences.ts"
import { clusterLog, keys, soloConfig } from "../cluster/support.ts"
import { testKey } from "../support/fixtures.ts"

const { a, alice, bob } = keys
const carol = testKey("user-carol")
const stranger = testKey("user-dave")
const config = soloConfig(a)
const p = makeSequences(config)
const fold = (records: ReadonlyArray<LogRecord>) => foldPage(p, p.initialState, records)
/** The sequence, or a failed test. */
const must = <T>(x: T | undefined): T => {
  if (x === undefined) throw new Error("missing")
  return x
}
const hex = (s: string) => bytesToHex(sha256(new TextEncoder().encode(s)))

/** n0 → n1, n2 → n3 … : a 10-node DAG, two roots, joins and a tail. */
const tenNodes = [
  { id: "n0", deps: [], spec: { op: "load" } },
  { id: "n1", deps: [], spec: { op: "load" } },
  { id: "n2", deps: ["n0"], spec: { op: "map" } },
  { id: "n3", deps: ["n0", "n1"], spec: { op: "join" } },
  { id: "n4", deps: ["n1"], spec: { op: "map" } },
  { id: "n5", deps: ["n2", "n3"], spec: { op: "join" } },
  { id: "n6", deps: ["n4"], spec: { op: "map" } },
  { id: "n7", deps: ["n5", "n6"], spec: { op: "join" } },
  { id: "n8", deps: ["n7"], spec: { op: "reduce" } },
  { id: "n9", deps: ["n8"], spec: { op: "store" } }
]

const operatorsLog = () => {
  const log = clusterLog()
  for (const k of [alice, bob, carol]) log.append(a, "OperatorRegistered", { operator: k.publicKey })
  return log
}

type Log = ReturnType<typeof clusterLog>
const claimBy = (log: Log, who: typeof alice, nodeId: string, sequenceId = "s1") => log.append(who, "NodeClaimed", { sequenceId, nodeId })
const answer = (log: Log, who: typeof alice, claim: LogRecord, nodeId: string, sequenceId = "s1") =>
  log.append(who, "NodeResultSubmitted", { sequenceId, nodeId, claimId: claim.id, result: { node: nodeId } })

describe("a sequence of 10 nodes run by 3 operators", () => {
  it("one claims and never answers: re-claimed after the authority expires its lease, and the sequence completes", () => {
    const log = operatorsLog()
    log.append(alice, "ExecutionSequenceAnnounced", { sequenceId: "s1", nodes: tenNodes, leaseMs: 5000, maxAttempts: 3 })
    const ops = [alice, bob, carol]
    let stuck: LogRecord | undefined
    // Run in topological waves; carol takes n3 and goes silent.
    for (const wave of [["n0", "n1"], ["n2", "n3", "n4"], ["n5", "n6"], ["n7"], ["n8"], ["n9"]]) {
      for (const [i, nodeId] of wave.entries()) {
        const s = sequenceOf(fold(log.records), "s1")
        if (s === undefined) throw new Error("no sequence")
        const node = nodeOf(s, nodeId)
        if (node === undefined) throw new Error("no node")
        if (nodeId === "n3") {
          stuck = claimBy(log, carol, "n3")
          continue
        }
        if (nodeId === "n5") {
          // n5 waits for n3: the claim is refused while carol holds it.
          expect(isRunnable(s, node)).toBe(false)
          const early = claimBy(log, alice, "n5")
          expect(sequenceOf(fold(log.records), "s1")?.events.find((e) => e.id === early.id)?.reason).toContain("waits for n3")
          // A second claim of n3 is refused while carol's lease holds.
          const second = claimBy(log, bob, "n3")
          expect(sequenceOf(fold(log.records), "s1")?.events.find((e) => e.id === second.id)?.reason).toContain("is held by")
          expect(heldClaims(fold(log.records))).toEqual([{ sequenceId: "s1", nodeId: "n3", claimId: stuck?.id, leaseMs: 5000 }])
          // The authority expires carol's lease; bob re-claims and answers; carol's late answer is refused.
          log.append(a, "NodeLeaseExpired", { sequenceId: "s1", nodeId: "n3", claimId: stuck?.id })
          const again = claimBy(log, bob, "n3")
          answer(log, bob, again, "n3")
          const late = answer(log, carol, stuck as LogRecord, "n3")
          expect(sequenceOf(fold(log.records), "s1")?.events.find((e) => e.id === late.id)?.accepted).toBe(false)
        }
        const who = ops[i % 2] as typeof alice
        const c = claimBy(log, who, nodeId)
        answer(log, who, c, nodeId)
      }
    }
    let s = sequenceOf(fold(log.records), "s1")
    expect(s?.nodes.every((n) => n.status === "completed")).toBe(true)
    expect(nodeOf(must(s), "n3")?.attempts.map((x) => [x.operator, x.end])).toEqual([[carol.publicKey, "expired"], [bob.publicKey, "completed"]])
    expect(s?.status).toBe("running")
    expect(dueDecisions(fold(log.records))).toEqual([{ _tag: "Complete", sequenceId: "s1" }])
    log.append(a, "ExecutionSequenceCompleted", { sequenceId: "s1" })
    s = sequenceOf(fold(log.records), "s1")
    expect(s?.status).toBe("completed")
    expect(dueDecisions(fold(log.records))).toEqual([])
  })

  it("the first claim in log order wins; a result from another operator than the claimant is refused", () => {
    const log = operatorsLog()
    log.append(alice, "ExecutionSequenceAnnounced", { sequenceId: "s1", nodes: tenNodes })
    const first = claimBy(log, bob, "n0")
    const second = claimBy(log, alice, "n0")
    const forged = answer(log, alice, first, "n0")
    const s = sequenceOf(fold(log.records), "s1")
    expect(nodeOf(must(s), "n0")?.attempts.map((x) => x.claimId)).toEqual([first.id])
    expect(s?.events.find((e) => e.id === second.id)?.accepted).toBe(false)
    expect(s?.events.find((e) => e.id === forged.id)?.reason).toContain("not the sender's")
    expect(nodeOf(must(s), "n0")?.status).toBe("claimed")
  })

  it("strangers and non-authority decisions are ignored", () => {
    const log = operatorsLog()
    log.append(stranger, "ExecutionSequenceAnnounced", { sequenceId: "s0", nodes: tenNodes })
    log.append(alice, "ExecutionSequenceAnnounced", { sequenceId: "s1", nodes: tenNodes })
    claimBy(log, stranger, "n0")
    const c = claimBy(log, bob, "n0")
    log.append(alice, "NodeLeaseExpired", { sequenceId: "s1", nodeId: "n0", claimId: c.id })
    const s = fold(log.records)
    expect(sequenceOf(s, "s0")).toBeUndefined()
    expect(nodeOf(must(sequenceOf(s, "s1")), "n0")?.attempts.map((x) => [x.operator, x.end])).toEqual([[bob.publicKey, null]])
  })

  it("a node that fails maxAttempts times exhausts; the authority fails the sequence with the reason", () => {
    const log = operatorsLog()
    log.append(alice, "ExecutionSequenceAnnounced", { sequenceId: "s1", nodes: tenNodes, maxAttempts: 2 })
    const c1 = claimBy(log, bob, "n0")
    log.append(bob, "NodeResultSubmitted", { sequenceId: "s1", nodeId: "n0", claimId: c1.id, error: "out of memory" })
    const c2 = claimBy(log, carol, "n0")
    log.append(a, "NodeLeaseExpired", { sequenceId: "s1", nodeId: "n0", claimId: c2.id })
    const third = claimBy(log, alice, "n0")
    let s = fold(log.records)
    expect(nodeOf(must(sequenceOf(s, "s1")), "n0")?.status).toBe("exhausted")
    expect(sequenceOf(s, "s1")?.events.find((e) => e.id === third.id)?.accepted).toBe(false)
    const due = dueDecisions(s)
    expect(due).toHaveLength(1)
    const fail = due[0]
    if (fail?._tag !== "Fail") throw new Error("no failure due")
    expect(fail.reason).toContain("used its 2 attempts; the last expired")
    log.append(a, "ExecutionSequenceFailed", { sequenceId: "s1", nodeId: "n0", reason: fail.reason })
    s = fold(log.records)
    expect(sequenceOf(s, "s1")?.status).toBe("failed")
    expect(sequenceOf(s, "s1")?.reason).toBe(fail.reason)
  })

  it("completion before every node completed does not count", () => {
    const log = operatorsLog()
    log.append(alice, "ExecutionSequenceAnnounced", { sequenceId: "s1", nodes: tenNodes })
    log.append(a, "ExecutionSequenceCompleted", { sequenceId: "s1" })
    expect(sequenceOf(fold(log.records), "s1")?.status).toBe("running")
  })
})

describe("the DAG is checked before it is written", () => {
  it("a cycle, an unknown dependency, a node named twice: refused by the schema (so by ingest)", () => {
    const cyclic = [{ id: "x", deps: ["z"], spec: null }, { id: "y", deps: ["x"], spec: null }, { id: "z", deps: ["y"], spec: null }, { id: "w", deps: [], spec: null }]
    expect(dagProblem(cyclic)).toBe("the dependencies form a cycle through x, y, z")
    expect(dagProblem([{ id: "x", deps: ["x"] }])).toContain("cycle")
    expect(dagProblem([{ id: "x", deps: ["q"] }])).toContain("depends on q")
    expect(dagProblem([{ id: "x", deps: [] }, { id: "x", deps: [] }])).toContain("named twice")
    expect(dagProblem(tenNodes)).toBeUndefined()
    expect(Result.isFailure(decodePayload("ExecutionSequenceAnnounced", { sequenceId: "s", nodes: cyclic }))).toBe(true)
    expect(Result.isSuccess(decodePayload("ExecutionSequenceAnnounced", { sequenceId: "s", nodes: tenNodes }))).toBe(true)
  })
})

describe("a result naming a proof waits for its verdict", () => {
  const setup = (inputs: (result: unknown) => ReadonlyArray<string>) => {
    const log = operatorsLog()
    log.append(alice, "ExecutionSequenceAnnounced", { sequenceId: "s1", nodes: tenNodes })
    const c = claimBy(log, bob, "n0")
    const result = { sum: 42 }
    const proof = log.append(bob, "ProofAnnouncement", {
      computationId: "n0", proofSystem: "groth16", vkId: hex("vk"), commitment: hex("proof"), publicInputs: inputs(result), shares: 1, bytes: 10
    })
    log.append(bob, "NodeResultSubmitted", { sequenceId: "s1", nodeId: "n0", claimId: c.id, result, proof: proof.id })
    return { log, proof }
  }

  it("proving until the authority's ok, then completed", () => {
    const { log, proof } = setup((r) => resultBinding("s1", "n0", r))
    expect(nodeOf(must(sequenceOf(fold(log.records), "s1")), "n0")?.status).toBe("proving")
    log.append(a, "ProofVerified", { announcementId: proof.id, commitment: hex("proof"), ok: true })
    const node = nodeOf(must(sequenceOf(fold(log.records), "s1")), "n0")
    expect(node?.status).toBe("completed")
    expect(node?.result?.value).toEqual({ sum: 42 })
  })

  it("a refused proof fails the attempt and reopens the node", () => {
    const { log, proof } = setup((r) => resultBinding("s1", "n0", r))
    log.append(a, "ProofVerified", { announcementId: proof.id, commitment: hex("proof"), ok: false, reason: "bad proof" })
    const node = nodeOf(must(sequenceOf(fold(log.records), "s1")), "n0")
    expect(node?.status).toBe("open")
    expect(node?.attempts[0]?.reason).toContain("bad proof")
  })

  it("retention: a result naming a proof decided more than the retention window ago fails the attempt with the reason", () => {
    const retained = makeSequences({ ...config, retentionMs: 10_000 })
    const log = operatorsLog()
    log.append(alice, "ExecutionSequenceAnnounced", { sequenceId: "s1", nodes: tenNodes })
    const result = { sum: 42 }
    const proof = log.append(bob, "ProofAnnouncement", {
      computationId: "n0", proofSystem: "groth16", vkId: hex("vk"), commitment: hex("proof"), publicInputs: resultBinding("s1", "n0", result), shares: 1, bytes: 10
    })
    log.append(a, "ProofVerified", { announcementId: proof.id, commitment: hex("proof"), ok: true })
    log.append(a, "BatchSealed", { batch: 0, sealedAt: 1_000, beaconRound: null })
    const cut = log.records.length
    log.append(a, "BatchSealed", { batch: 1, sealedAt: 11_000, beaconRound: null })
    const c = claimBy(log, bob, "n0")
    log.append(bob, "NodeResultSubmitted", { sequenceId: "s1", nodeId: "n0", claimId: c.id, result, proof: proof.id })
    const node = nodeOf(must(sequenceOf(foldPage(retained, retained.initialState, log.records), "s1")), "n0")
    expect([node?.status, node?.attempts[0]?.reason]).toEqual(["open", expect.stringContaining("left memory")])
    // Within the window (the second seal left out) the same result completes the node.
    const kept = [...log.records.slice(0, cut), ...log.records.slice(cut + 1)]
    expect(nodeOf(must(sequenceOf(foldPage(retained, retained.initialState, kept), "s1")), "n0")?.status).toBe("completed")
    // Replay from a snapshot at the cut reaches the same digest.
    const snapshot = retained.decode(JSON.parse(JSON.stringify(retained.encode(foldPage(retained, retained.initialState, log.records.slice(0, cut))))))
    expect(digestOf(retained, foldPage(retained, snapshot, log.records.slice(cut)))).toBe(digestOf(retained, foldPage(retained, retained.initialState, log.records)))
  })

  it("a proof binding another result fails the attempt at once", () => {
    const { log } = setup(() => resultBinding("s1", "n0", { sum: 41 }))
    const node = nodeOf(must(sequenceOf(fold(log.records), "s1")), "n0")
    expect(node?.status).toBe("open")
    expect(node?.attempts[0]?.reason).toContain("do not open with the limbs")
  })
})

describe("suggestions and replay", () => {
  it("suggests each node's rendezvous choice among the registered operators", () => {
    const log = operatorsLog()
    log.append(alice, "ExecutionSequenceAnnounced", { sequenceId: "s1", nodes: tenNodes })
    const s = fold(log.records)
    const suggested = suggestionsOf(s, "s1")
    expect(suggested.size).toBe(10)
    const chosen = new Set(suggested.values())
    for (const o of chosen) expect([alice, bob, carol].map((k) => k.publicKey)).toContain(o)
    log.append(a, "OperatorRemoved", { operator: carol.publicKey })
    const after = suggestionsOf(fold(log.records), "s1")
    for (const [node, o] of suggested) if (o !== carol.publicKey) expect(after.get(node)).toBe(o)
  })

  it("a snapshot decodes to the same digest, and folding on from it equals the whole fold", () => {
    const log = operatorsLog()
    log.append(alice, "ExecutionSequenceAnnounced", { sequenceId: "s1", nodes: tenNodes })
    const c = claimBy(log, bob, "n0")
    log.append(bob, "NodeResultSubmitted", { sequenceId: "s1", nodeId: "n0", claimId: c.id, result: null })
    claimBy(log, carol, "n1")
    const half = fold(log.records)
    const restored = p.decode(JSON.parse(JSON.stringify(p.encode(half))))
    expect(digestOf(p, restored)).toBe(digestOf(p, half))
    const more = [claimBy(log, alice, "n2")]
    expect(digestOf(p, foldPage(p, restored, more))).toBe(digestOf(p, fold(log.records)))
  })
})
