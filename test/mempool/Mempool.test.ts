import { describe, expect, it } from "vitest"
import { HashMap } from "effect"
import {
  defaultRules,
  EMPTY_DIGEST,
  type MempoolState,
  batchOf,
  chainDigest,
  debtOf,
  entryOf,
  statusOf,
  visibleOrder
} from "../../src/domain/mempool/MempoolFold.ts"
import { statusView } from "../../src/domain/mempool/MempoolViews.ts"
import { commitmentOf } from "../../src/domain/mempool/OrderBytes.ts"
import { makeMempool } from "../../src/projections/Mempool/Mempool.ts"
import { serialize } from "../../src/projections/Projection.ts"
import type { LogRecord } from "../../src/ports/CausalLog.ts"
import { testKey } from "../support/fixtures.ts"
import { handLog, order, salt } from "./support.ts"

const instance = testKey("instance")
const alice = testKey("alice")
const bob = testKey("bob")
const rules = { ...defaultRules, instanceKey: instance.publicKey, maxExpiryDebt: 2, debtDecayBatches: 3 }
const projection = makeMempool({ instanceKey: instance.publicKey }, { maxExpiryDebt: 2, debtDecayBatches: 3 })
const fold = (records: ReadonlyArray<LogRecord>): MempoolState => records.reduce(projection.evolve, projection.initialState)
const sealPayload = (batch: number, beaconRound: number | null = null) => ({ batch, sealedAt: 1_000 * (batch + 1), beaconRound })

describe("mempool positions and batches", () => {
  it("gives each entry the open batch and the next position in log order; a seal closes exactly what came before it", () => {
    const log = handLog()
    const a = log.append(alice, "UserOrder", order(1))
    const b = log.append(bob, "OrderCommitment", { commitment: commitmentOf(order(2), salt("b")) })
    const c = log.append(alice, "TimelockedOrder", { scheme: "tlock", round: 50, ciphertext: "opaque" })
    log.append(alice, "NetworkHealth", { component: "x", status: "ok", latencyMs: 1 })
    const s0 = log.append(instance, "BatchSealed", sealPayload(0))
    const d = log.append(bob, "UserOrder", order(4))
    const state = fold(log.records)
    expect([a, b, c, d].map((r) => [entryOf(state, r.id)?.batch, entryOf(state, r.id)?.position])).toEqual([[0, 0], [0, 1], [0, 2], [1, 0]])
    const batch = batchOf(state, 0)
    expect(batch).toMatchObject({ batch: 0, count: 3, sealId: s0.id, sealOffset: s0.offset, sealedAt: 1000 })
    expect(batch?.digest).toBe(chainDigest(chainDigest(chainDigest(EMPTY_DIGEST, a.id), b.id), c.id))
    expect(state.batch).toBe(1)
    expect(statusOf(state, entryOf(state, a.id)!)).toBe("revealed")
    expect(statusOf(state, entryOf(state, b.id)!)).toBe("sequenced")
    expect(statusOf(state, entryOf(state, d.id)!)).toBe("committed")
    // A plain order's content is served once its batch is sealed, not before.
    expect(visibleOrder(state, entryOf(state, a.id)!)).toEqual(order(1))
    expect(visibleOrder(state, entryOf(state, d.id)!)).toBeNull()
  })

  it("heeds decisions only from the instance, and a seal only for the open batch", () => {
    const log = handLog()
    log.append(alice, "UserOrder", order(1))
    const forged = log.append(bob, "BatchSealed", sealPayload(0))
    const wrong = log.append(instance, "BatchSealed", sealPayload(3))
    const state = fold(log.records)
    expect(state.batch).toBe(0)
    expect(HashMap.get(state.outcomes, forged.id).pipe((o) => o._tag === "Some" && o.value.reason)).toMatch(/only the instance/)
    expect(HashMap.get(state.outcomes, wrong.id).pipe((o) => o._tag === "Some" && o.value.reason)).toMatch(/not the open batch 0/)
  })
})

const outcome = (state: MempoolState, id: string) => {
  const o = HashMap.get(state.outcomes, id)
  return o._tag === "Some" ? o.value : undefined
}

describe("commit-reveal", () => {
  const setup = () => {
    const log = handLog()
    const commit = log.append(alice, "OrderCommitment", { commitment: commitmentOf(order(7), salt("a")) })
    return { log, commit }
  }

  it("refuses a reveal before the seal, without the seal among its deps, from another sender, or not matching", () => {
    const { commit, log } = setup()
    const early = log.append(alice, "OrderReveal", { commitmentId: commit.id, order: order(7), salt: salt("a") }, { deps: [commit.id] })
    const seal = log.append(instance, "BatchSealed", sealPayload(0))
    const noDep = log.append(alice, "OrderReveal", { commitmentId: commit.id, order: order(7), salt: salt("a") }, { deps: [commit.id] })
    const thief = log.append(bob, "OrderReveal", { commitmentId: commit.id, order: order(7), salt: salt("a") }, { deps: [seal.id] })
    const wrongSalt = log.append(alice, "OrderReveal", { commitmentId: commit.id, order: order(7), salt: salt("x") }, { deps: [seal.id] })
    const wrongOrder = log.append(alice, "OrderReveal", { commitmentId: commit.id, order: order(8), salt: salt("a") }, { deps: [seal.id] })
    const state = fold(log.records)
    expect(outcome(state, early.id)?.reason).toMatch(/not sealed yet/)
    expect(outcome(state, noDep.id)?.reason).toMatch(/must name its commitment's BatchSealed/)
    expect(outcome(state, thief.id)?.reason).toMatch(/only the commitment's sender/)
    expect(outcome(state, wrongSalt.id)?.reason).toMatch(/do not match/)
    expect(outcome(state, wrongOrder.id)?.reason).toMatch(/do not match/)
    const entry = entryOf(state, commit.id)!
    expect(statusOf(state, entry)).toBe("sequenced")
    expect(entry.order).toBeNull()
  })

  it("accepts a matching reveal after the seal, then refuses a second one; a revealed commitment does not expire", () => {
    const { commit, log } = setup()
    const seal = log.append(instance, "BatchSealed", sealPayload(0))
    const ok = log.append(alice, "OrderReveal", { commitmentId: commit.id, order: order(7), salt: salt("a") }, { deps: [seal.id] })
    const again = log.append(alice, "OrderReveal", { commitmentId: commit.id, order: order(7), salt: salt("a") }, { deps: [seal.id] })
    const expiry = log.append(instance, "CommitmentExpired", { commitmentIds: [commit.id], at: 9 })
    const state = fold(log.records)
    expect(outcome(state, ok.id)).toMatchObject({ accepted: true, target: commit.id })
    expect(outcome(state, again.id)?.reason).toMatch(/already revealed/)
    expect(outcome(state, expiry.id)?.reason).toMatch(/already revealed/)
    const entry = entryOf(state, commit.id)!
    expect(statusOf(state, entry)).toBe("revealed")
    expect(entry.order).toEqual(order(7))
    expect(entry.history.map((h) => h.status)).toEqual(["committed", "revealed"])
  })

  it("expires an unrevealed sealed commitment (a reveal after it is too late) and charges the sender's debt, which refuses commitments until forgiven", () => {
    const log = handLog()
    const c1 = log.append(alice, "OrderCommitment", { commitment: commitmentOf(order(1), salt("1")) })
    const c2 = log.append(alice, "OrderCommitment", { commitment: commitmentOf(order(2), salt("2")) })
    // c3 lands after the seal's record, in batch 1: expiring it now is refused (its batch is open).
    const seal = log.append(instance, "BatchSealed", sealPayload(0))
    const c3 = log.append(alice, "OrderCommitment", { commitment: commitmentOf(order(4), salt("4")) })
    const exp = log.append(instance, "CommitmentExpired", { commitmentIds: [c1.id, c2.id, c3.id], at: 5000 })
    const late = log.append(alice, "OrderReveal", { commitmentId: c1.id, order: order(1), salt: salt("1") }, { deps: [seal.id] })
    const refused = log.append(alice, "OrderCommitment", { commitment: commitmentOf(order(5), salt("5")) })
    const plainStill = log.append(alice, "UserOrder", order(6))
    const bobOk = log.append(bob, "OrderCommitment", { commitment: commitmentOf(order(7), salt("7")) })
    let state = fold(log.records)
    expect(statusOf(state, entryOf(state, c1.id)!)).toBe("expired")
    expect(statusOf(state, entryOf(state, c2.id)!)).toBe("expired")
    expect(statusOf(state, entryOf(state, c3.id)!)).toBe("committed")
    expect(outcome(state, exp.id)?.reason).toMatch(/skipped 1: .*its batch is not sealed/)
    expect(outcome(state, late.id)?.reason).toMatch(/expired: the reveal window is over/)
    expect(debtOf(state, rules, alice.publicKey)).toBe(2)
    expect(entryOf(state, refused.id)).toBeUndefined()
    expect(outcome(state, refused.id)?.reason).toMatch(/2 unrevealed expired commitments \(limit 2\)/)
    expect(entryOf(state, plainStill.id)).toBeDefined()
    expect(entryOf(state, bobOk.id)).toBeDefined()
    // Three sealed batches forgive one unit: alice may commit again.
    for (let b = 1; b <= 3; b++) {
      log.append(bob, "UserOrder", order(100 + b))
      log.append(instance, "BatchSealed", sealPayload(b))
    }
    const back = log.append(alice, "OrderCommitment", { commitment: commitmentOf(order(9), salt("9")) })
    state = fold(log.records)
    expect(entryOf(state, back.id)?.batch).toBe(4)
  })
})

describe("time-locked orders", () => {
  it("refuses at sealing an order whose round was already out; decrypts only sealed batches; records failures", () => {
    const log = handLog()
    const early = log.append(alice, "TimelockedOrder", { scheme: "tlock", round: 10, ciphertext: "c1" })
    const good = log.append(alice, "TimelockedOrder", { scheme: "tlock", round: 20, ciphertext: "c2" })
    const bad = log.append(bob, "TimelockedOrder", { scheme: "tlock", round: 20, ciphertext: "c3" })
    log.append(bob, "TimelockedOrder", { scheme: "tlock", round: 20, ciphertext: "c4" })
    log.append(instance, "BatchSealed", sealPayload(0, 10))
    const later = log.append(bob, "TimelockedOrder", { scheme: "tlock", round: 20, ciphertext: "c5" })
    const premature = log.append(instance, "BatchDecrypted", { batch: 1, scheme: "tlock", round: 20, signature: "ab", results: [{ orderId: later.id, order: order(5) }] })
    const dec = log.append(instance, "BatchDecrypted", {
      batch: 0,
      scheme: "tlock",
      round: 20,
      signature: "ab",
      results: [{ orderId: good.id, order: order(2) }, { orderId: bad.id, failure: "DecryptionFailed" }, { orderId: early.id, order: order(1) }, { orderId: later.id, order: order(5) }]
    })
    const state = fold(log.records)
    expect(statusOf(state, entryOf(state, early.id)!)).toBe("refused")
    expect(entryOf(state, early.id)!.history.at(-1)?.reason).toMatch(/already public at sealing/)
    expect(entryOf(state, early.id)!.order).toBeNull()
    expect(statusOf(state, entryOf(state, good.id)!)).toBe("revealed")
    expect(entryOf(state, good.id)!.order).toEqual(order(2))
    expect(statusOf(state, entryOf(state, bad.id)!)).toBe("refused")
    expect(outcome(state, premature.id)?.reason).toMatch(/batch 1 is not sealed/)
    expect(statusOf(state, entryOf(state, later.id)!)).toBe("committed")
    expect(entryOf(state, later.id)!.order).toBeNull()
    expect(outcome(state, dec.id)?.reason).toMatch(/skipped 2/)
  })
})

describe("cancellation, matching, filling", () => {
  it("lets only the sender cancel a live order; matches revealed sealed orders in processing order; fills matched ones", () => {
    const log = handLog()
    const a = log.append(alice, "UserOrder", order(1))
    const b = log.append(bob, "UserOrder", order(2))
    const c = log.append(bob, "UserOrder", order(3))
    const stolen = log.append(alice, "UserOrderCancellation", { orderId: b.id })
    const own = log.append(bob, "UserOrderCancellation", { orderId: c.id })
    const unsealed = log.append(instance, "OrdersMatched", { orderIds: [a.id] })
    log.append(instance, "BatchSealed", sealPayload(0))
    log.append(instance, "OrdersMatched", { orderIds: [b.id, a.id] })
    log.append(instance, "OrderFilled", { orderId: a.id, txHash: "aa" })
    const twice = log.append(bob, "UserOrderCancellation", { orderId: c.id })
    const state = fold(log.records)
    expect(outcome(state, stolen.id)?.reason).toMatch(/only the order's sender/)
    expect(outcome(state, own.id)?.accepted).toBe(true)
    expect(outcome(state, twice.id)?.reason).toMatch(/already cancelled/)
    expect(outcome(state, unsealed.id)?.reason).toMatch(/refused whole.*not revealed and sealed \(committed\)/)
    expect(statusOf(state, entryOf(state, a.id)!)).toBe("filled")
    expect(statusOf(state, entryOf(state, b.id)!)).toBe("matched")
    expect(statusOf(state, entryOf(state, c.id)!)).toBe("cancelled")
    expect([...HashMap.values(state.processing)]).toEqual([b.id, a.id])
    expect(entryOf(state, b.id)!.processed).toBe(0)
  })
})

describe("OrdersMatched is all or nothing", () => {
  const carol = testKey("carol")
  const operator = testKey("operator")
  const proposalOf = (ids: ReadonlyArray<string>) => ({ orders: ids.map((orderId) => ({ orderId, amountIn: "1", amountOut: "2" })) })
  const unchanged = (state: MempoolState, id: string, status: string) => {
    const entry = entryOf(state, id)!
    expect(statusOf(state, entry)).toBe(status)
    expect(entry.processed).toBeNull()
    expect(entry.history.some((h) => h.status === "matched")).toBe(false)
  }

  it("a cancellation between the decision and OrdersMatched leaves every order of the proposal unmatched, and the proposal's refusal is in the status view", () => {
    const log = handLog()
    const a = log.append(alice, "UserOrder", order(1))
    const b = log.append(bob, "UserOrder", order(2))
    const c = log.append(carol, "UserOrder", order(3))
    log.append(instance, "BatchSealed", sealPayload(0))
    // Settlement decided on the proposal here (all three revealed), then b's sender cancels before the verdict.
    const proposal = log.append(operator, "MatchProposal", proposalOf([a.id, b.id, c.id]))
    const cancel = log.append(bob, "UserOrderCancellation", { orderId: b.id })
    const verdict = log.append(instance, "OrdersMatched", { orderIds: [a.id, b.id, c.id] }, { deps: [proposal.id] })
    const state = fold(log.records)
    expect(outcome(state, cancel.id)?.accepted).toBe(true)
    unchanged(state, a.id, "revealed")
    unchanged(state, b.id, "cancelled")
    unchanged(state, c.id, "revealed")
    expect(state.processedCount).toBe(0)
    expect(HashMap.size(state.processing)).toBe(0)
    expect(outcome(state, verdict.id)).toMatchObject({ type: "OrdersMatched", accepted: false, target: proposal.id })
    expect(outcome(state, verdict.id)?.reason).toBe(`refused whole, nothing matched: 1 of 3 orders not matchable: ${b.id}: not revealed and sealed (cancelled)`)
    // The status view (GET /v1/mempool/orders/{id}) of the proposal shows the refusal and its reason.
    expect(statusView(state, proposal.id)).toEqual({
      kind: "message",
      id: proposal.id,
      type: "MatchProposal",
      offset: verdict.offset,
      accepted: false,
      target: verdict.id,
      reason: `its OrdersMatched ${verdict.id} was refused at the fold: ${outcome(state, verdict.id)?.reason}`
    })
    expect(statusView(state, verdict.id)).toMatchObject({ kind: "message", type: "OrdersMatched", accepted: false })
    // The orders left are still matchable by a later verdict, which is accepted and recorded as such.
    const again = log.append(operator, "MatchProposal", proposalOf([c.id, a.id]))
    const second = log.append(instance, "OrdersMatched", { orderIds: [c.id, a.id] }, { deps: [again.id] })
    const after = fold(log.records)
    expect(outcome(after, second.id)).toMatchObject({ accepted: true, reason: null, target: again.id })
    expect([...HashMap.values(after.processing)]).toEqual([c.id, a.id])
    expect(statusOf(after, entryOf(after, a.id)!)).toBe("matched")
    expect(statusView(after, again.id)).toBeUndefined()
  })

  it("an expiry or cancellation of one bundle member between decision and verdict leaves the whole bundle and the rest of the proposal unmatched", () => {
    const log = handLog()
    const f = log.append(alice, "UserOrder", order(3))
    const g = log.append(bob, "UserOrder", { ...order(4), bundle: [f.id] })
    const x = log.append(carol, "UserOrder", order(5))
    const y = log.append(carol, "UserOrder", order(7))
    log.append(instance, "BatchSealed", sealPayload(0))
    const p1 = log.append(operator, "MatchProposal", proposalOf([x.id, g.id, f.id]))
    log.append(instance, "OrderExpired", { orderIds: [f.id], at: 5_000 })
    const v1 = log.append(instance, "OrdersMatched", { orderIds: [x.id, g.id, f.id] }, { deps: [p1.id] })
    let state = fold(log.records)
    unchanged(state, x.id, "revealed")
    unchanged(state, g.id, "revealed")
    unchanged(state, f.id, "expired")
    expect(outcome(state, v1.id)?.reason).toMatch(new RegExp(`1 of 3 orders not matchable: ${f.id}: not revealed and sealed \\(expired\\)`))
    expect(outcome(state, p1.id)).toMatchObject({ type: "MatchProposal", accepted: false })

    // A bundle whose member is cancelled by its own sender: same.
    const h = log.append(alice, "UserOrder", order(9))
    const k = log.append(bob, "UserOrder", { ...order(10), bundle: [h.id] })
    log.append(instance, "BatchSealed", sealPayload(1))
    const p2 = log.append(operator, "MatchProposal", proposalOf([h.id, k.id, y.id]))
    log.append(alice, "UserOrderCancellation", { orderId: h.id })
    const v2 = log.append(instance, "OrdersMatched", { orderIds: [h.id, k.id, y.id] }, { deps: [p2.id] })
    state = fold(log.records)
    unchanged(state, h.id, "cancelled")
    unchanged(state, k.id, "revealed")
    unchanged(state, y.id, "revealed")
    expect(outcome(state, v2.id)?.reason).toMatch(/refused whole, nothing matched: 1 of 3/)
    expect(statusView(state, p2.id)).toMatchObject({ kind: "message", type: "MatchProposal", accepted: false })
    expect(state.processedCount).toBe(0)
  })

  it("refuses whole a verdict naming an order twice, or a bundled order without its bundle, listing every failing order in the event's order", () => {
    const log = handLog()
    const f = log.append(alice, "UserOrder", order(3))
    const g = log.append(bob, "UserOrder", { ...order(4), bundle: [f.id] })
    const x = log.append(carol, "UserOrder", order(5))
    log.append(instance, "BatchSealed", sealPayload(0))
    const twice = log.append(instance, "OrdersMatched", { orderIds: [x.id, f.id, x.id] })
    const partial = log.append(instance, "OrdersMatched", { orderIds: [x.id, g.id] })
    const unknown = "ab".repeat(32)
    const several = log.append(instance, "OrdersMatched", { orderIds: [unknown, x.id, g.id] })
    const state = fold(log.records)
    expect(outcome(state, twice.id)?.reason).toMatch(new RegExp(`1 of 3 orders not matchable: ${x.id}: named twice$`))
    expect(outcome(state, partial.id)?.reason).toMatch(new RegExp(`${g.id}: its bundle is not all named \\(${f.id}\\)`))
    expect(outcome(state, several.id)?.reason).toBe(
      `refused whole, nothing matched: 2 of 3 orders not matchable: ${unknown}: unknown order; ${g.id}: its bundle is not all named (${f.id})`
    )
    // No deps: no proposal to record; the verdict's own outcome says it all.
    expect(outcome(state, twice.id)?.target).toBeNull()
    for (const id of [f.id, g.id, x.id]) unchanged(state, id, "revealed")
  })

  it("settlement's MatchRefused records its proposal's refusal with the reason, served by the status view; only from the instance, naming the proposal among its deps", () => {
    const log = handLog()
    const a = log.append(alice, "UserOrder", order(1))
    const proposal = log.append(operator, "MatchProposal", proposalOf([a.id]))
    const reason = `order ${a.id} is committed: its content is not revealed (committed or still locked)`
    const forged = log.append(operator, "MatchRefused", { proposalId: proposal.id, reason: "forged" }, { deps: [proposal.id] })
    const undeclared = log.append(instance, "MatchRefused", { proposalId: proposal.id, reason })
    expect(statusView(fold(log.records), proposal.id)).toBeUndefined()
    const refusal = log.append(instance, "MatchRefused", { proposalId: proposal.id, reason }, { deps: [proposal.id] })
    const again = log.append(instance, "MatchRefused", { proposalId: proposal.id, reason: "again" }, { deps: [proposal.id] })
    const onOrder = log.append(instance, "MatchRefused", { proposalId: a.id, reason: "x" }, { deps: [a.id] })
    const state = fold(log.records)
    expect(statusView(state, proposal.id)).toEqual({
      kind: "message",
      id: proposal.id,
      type: "MatchProposal",
      offset: refusal.offset,
      accepted: false,
      target: refusal.id,
      reason: `refused by settlement (MatchRefused ${refusal.id}): ${reason}`
    })
    expect(outcome(state, refusal.id)).toMatchObject({ type: "MatchRefused", accepted: true, target: proposal.id })
    expect(outcome(state, forged.id)?.reason).toMatch(/only the instance/)
    expect(outcome(state, undeclared.id)?.reason).toBe("the refused proposal must be among its deps")
    expect(outcome(state, again.id)?.reason).toBe("the proposal already has an outcome")
    expect(outcome(state, onOrder.id)?.reason).toBe("names an order, not a proposal")
    expect(statusOf(state, entryOf(state, a.id)!)).toBe("committed")
    // The refusal is in the snapshot, so replay and restarts from a snapshot keep it.
    const text = serialize(projection, state)
    expect(JSON.parse(text).outcomes[proposal.id]).toMatchObject({ type: "MatchProposal", accepted: false, target: refusal.id })
    expect(serialize(projection, projection.decode(JSON.parse(text)))).toBe(text)
  })

  it("folds deterministically: the same log gives the same snapshot, also when folded from a snapshot taken between decision and verdict", () => {
    const log = handLog()
    const a = log.append(alice, "UserOrder", order(1))
    const b = log.append(bob, "UserOrder", order(2))
    log.append(instance, "BatchSealed", sealPayload(0))
    const p = log.append(operator, "MatchProposal", proposalOf([a.id, b.id]))
    log.append(bob, "UserOrderCancellation", { orderId: b.id })
    const cut = log.records.length
    log.append(instance, "OrdersMatched", { orderIds: [a.id, b.id] }, { deps: [p.id] })
    const whole = serialize(projection, fold(log.records))
    expect(serialize(projection, fold(log.records))).toBe(whole)
    const snapshot = projection.decode(JSON.parse(serialize(projection, fold(log.records.slice(0, cut)))))
    expect(serialize(projection, log.records.slice(cut).reduce(projection.evolve, snapshot))).toBe(whole)
    expect(JSON.parse(whole).outcomes[p.id]).toMatchObject({ type: "MatchProposal", accepted: false })
  })
})

describe("snapshot encoding", () => {
  it("decodes what it encodes to the same text", () => {
    const log = handLog()
    const c = log.append(alice, "OrderCommitment", { commitment: commitmentOf(order(1), salt("1")) })
    log.append(alice, "UserOrder", { ...order(2), bundle: [c.id] })
    const s = log.append(instance, "BatchSealed", sealPayload(0))
    log.append(alice, "OrderReveal", { commitmentId: c.id, order: order(1), salt: salt("1") }, { deps: [s.id] })
    log.append(bob, "TimelockedOrder", { scheme: "tlock", round: 3, ciphertext: "x" })
    log.append(instance, "OrdersMatched", { orderIds: [c.id] })
    const state = fold(log.records)
    const text = serialize(projection, state)
    const back = projection.decode(JSON.parse(text))
    expect(serialize(projection, back)).toBe(text)
    expect([...HashMap.keys(back.live)].sort()).toEqual([...HashMap.keys(state.live)].sort())
    expect(() => projection.decode({ ...JSON.parse(text), extra: 1 })).toThrow()
  })
})
