/**
 * Sender scores folded by the projections that decide each misbehaviour (the mempool, the
 * operators, the proofs) over one hand-made log: the tallies hold exactly what the log shows,
 * the combined standing scores it, the marks decay away with sealed batches and their senders
 * are dropped, and a fold resumed from a snapshot at any cut reaches the full fold's digest.
 */
import { describe, expect, it } from "vitest"
import { HashMap } from "effect"
import { canonicalize, type Json } from "../../src/domain/CanonicalJson.ts"
import { commitmentOf } from "../../src/domain/mempool/OrderBytes.ts"
import type { LogRecord } from "../../src/ports/CausalLog.ts"
import { makeMempool } from "../../src/projections/Mempool/Mempool.ts"
import { makeOperators } from "../../src/projections/Operators/Operators.ts"
import { type AnyProjection, digestOf, foldPage, type Projection } from "../../src/projections/Projection.ts"
import { makeProofs } from "../../src/projections/Proofs/Proofs.ts"
import { standingIn } from "../../src/projections/SenderScores.ts"
import { keys, sealPayload, soloConfig } from "../cluster/support.ts"
import { order, salt } from "../mempool/support.ts"
import { groth16Case, sharedProof } from "../proofs/support/proofCase.ts"
import { testKey } from "../support/fixtures.ts"
import { handLog } from "../support/handLog.ts"

const instance = keys.a
const alice = testKey("score-alice")
const op = testKey("score-operator")
const config = soloConfig(instance)
const mempool = makeMempool(config)
const operators = makeOperators(config)
const proofs = makeProofs(config)
const proof = sharedProof(groth16Case("co-snarks/bn254-multiplier2"), 64 * 1024)

const fold = <S>(p: Projection<S>, records: ReadonlyArray<LogRecord>): S => foldPage(p, p.initialState, records)
const standings = (records: ReadonlyArray<LogRecord>) =>
  standingIn({ mempool: fold(mempool, records), operators: fold(operators, records), proofs: fold(proofs, records) })

/** A log with every kind of misbehaviour: alice's in the mempool, the operator's in the operators and proofs projections. */
const misbehaving = () => {
  const log = handLog({ signed: false })
  let batch = 0
  const seal = () => log.append(instance, "BatchSealed", sealPayload(batch++))
  log.append(instance, "OperatorRegistered", { operator: op.publicKey })
  log.append(op, "VerificationKeyRegistered", proof.key)
  const commits = [1, 2, 3].map((n) => log.append(alice, "OrderCommitment", { commitment: commitmentOf(order(n), salt(`c${n}`)) }))
  const u1 = log.append(alice, "UserOrder", order(11))
  const u2 = log.append(alice, "UserOrder", order(12))
  // Two intents held from seal 0 (1,000,000) to 1,001,500: the second's order gets matched.
  const window = { windowStart: 1_000_000, windowEnd: 1_001_500 }
  log.append(op, "ComputationIntent", { orderIds: [u1.id], ...window })
  log.append(op, "ComputationIntent", { orderIds: [u2.id], ...window })
  log.append(op, "IntentCommitment", { commitment: "ab".repeat(32) }) // never revealed
  const seal0 = seal()
  log.append(instance, "CommitmentExpired", { commitmentIds: commits.map((c) => c.id), at: 1_000_100 })
  log.append(alice, "OrderReveal", { commitmentId: commits[0]!.id, order: order(1), salt: salt("c1") }, { deps: [seal0.id] })
  const refusedProposal = log.append(op, "MatchProposal", { orders: [{ orderId: u1.id, amountIn: "1", amountOut: "1" }] })
  log.append(instance, "MatchRefused", { proposalId: refusedProposal.id, reason: "no route" }, { deps: [refusedProposal.id] })
  const accepted = log.append(op, "MatchProposal", { orders: [{ orderId: u2.id, amountIn: "1", amountOut: "1" }] })
  log.append(instance, "OrdersMatched", { orderIds: [u2.id] }, { deps: [accepted.id] })
  const report = log.append(op, "FillReport", { proposalId: accepted.id, orderId: u2.id, chain: "eth", txHash: "aa" })
  log.append(instance, "FillRefused", { reportId: report.id, reason: "no such transaction" }, { deps: [report.id] })
  const ann = log.append(op, "ProofAnnouncement", proof.announcement)
  log.append(instance, "ProofVerified", { announcementId: ann.id, commitment: proof.announcement.commitment, ok: false, reason: "SharesMissing: 2 of 2 shares did not arrive" })
  seal()
  seal() // 1,002,000: both intents expire, the first never matched
  return { log, seal }
}

describe("sender scores over the projections", () => {
  it("each projection marks what it decides, and the standing sums them", () => {
    const { log } = misbehaving()
    const m = fold(mempool, log.records)
    const o = fold(operators, log.records)
    const p = fold(proofs, log.records)
    expect(canonicalize((mempool.encode(m) as { scores: Json }).scores)).toBe(canonicalize({
      [alice.publicKey]: { counts: { refusedReveal: 1, unrevealedCommitment: 3 }, since: 1 }
    }))
    expect(canonicalize((operators.encode(o) as { scores: Json }).scores)).toBe(canonicalize({
      [op.publicKey]: { counts: { refusedFillReport: 1, refusedProposal: 1, unmatchedIntent: 1, unrevealedCommitment: 1 }, since: 2 }
    }))
    expect(canonicalize((proofs.encode(p) as { scores: Json }).scores)).toBe(canonicalize({ [op.publicKey]: { counts: { badProof: 1 }, since: 1 } }))
    // Nothing left awaiting a verdict, and no intent kept as used once expired.
    expect([HashMap.size(o.awaiting), o.used.pipe((u) => [...u].length)]).toEqual([0, 0])

    const of = standings(log.records)
    expect(of(alice.publicKey)).toEqual({
      sender: alice.publicKey,
      score: 25,
      rateFactor: 0.25,
      banned: false,
      reasons: [{ kind: "refusedReveal", count: 1, weight: 15 }, { kind: "unrevealedCommitment", count: 3, weight: 20 }],
      asOfBatch: 3
    })
    expect(of(op.publicKey)).toMatchObject({ score: 5, rateFactor: 0, banned: true })
    expect(of(op.publicKey).reasons.map((r) => [r.kind, r.count])).toEqual([
      ["badProof", 1],
      ["unrevealedCommitment", 1],
      ["refusedProposal", 1],
      ["refusedFillReport", 1],
      ["unmatchedIntent", 1]
    ])
    expect(of(instance.publicKey)).toMatchObject({ score: 100, reasons: [] })
  })

  it("the marks decay with sealed batches: the ban lifts as they do, and every sender is dropped once nothing is left", () => {
    const { log, seal } = misbehaving()
    // Batch 3 is open. The proofs' mark dates from batch 1, the operators' from batch 2, alice's from batch 1.
    for (let n = 0; n < 27; n++) seal()
    expect(standings(log.records)(op.publicKey)).toMatchObject({ asOfBatch: 30, score: 5, banned: true })
    seal()
    const lifted = standings(log.records)(op.publicKey)
    expect(lifted).toMatchObject({ asOfBatch: 31, score: 30, rateFactor: 0.25, banned: false })
    expect(lifted.reasons.map((r) => r.kind)).toEqual(["unrevealedCommitment", "refusedProposal", "refusedFillReport", "unmatchedIntent"])
    expect(canonicalize((proofs.encode(fold(proofs, log.records)) as { scores: Json }).scores)).toBe("{}")
    seal()
    expect(standings(log.records)(op.publicKey)).toMatchObject({ asOfBatch: 32, score: 100, reasons: [] })
    expect(standings(log.records)(alice.publicKey)).toMatchObject({ score: 60, reasons: [{ kind: "unrevealedCommitment", count: 2 }] })
    for (let n = 0; n < 58; n++) seal()
    expect(standings(log.records)(alice.publicKey)).toMatchObject({ asOfBatch: 90, score: 80 })
    seal()
    for (const p of [mempool, operators, proofs] as ReadonlyArray<AnyProjection>) {
      expect(canonicalize((p.encode(fold(p, log.records)) as { scores: Json }).scores)).toBe("{}")
    }
    expect(standings(log.records)(alice.publicKey)).toMatchObject({ score: 100, reasons: [] })
  })

  it("a fold resumed from a snapshot at any cut reaches the full fold's digest", () => {
    const { log, seal } = misbehaving()
    for (let n = 0; n < 31; n++) seal()
    for (const p of [mempool, operators, proofs] as ReadonlyArray<AnyProjection>) {
      const full = digestOf(p, fold(p, log.records))
      for (let cut = 0; cut <= log.records.length; cut += 3) {
        const snapshot = JSON.parse(canonicalize(p.encode(fold(p, log.records.slice(0, cut))))) as Json
        const resumed = foldPage(p, p.decode(snapshot), log.records.slice(cut))
        expect(digestOf(p, resumed)).toBe(full)
      }
    }
  })
})
