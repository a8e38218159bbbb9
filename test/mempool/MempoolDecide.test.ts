import { describe, expect, it } from "vitest"
import { HashMap, Option } from "effect"
import { initialAuthority } from "../../src/domain/cluster/Authority.ts"
import { decide, type MempoolDecision } from "../../src/domain/mempool/MempoolDecide.ts"
import { evolve } from "../../src/domain/mempool/MempoolEvolve.ts"
import {
  EMPTY_DIGEST,
  type MempoolEvent,
  type MempoolState,
  batchOf,
  chainDigest,
  debtOf,
  defaultRules,
  entryOf,
  initialMempool,
  statusOf
} from "../../src/domain/mempool/MempoolFold.ts"
import { commitmentOf } from "../../src/domain/mempool/OrderBytes.ts"
import { makeMempool, mempoolEventOf } from "../../src/projections/Mempool/Mempool.ts"
import { serialize } from "../../src/projections/Projection.ts"
import type { LogRecord } from "../../src/ports/CausalLog.ts"
import { testKey } from "../support/fixtures.ts"
import { handLog, order, salt } from "./support.ts"

const instance = testKey("instance")
const alice = testKey("alice")
const bob = testKey("bob")
const rules = { ...defaultRules, maxExpiryDebt: 1, debtDecayBatches: 3 }
const authority = initialAuthority({ instanceKey: instance.publicKey })

/** The typed event a record carries (decoded once, as the projection reads it). */
const eventOf = (r: LogRecord): MempoolEvent => {
  const e = mempoolEventOf(r)
  if (e === undefined) throw new Error(`${r.type} is not a mempool event`)
  return e
}
const decideOn = (state: MempoolState, r: LogRecord): MempoolDecision => decide(state, rules, eventOf(r), authority)
const step = (state: MempoolState, r: LogRecord): MempoolState => evolve(state, eventOf(r), decideOn(state, r))
const foldAll = (records: ReadonlyArray<LogRecord>): MempoolState => records.reduce(step, initialMempool)
const outcome = (state: MempoolState, id: string) => Option.getOrUndefined(HashMap.get(state.outcomes, id))
const sealPayload = (batch: number, beaconRound: number | null = null) => ({ batch, sealedAt: 1_000 * (batch + 1), beaconRound })

/** A commitment of alice's to order 7 under salt "a". */
const committed = () => {
  const log = handLog()
  const commit = log.append(alice, "OrderCommitment", { commitment: commitmentOf(order(7), salt("a")) })
  return { log, commit }
}

describe("decide", () => {
  it("admits a plain order with its content and a commitment with only its hash", () => {
    const log = handLog()
    const plain = log.append(alice, "UserOrder", order(1))
    const commitment = commitmentOf(order(2), salt("b"))
    const commit = log.append(bob, "OrderCommitment", { commitment })
    expect(decideOn(initialMempool, plain)).toEqual({ _tag: "Admitted", mode: "plain", order: order(1), commitment: null, round: null, puzzle: null })
    expect(decideOn(foldAll([plain]), commit)).toEqual({ _tag: "Admitted", mode: "commit", order: null, commitment, round: null, puzzle: null })
  })

  it("refuses a reveal before its commitment's batch is sealed, naming the commitment", () => {
    const { log, commit } = committed()
    const early = log.append(alice, "OrderReveal", { commitmentId: commit.id, order: order(7), salt: salt("a") }, { deps: [commit.id] })
    expect(decideOn(foldAll([commit]), early)).toEqual({
      _tag: "Refused",
      target: commit.id,
      reason: "the commitment's batch is not sealed yet: reveal after its BatchSealed",
      proposal: null,
      mark: "refusedReveal"
    })
  })

  it("refuses a sealed reveal that does not name the seal, comes from another sender, or does not open the commitment", () => {
    const { log, commit } = committed()
    const seal = log.append(instance, "BatchSealed", sealPayload(0))
    const state = foldAll(log.records)
    const noDep = log.append(alice, "OrderReveal", { commitmentId: commit.id, order: order(7), salt: salt("a") }, { deps: [commit.id] })
    const thief = log.append(bob, "OrderReveal", { commitmentId: commit.id, order: order(7), salt: salt("a") }, { deps: [seal.id] })
    const wrongSalt = log.append(alice, "OrderReveal", { commitmentId: commit.id, order: order(7), salt: salt("x") }, { deps: [seal.id] })
    expect(decideOn(state, noDep)).toMatchObject({ _tag: "Refused", target: commit.id, reason: `a reveal must name its commitment's BatchSealed (${seal.id}) among its deps` })
    expect(decideOn(state, thief)).toMatchObject({ _tag: "Refused", reason: "only the commitment's sender may reveal it" })
    expect(decideOn(state, wrongSalt)).toMatchObject({ _tag: "Refused", reason: "order and salt do not match the commitment" })
  })

  it("accepts a reveal that opens its commitment after the seal, and refuses a second one", () => {
    const { log, commit } = committed()
    const seal = log.append(instance, "BatchSealed", sealPayload(0))
    const ok = log.append(alice, "OrderReveal", { commitmentId: commit.id, order: order(7), salt: salt("a") }, { deps: [seal.id] })
    const again = log.append(alice, "OrderReveal", { commitmentId: commit.id, order: order(7), salt: salt("a") }, { deps: [seal.id] })
    const state = foldAll([commit, seal])
    expect(decideOn(state, ok)).toEqual({ _tag: "Revealed", commitmentId: commit.id, order: order(7) })
    expect(decideOn(step(state, ok), again)).toMatchObject({ _tag: "Refused", target: commit.id, reason: "the commitment is already revealed" })
  })

  it("lets only the order's sender cancel it, and only while it is live", () => {
    const log = handLog()
    const a = log.append(alice, "UserOrder", order(1))
    const stolen = log.append(bob, "UserOrderCancellation", { orderId: a.id })
    const own = log.append(alice, "UserOrderCancellation", { orderId: a.id })
    const twice = log.append(alice, "UserOrderCancellation", { orderId: a.id })
    const state = foldAll([a])
    expect(decideOn(state, stolen)).toEqual({ _tag: "Refused", target: a.id, reason: "only the order's sender may cancel it", proposal: null, mark: null })
    expect(decideOn(state, own)).toEqual({ _tag: "Cancelled", orderId: a.id })
    expect(decideOn(step(state, own), twice)).toMatchObject({ _tag: "Refused", reason: "the order is already cancelled" })
  })

  it("heeds a seal only from the instance and only for the open batch; refuses at sealing a time-locked order whose round is out", () => {
    const log = handLog()
    const early = log.append(alice, "TimelockedOrder", { scheme: "tlock", round: 50, ciphertext: "c1" })
    const late = log.append(alice, "TimelockedOrder", { scheme: "tlock", round: 70, ciphertext: "c2" })
    const forged = log.append(bob, "BatchSealed", sealPayload(0, 60))
    const wrong = log.append(instance, "BatchSealed", sealPayload(3, 60))
    const seal = log.append(instance, "BatchSealed", sealPayload(0, 60))
    const state = foldAll([early, late])
    expect(decideOn(state, forged)).toEqual({ _tag: "Refused", target: null, reason: "only the instance may author this event", proposal: null, mark: null })
    expect(decideOn(state, wrong)).toMatchObject({ _tag: "Refused", reason: "batch 3 is not the open batch 0" })
    expect(decideOn(state, seal)).toEqual({
      _tag: "Sealed",
      batch: 0,
      sealedAt: 1000,
      beaconRound: 60,
      retire: [],
      forgiven: [],
      cleared: [],
      refused: [{ id: early.id, status: "refused", reason: "locked to round 50, already public at sealing (round 60)" }]
    })
  })

  it("expires a sealed unrevealed commitment once, charging its sender; skips one named twice and one whose batch is open", () => {
    const { log, commit } = committed()
    log.append(instance, "BatchSealed", sealPayload(0))
    const open = log.append(alice, "OrderCommitment", { commitment: commitmentOf(order(8), salt("b")) })
    const expiry = log.append(instance, "CommitmentExpired", { commitmentIds: [commit.id, commit.id, open.id], at: 5000 })
    const state = foldAll(log.records.slice(0, -1))
    expect(decideOn(state, expiry)).toEqual({
      _tag: "Expired",
      steps: [{ id: commit.id, status: "expired", reason: "not revealed within the reveal window" }],
      skipped: [`${commit.id}: already expired`, `${open.id}: its batch is not sealed`],
      debts: [[alice.publicKey, { debt: 1, since: 1 }]],
      opened: [],
      marks: [[alice.publicKey, "unrevealedCommitment"]]
    })
  })

  it("refuses a commitment from a sender at the debt limit, but not a plain order", () => {
    const { log, commit } = committed()
    log.append(instance, "BatchSealed", sealPayload(0))
    log.append(instance, "CommitmentExpired", { commitmentIds: [commit.id], at: 5000 })
    const again = log.append(alice, "OrderCommitment", { commitment: commitmentOf(order(9), salt("c")) })
    const plain = log.append(alice, "UserOrder", order(9))
    const state = foldAll(log.records.slice(0, -2))
    expect(decideOn(state, again)).toEqual({
      _tag: "Refused",
      target: null,
      reason: "the sender has 1 unrevealed expired commitments (limit 1); wait for them to be forgiven",
      proposal: null,
      mark: null
    })
    expect(decideOn(state, plain)).toMatchObject({ _tag: "Admitted", mode: "plain" })
  })

  it("skips a fill of an order not matched; matches revealed sealed orders; refuses a whole match naming an unsealed one and records its proposal's refusal", () => {
    const log = handLog()
    const a = log.append(alice, "UserOrder", order(1))
    log.append(instance, "BatchSealed", sealPayload(0))
    const b = log.append(bob, "UserOrder", order(2))
    const fill = log.append(instance, "OrderFilled", { orderId: a.id, txHash: "aa" })
    const proposal = log.append(instance, "NetworkHealth", { component: "x", status: "ok", latencyMs: 1 })
    const whole = log.append(instance, "OrdersMatched", { orderIds: [a.id, b.id] }, { deps: [proposal.id] })
    const match = log.append(instance, "OrdersMatched", { orderIds: [a.id] })
    const state = foldAll([a, log.records[1] as LogRecord, b])
    // The reason names the stored status: a sealed plain order is stored "committed" (clients see "revealed").
    expect(decideOn(state, fill)).toEqual({ _tag: "Filled", steps: [], skipped: [`${a.id}: not matched (committed)`], debts: [], opened: [], marks: [] })
    const reason = `refused whole, nothing matched: 1 of 2 orders not matchable: ${b.id}: not revealed and sealed (committed)`
    expect(decideOn(state, whole)).toEqual({
      _tag: "Refused",
      target: proposal.id,
      reason,
      proposal: { proposal: proposal.id, reason: `its OrdersMatched ${whole.id} was refused at the fold: ${reason}` },
      mark: null
    })
    expect(decideOn(state, match)).toEqual({ _tag: "Matched", proposal: null, orderIds: [a.id] })
    expect(decideOn(step(state, match), fill)).toEqual({ _tag: "Filled", steps: [{ id: a.id, status: "filled" }], skipped: [], debts: [], opened: [], marks: [] })
  })

  it("records settlement's refusal of a proposal among its deps; refuses one it does not name; refuses a verdict on an unknown registration", () => {
    const log = handLog()
    const proposal = log.append(instance, "NetworkHealth", { component: "x", status: "ok", latencyMs: 1 })
    const unnamed = log.append(instance, "MatchRefused", { proposalId: proposal.id, reason: "no route" })
    const named = log.append(instance, "MatchRefused", { proposalId: proposal.id, reason: "no route" }, { deps: [proposal.id] })
    const verdict = log.append(instance, "RswModulusVerified", { registrationId: proposal.id, ok: true })
    expect(decideOn(initialMempool, unnamed)).toEqual({ _tag: "Refused", target: proposal.id, reason: "the refused proposal must be among its deps", proposal: null, mark: null })
    expect(decideOn(initialMempool, named)).toEqual({ _tag: "ProposalRefused", proposal: proposal.id, reason: `refused by settlement (MatchRefused ${named.id}): no route` })
    expect(decideOn(initialMempool, verdict)).toEqual({ _tag: "Refused", target: proposal.id, reason: "no registration awaiting its check with that id", proposal: null, mark: null })
  })

  it("changes nothing in the state it judges", () => {
    const { log, commit } = committed()
    const seal = log.append(instance, "BatchSealed", sealPayload(0))
    log.append(instance, "CommitmentExpired", { commitmentIds: [commit.id], at: 5000 })
    const state = foldAll([commit, seal])
    const projection = makeMempool({ instanceKey: instance.publicKey })
    const before = serialize(projection, { ...state, authority })
    for (const r of log.records) decideOn(state, r)
    expect(serialize(projection, { ...state, authority })).toBe(before)
  })
})

describe("evolve", () => {
  it("gives an admitted entry the open batch, the next position and the next link of the digest chain", () => {
    const log = handLog()
    const a = log.append(alice, "UserOrder", order(1))
    const b = log.append(bob, "OrderCommitment", { commitment: commitmentOf(order(2), salt("b")) })
    const state = foldAll([a, b])
    expect(entryOf(state, b.id)).toMatchObject({ batch: 0, position: 1, status: "committed", mode: "commit", order: null })
    expect(state.openDigest).toBe(chainDigest(chainDigest(EMPTY_DIGEST, a.id), b.id))
    expect(HashMap.has(state.live, b.id)).toBe(true)
  })

  it("records a refusal as the message's outcome and changes no entry", () => {
    const { log, commit } = committed()
    const early = log.append(alice, "OrderReveal", { commitmentId: commit.id, order: order(7), salt: salt("a") }, { deps: [commit.id] })
    const before = foldAll([commit])
    const after = evolve(before, eventOf(early), decideOn(before, early))
    expect(outcome(after, early.id)).toEqual({
      type: "OrderReveal",
      offset: early.offset,
      target: commit.id,
      accepted: false,
      reason: "the commitment's batch is not sealed yet: reveal after its BatchSealed"
    })
    expect(after.entries).toBe(before.entries)
  })

  it("applies a reveal: the entry is revealed with its order, one step in its history", () => {
    const { log, commit } = committed()
    const seal = log.append(instance, "BatchSealed", sealPayload(0))
    const ok = log.append(alice, "OrderReveal", { commitmentId: commit.id, order: order(7), salt: salt("a") }, { deps: [seal.id] })
    const state = evolve(foldAll([commit, seal]), eventOf(ok), { _tag: "Revealed", commitmentId: commit.id, order: order(7) })
    const entry = entryOf(state, commit.id)
    expect(entry).toMatchObject({ status: "revealed", order: order(7) })
    expect(entry?.history).toEqual([{ status: "committed", offset: commit.offset }, { status: "revealed", offset: ok.offset }])
    expect(outcome(state, ok.id)).toMatchObject({ accepted: true, target: commit.id, reason: null })
  })

  it("applies a cancellation: the order is cancelled and leaves the live set", () => {
    const log = handLog()
    const a = log.append(alice, "UserOrder", order(1))
    const own = log.append(alice, "UserOrderCancellation", { orderId: a.id })
    const state = evolve(foldAll([a]), eventOf(own), { _tag: "Cancelled", orderId: a.id })
    expect(entryOf(state, a.id)?.status).toBe("cancelled")
    expect(HashMap.has(state.live, a.id)).toBe(false)
  })

  it("applies a seal: the batch closes with its count and digest, its refused entries refused, and a new batch opens", () => {
    const log = handLog()
    const early = log.append(alice, "TimelockedOrder", { scheme: "tlock", round: 50, ciphertext: "c1" })
    const seal = log.append(instance, "BatchSealed", sealPayload(0, 60))
    const before = foldAll([early])
    const state = evolve(before, eventOf(seal), {
      _tag: "Sealed",
      batch: 0,
      sealedAt: 1000,
      beaconRound: 60,
      retire: [],
      forgiven: [],
      cleared: [],
      refused: [{ id: early.id, status: "refused", reason: "locked to round 50, already public at sealing (round 60)" }]
    })
    expect(batchOf(state, 0)).toEqual({ batch: 0, sealId: seal.id, sealOffset: seal.offset, sealedAt: 1000, beaconRound: 60, count: 1, digest: before.openDigest })
    expect(state.batch).toBe(1)
    expect(state.openDigest).toBe(EMPTY_DIGEST)
    expect(statusOf(state, entryOf(state, early.id)!)).toBe("refused")
    expect(entryOf(state, early.id)?.history.at(-1)).toEqual({ status: "refused", offset: seal.offset, reason: "locked to round 50, already public at sealing (round 60)" })
  })

  it("applies expiries: the steps, the debts, and an outcome listing what was skipped", () => {
    const { log, commit } = committed()
    log.append(instance, "BatchSealed", sealPayload(0))
    const expiry = log.append(instance, "CommitmentExpired", { commitmentIds: [commit.id, commit.id], at: 5000 })
    const state = step(foldAll(log.records.slice(0, -1)), expiry)
    expect(entryOf(state, commit.id)?.status).toBe("expired")
    expect(debtOf(state, rules, alice.publicKey)).toBe(1)
    expect(outcome(state, expiry.id)).toMatchObject({ accepted: false, reason: `skipped 1: ${commit.id}: already expired` })
  })

  it("folds a log to the state the projection reaches, byte for byte", () => {
    const { log, commit } = committed()
    const seal = log.append(instance, "BatchSealed", sealPayload(0))
    log.append(alice, "OrderReveal", { commitmentId: commit.id, order: order(7), salt: salt("a") }, { deps: [seal.id] })
    const b = log.append(bob, "UserOrder", order(2))
    log.append(bob, "UserOrderCancellation", { orderId: b.id })
    log.append(instance, "BatchSealed", sealPayload(1))
    log.append(instance, "OrdersMatched", { orderIds: [commit.id] })
    const projection = makeMempool({ instanceKey: instance.publicKey }, rules)
    const projected = log.records.reduce(projection.evolve, projection.initialState)
    expect(serialize(projection, { ...foldAll(log.records), authority })).toBe(serialize(projection, projected))
  })
})
