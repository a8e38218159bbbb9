/**
 * Computation intents through the operators projection: rounds settled by the instance's
 * seals, first in log order wins, a Lamport-backdated intent still loses, windows that do
 * not overlap share an order, expiry frees orders, commit-reveal (position of the commitment,
 * refused reveals, unrevealed commitments), window checks, and seals trusted only from the
 * instance key.
 */
import { describe, expect, it } from "@effect/vitest"
import { intentCommitment, MAX_INTENT_WINDOW_MS } from "../../src/domain/operators/Intents.ts"
import type { IntentBody } from "../../src/domain/operators/OperatorMessages.ts"
import type { LogRecord } from "../../src/ports/CausalLog.ts"
import {
  intentById,
  intentsByOperator,
  intentsByOrder,
  makeOperators,
  type OperatorsState,
  refusalOf
} from "../../src/projections/Operators/Operators.ts"
import type { KeyFile } from "../../src/domain/Keys.ts"
import { MAX_OPEN_INTENTS, operatorsOf } from "../../src/domain/operators/OperatorRegistry.ts"
import { testKey } from "../support/fixtures.ts"
import { handLog, intent, orderId, salt } from "./support.ts"

const instance = testKey("instance")
const alice = testKey("alice")
const bob = testKey("bob")
const carol = testKey("carol")
const Operators = makeOperators({ instanceKey: instance.publicKey })
const fold = (records: ReadonlyArray<LogRecord>): OperatorsState => records.reduce(Operators.evolve, Operators.initialState)

const setup = (operators: ReadonlyArray<KeyFile> = [alice, bob, carol]) => {
  const log = handLog()
  // Intents count only from operators the authority registered.
  for (const o of operators) log.append(instance, "OperatorRegistered", { operator: o.publicKey })
  let batch = 0
  const seal = (sealedAt: number, key = instance) => log.append(key, "BatchSealed", { batch: key === instance ? batch++ : batch, sealedAt, beaconRound: null })
  return { ...log, seal, state: () => fold(log.records) }
}

const T = 1_000_000

describe("computation intents", () => {
  it("hold nothing until the round's seal; then the first in log order wins and the other is refused as a whole", () => {
    const { append, seal, state } = setup()
    seal(T)
    const a = append(alice, "ComputationIntent", intent([1, 2], T, T + 60_000))
    const b = append(bob, "ComputationIntent", intent([2, 3], T + 10_000, T + 70_000))
    expect(intentById(state(), a.id)?.status).toBe("pending")
    expect(intentById(state(), b.id)?.status).toBe("pending")
    seal(T + 1000)
    const s = state()
    expect(intentById(s, a.id)).toMatchObject({ status: "held", heldFrom: T + 1000, settledInBatch: 1 })
    expect(intentById(s, b.id)).toMatchObject({ status: "refused", conflictWith: a.id, settledInBatch: 1 })
    expect(intentById(s, b.id)?.reason).toContain(`order ${orderId(2)} is held by ${alice.publicKey}'s intent ${a.id}`)
    // Refused as a whole: order 3, free, is not held by bob either.
    expect(intentsByOrder(s, orderId(3)).map((i) => i.status)).toEqual(["refused"])
    expect(intentsByOperator(s, alice.publicKey).map((i) => i.id)).toEqual([a.id])
    expect(intentsByOrder(s, orderId(2)).map((i) => i.id)).toEqual([a.id, b.id])
  })

  it("rank by log position, not by Lamport stamp: a backdated intent appended later still loses", () => {
    const { append, seal, state } = setup()
    const a = append(alice, "ComputationIntent", intent([1], T, T + 60_000), { lamport: 500 })
    const b = append(bob, "ComputationIntent", intent([1], T, T + 60_000), { lamport: 1 })
    seal(T)
    expect(intentById(state(), a.id)?.status).toBe("held")
    expect(intentById(state(), b.id)).toMatchObject({ status: "refused", conflictWith: a.id })
  })

  it("an intent of a later round cannot take an order held from an earlier round", () => {
    const { append, seal, state } = setup()
    const a = append(alice, "ComputationIntent", intent([1], T, T + 60_000))
    seal(T)
    const b = append(bob, "ComputationIntent", intent([1], T + 5000, T + 8000))
    seal(T + 1000)
    expect(intentById(state(), b.id)).toMatchObject({ status: "refused", conflictWith: a.id })
  })

  it("windows that do not overlap share an order; the same operator may overlap itself", () => {
    const { append, seal, state } = setup()
    const a = append(alice, "ComputationIntent", intent([1], T, T + 10_000))
    const b = append(bob, "ComputationIntent", intent([1], T + 10_000, T + 20_000))
    const a2 = append(alice, "ComputationIntent", intent([1], T + 5000, T + 9000))
    const c = append(carol, "ComputationIntent", intent([1], T + 19_999, T + 30_000))
    seal(T)
    const s = state()
    expect([a, b, a2, c].map((r) => intentById(s, r.id)?.status)).toEqual(["held", "held", "held", "refused"])
    expect(intentById(s, c.id)?.conflictWith).toBe(b.id)
  })

  it("expire at the first seal at or after the window's end, which frees the orders", () => {
    const { append, seal, state } = setup()
    const a = append(alice, "ComputationIntent", intent([1], T, T + 10_000))
    seal(T)
    const early = append(bob, "ComputationIntent", intent([1], T, T + 30_000))
    seal(T + 9999)
    expect(intentById(state(), a.id)?.status).toBe("held")
    expect(intentById(state(), early.id)).toMatchObject({ status: "refused", conflictWith: a.id })
    const later = append(bob, "ComputationIntent", intent([1], T, T + 30_000))
    seal(T + 10_000)
    const s = state()
    expect(intentById(s, a.id)).toMatchObject({ status: "expired", expiredInBatch: 2 })
    // Expiry runs before the round settles: the same seal frees the order for bob.
    expect(intentById(s, later.id)).toMatchObject({ status: "held", heldFrom: T + 10_000 })
  })

  it("time is the log's: without a seal nothing expires, however late the window", () => {
    const { append, seal, state } = setup()
    const a = append(alice, "ComputationIntent", intent([1], 5, 10))
    seal(6)
    append(bob, "ComputationIntent", intent([1], 11, 20)) // no seal after it: pending, alice's still held
    expect(intentById(state(), a.id)?.status).toBe("held")
    expect(state().now).toBe(6)
  })

  it("refuse windows that are empty, too long, already over at log time, or name an order twice", () => {
    const { append, seal, state } = setup()
    seal(T)
    const cases: Array<[IntentBody, RegExp]> = [
      [intent([1], T + 10, T + 10), /at or before it starts/],
      [intent([1], T + 10, T + 10 + MAX_INTENT_WINDOW_MS + 1), /more than the 300000 ms/],
      [intent([1], T - 100, T), /not after the log's time/],
      [{ ...intent([1], T, T + 10), orderIds: [orderId(1), orderId(1)] }, /named twice/]
    ]
    const records = cases.map(([body]) => append(alice, "ComputationIntent", body))
    const longest = append(alice, "ComputationIntent", intent([2], T + 10, T + 10 + MAX_INTENT_WINDOW_MS))
    seal(T + 1)
    records.forEach((r, i) => {
      expect(intentById(state(), r.id)?.status).toBe("refused")
      expect(intentById(state(), r.id)?.reason).toMatch(cases[i]![1])
    })
    expect(intentById(state(), longest.id)?.status).toBe("held")
  })

  it("refuse at settlement an intent whose window ended before its round's seal", () => {
    const { append, seal, state } = setup()
    seal(T)
    const a = append(alice, "ComputationIntent", intent([1], T, T + 500))
    seal(T + 500)
    expect(intentById(state(), a.id)).toMatchObject({ status: "refused", settledInBatch: 1 })
    expect(intentById(state(), a.id)?.reason).toMatch(/not after batch 1 was sealed/)
  })

  it("commit-reveal: the commitment's position ranks the intent, ahead of a plain intent appended before the reveal", () => {
    const { append, seal, state } = setup()
    seal(T)
    const body = intent([1, 2], T, T + 60_000)
    const s1 = salt("c1")
    const commit = append(alice, "IntentCommitment", { commitment: intentCommitment(alice.publicKey, body, s1) })
    const plain = append(bob, "ComputationIntent", intent([2], T, T + 60_000))
    expect(intentById(state(), commit.id)).toMatchObject({ status: "pending", body: null, via: "commit-reveal" })
    expect(intentsByOrder(state(), orderId(1))).toEqual([]) // the targets stay hidden until the reveal
    const reveal = append(alice, "IntentReveal", { commitmentId: commit.id, intent: body, salt: s1 })
    seal(T + 1000)
    const s = state()
    expect(intentById(s, commit.id)).toMatchObject({ status: "held", revealId: reveal.id, body })
    expect(intentById(s, plain.id)).toMatchObject({ status: "refused", conflictWith: commit.id })
    expect(refusalOf(s, reveal.id)).toBeUndefined()
  })

  it("commit-reveal: refuse wrong salts, other senders, second reveals and late reveals; unrevealed commitments hold nothing", () => {
    const { append, seal, state } = setup()
    seal(T)
    const body = intent([1], T, T + 60_000)
    const s1 = salt("c1")
    const c1 = append(alice, "IntentCommitment", { commitment: intentCommitment(alice.publicKey, body, s1) })
    const wrongSalt = append(alice, "IntentReveal", { commitmentId: c1.id, intent: body, salt: salt("other") })
    const otherBody = append(alice, "IntentReveal", { commitmentId: c1.id, intent: intent([2], T, T + 60_000), salt: s1 })
    // Bob copies alice's reveal: the commitment binds alice's key.
    const thief = append(bob, "IntentReveal", { commitmentId: c1.id, intent: body, salt: s1 })
    const unknown = append(alice, "IntentReveal", { commitmentId: orderId(9), intent: body, salt: s1 })
    const ok = append(alice, "IntentReveal", { commitmentId: c1.id, intent: body, salt: s1 })
    const again = append(alice, "IntentReveal", { commitmentId: c1.id, intent: body, salt: s1 })
    const c2 = append(bob, "IntentCommitment", { commitment: intentCommitment(bob.publicKey, intent([3], T, T + 60_000), salt("c2")) })
    const plain3 = append(carol, "ComputationIntent", intent([3], T, T + 60_000))
    seal(T + 1000)
    const late = append(bob, "IntentReveal", { commitmentId: c2.id, intent: intent([3], T, T + 60_000), salt: salt("c2") })
    const s = state()
    expect(refusalOf(s, wrongSalt.id)?.reason).toMatch(/do not hash to the commitment/)
    expect(refusalOf(s, otherBody.id)?.reason).toMatch(/do not hash to the commitment/)
    expect(refusalOf(s, thief.id)?.reason).toMatch(/another sender/)
    expect(refusalOf(s, unknown.id)?.reason).toMatch(/no intent commitment/)
    expect(refusalOf(s, ok.id)).toBeUndefined()
    expect(refusalOf(s, again.id)?.reason).toMatch(/already revealed/)
    expect(refusalOf(s, late.id)?.reason).toMatch(/settled unrevealed in batch 1/)
    expect(intentById(s, c1.id)?.status).toBe("held")
    expect(intentById(s, c2.id)).toMatchObject({ status: "unrevealed", body: null })
    expect(intentById(s, plain3.id)?.status).toBe("held")
  })

  it("commit-reveal: a revealed intent with a bad window is refused, and does not hold", () => {
    const { append, seal, state } = setup()
    seal(T)
    const body = intent([1], T + 10, T + 5)
    const c = append(alice, "IntentCommitment", { commitment: intentCommitment(alice.publicKey, body, salt("x")) })
    append(alice, "IntentReveal", { commitmentId: c.id, intent: body, salt: salt("x") })
    const b = append(bob, "ComputationIntent", intent([1], T, T + 60_000))
    seal(T + 1)
    expect(intentById(state(), c.id)).toMatchObject({ status: "refused", settledInBatch: null })
    expect(intentById(state(), b.id)?.status).toBe("held")
  })

  it("heed BatchSealed only from the instance key, and only for the open batch", () => {
    const { append, seal, state } = setup()
    const a = append(alice, "ComputationIntent", intent([1], T, T + 60_000))
    seal(T, bob) // a forged seal
    expect(intentById(state(), a.id)?.status).toBe("pending")
    expect(state().openBatch).toBe(0)
    append(instance, "BatchSealed", { batch: 5, sealedAt: T, beaconRound: null }) // not the open batch
    expect(state().openBatch).toBe(0)
    seal(T)
    expect(intentById(state(), a.id)?.status).toBe("held")
    expect(state().openBatch).toBe(1)
  })

  it("count only from operators at their place in the log: registered ones (not forged registrations) and the instance; a removal stops later ones", () => {
    const { append, seal, state } = setup([alice])
    const fromAlice = append(alice, "ComputationIntent", intent([1], T, T + 60_000))
    const fromBob = append(bob, "ComputationIntent", intent([2], T, T + 60_000))
    const bobCommit = append(bob, "IntentCommitment", { commitment: intentCommitment(bob.publicKey, intent([3], T, T + 60_000), salt("b")) })
    const fromInstance = append(instance, "ComputationIntent", intent([4], T, T + 60_000))
    // A registration counts only from the authority.
    append(carol, "OperatorRegistered", { operator: carol.publicKey })
    const fromCarol = append(carol, "ComputationIntent", intent([5], T, T + 60_000))
    expect(intentById(state(), fromAlice.id)?.status).toBe("pending")
    expect(intentById(state(), fromInstance.id)?.status).toBe("pending")
    for (const ignored of [fromBob, bobCommit, fromCarol]) expect(intentById(state(), ignored.id)).toBeUndefined()
    expect(intentsByOrder(state(), orderId(2))).toEqual([])
    // Registered from here on: bob's later intent counts, the earlier one stays ignored.
    append(instance, "OperatorRegistered", { operator: bob.publicKey, name: "bob" })
    const later = append(bob, "ComputationIntent", intent([2], T, T + 60_000))
    expect(operatorsOf(state().registry).map((o) => [o.operator, o.name])).toEqual([[alice.publicKey, null], [bob.publicKey, "bob"]].sort())
    append(instance, "OperatorRemoved", { operator: alice.publicKey })
    const afterRemoval = append(alice, "ComputationIntent", intent([6], T, T + 60_000))
    seal(T)
    const s = state()
    expect(intentById(s, later.id)?.status).toBe("held")
    expect(intentById(s, fromAlice.id)?.status).toBe("held") // sent while registered: kept
    expect(intentById(s, afterRemoval.id)).toBeUndefined()
    expect(intentsByOrder(s, orderId(2)).map((i) => i.id)).toEqual([later.id])
  })

  it(`an operator has at most ${MAX_OPEN_INTENTS} intents open; the next is recorded refused, and settling frees room`, () => {
    const { append, seal, state } = setup()
    seal(T)
    const open = Array.from({ length: MAX_OPEN_INTENTS }, (_, i) => append(alice, "ComputationIntent", intent([100 + i], T, T + 1000)))
    const over = append(alice, "ComputationIntent", intent([1], T, T + 60_000))
    const overCommit = append(alice, "IntentCommitment", { commitment: intentCommitment(alice.publicKey, intent([2], T, T + 60_000), salt("o")) })
    const bobs = append(bob, "ComputationIntent", intent([1], T, T + 60_000))
    expect(intentById(state(), over.id)).toMatchObject({ status: "refused", reason: expect.stringMatching(new RegExp(`${MAX_OPEN_INTENTS} open intents`)) })
    expect(intentById(state(), overCommit.id)).toMatchObject({ status: "refused" })
    expect(intentById(state(), bobs.id)?.status).toBe("pending")
    // Held intents stay open until a seal at or after their window's end expires them.
    seal(T + 500)
    expect(open.every((r) => intentById(state(), r.id)?.status === "held")).toBe(true)
    const stillFull = append(alice, "ComputationIntent", intent([3], T, T + 60_000))
    expect(intentById(state(), stillFull.id)?.status).toBe("refused")
    seal(T + 1000)
    expect(open.every((r) => intentById(state(), r.id)?.status === "expired")).toBe(true)
    const room = append(alice, "ComputationIntent", intent([4], T + 1000, T + 60_000))
    expect(intentById(state(), room.id)?.status).toBe("pending")
  })
})
