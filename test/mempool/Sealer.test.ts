import { describe, expect, it } from "@effect/vitest"
import { Effect, HashMap, Option } from "effect"
import { TestClock } from "effect/testing"
import { encryptToRound } from "../../src/domain/timelock/Tlock.ts"
import { roundAt } from "../../src/domain/timelock/ChainInfo.ts"
import { type MempoolState, batchOf, entryOf, statusOf } from "../../src/domain/mempool/MempoolFold.ts"
import { commitmentOf, orderBytes } from "../../src/domain/mempool/OrderBytes.ts"
import { makeMempool } from "../../src/projections/Mempool/Mempool.ts"
import * as ProjectionRunner from "../../src/projections/ProjectionRunner.ts"
import { CausalLog } from "../../src/ports/CausalLog.ts"
import * as Sealer from "../../src/services/Sealer.ts"
import { testKey } from "../support/fixtures.ts"
import { chainInfo, instance, stack, submit } from "./stack.ts"
import { order, salt } from "./support.ts"

const alice = testKey("alice")
const bob = testKey("bob")
const carol = testKey("carol")
const dave = testKey("dave")
const mempool = makeMempool({ instanceKey: instance.publicKey })

const T0 = 2_000_000 // ms: beacon round 334 (genesis at 1,000 s, 3 s rounds)

const state = Effect.gen(function*() {
  const runner = yield* ProjectionRunner.Projections
  return (yield* runner.state(mempool)).state as MempoolState
})

describe("Sealer", () => {
  it.effect("seals after the window, refuses orders locked to rounds already out, decrypts after the seal when the round is out, expires unrevealed commitments and expired orders", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(T0)
      const sealer = yield* Sealer.Sealer
      const r0 = roundAt(chainInfo, T0)
      const plain = yield* submit(alice, "UserOrder", order(1))
      const commit = yield* submit(bob, "OrderCommitment", { commitment: commitmentOf(order(2), salt("bob")) })
      const locked = yield* submit(carol, "TimelockedOrder", { scheme: "tlock", round: r0 + 5, ciphertext: encryptToRound(chainInfo, r0 + 5, orderBytes(order(3))) })
      const early = yield* submit(dave, "TimelockedOrder", { scheme: "tlock", round: r0, ciphertext: encryptToRound(chainInfo, r0, orderBytes(order(4))) })
      const garbage = yield* submit(dave, "TimelockedOrder", { scheme: "tlock", round: r0 + 5, ciphertext: encryptToRound(chainInfo, r0 + 5, new TextEncoder().encode("not an order")) })

      // The first tick only notes that the batch holds something; the window starts there.
      expect(yield* sealer.tick).toEqual({ sealed: null, expiredCommitments: 0, expiredOrders: 0, decrypted: 0, solving: 0, checking: 0 })
      yield* TestClock.adjust("11 seconds")
      expect((yield* sealer.tick).sealed).toBeNull()
      yield* TestClock.adjust("1 second")
      expect(yield* sealer.tick).toEqual({ sealed: 0, expiredCommitments: 0, expiredOrders: 0, decrypted: 0, solving: 0, checking: 0 })
      let s = yield* state
      const batch0 = batchOf(s, 0)!
      expect(batch0).toMatchObject({ count: 5, sealedAt: T0 + 12_000, beaconRound: r0 + 4 })
      expect(statusOf(s, entryOf(s, plain.id)!)).toBe("revealed")
      expect(statusOf(s, entryOf(s, commit.id)!)).toBe("sequenced")
      expect(statusOf(s, entryOf(s, locked.id)!)).toBe("sequenced")
      expect(statusOf(s, entryOf(s, early.id)!)).toBe("refused")

      // The reveal names the seal; the round is not out yet, so nothing is decrypted.
      yield* submit(bob, "OrderReveal", { commitmentId: commit.id, order: order(2), salt: salt("bob") }, { deps: [batch0.sealId] })
      expect((yield* sealer.tick).decrypted).toBe(0)
      yield* TestClock.adjust("3 seconds")
      expect((yield* sealer.tick).decrypted).toBe(2)
      s = yield* state
      expect(statusOf(s, entryOf(s, commit.id)!)).toBe("revealed")
      expect(entryOf(s, locked.id)!.order).toEqual(order(3))
      expect(statusOf(s, entryOf(s, locked.id)!)).toBe("revealed")
      expect(statusOf(s, entryOf(s, garbage.id)!)).toBe("refused")
      expect(entryOf(s, garbage.id)!.history.at(-1)?.reason).toMatch(/undecryptable: the plaintext is not UTF-8 JSON|not a UserOrder/)
      expect(entryOf(s, early.id)!.order).toBeNull()

      // Batch 1: a commitment never revealed, and an order with an expiry.
      const lazy = yield* submit(alice, "OrderCommitment", { commitment: commitmentOf(order(5), salt("lazy")) })
      const now = T0 + 15_000
      const short = yield* submit(carol, "UserOrder", order(6), { expiry: now + 20_000 })
      yield* sealer.tick
      yield* TestClock.adjust("12 seconds")
      expect((yield* sealer.tick).sealed).toBe(1)
      yield* TestClock.adjust("10 seconds")
      expect(yield* sealer.tick).toMatchObject({ expiredCommitments: 0, expiredOrders: 1 })
      yield* TestClock.adjust("14 seconds")
      expect(yield* sealer.tick).toMatchObject({ expiredCommitments: 1, expiredOrders: 0 })
      s = yield* state
      expect(statusOf(s, entryOf(s, lazy.id)!)).toBe("expired")
      expect(statusOf(s, entryOf(s, short.id)!)).toBe("expired")
      // Nothing is decided twice.
      yield* TestClock.adjust("60 seconds")
      expect(yield* sealer.tick).toEqual({ sealed: null, expiredCommitments: 0, expiredOrders: 0, decrypted: 0, solving: 0, checking: 0 })

      // Every decision is an instance-authored record in the log.
      const log = yield* CausalLog
      const records = yield* log.read(0, yield* log.endOffset)
      const decisions = records.filter((r) => r.sender === instance.publicKey).map((r) => r.type)
      expect(decisions).toEqual(["BatchSealed", "BatchDecrypted", "BatchSealed", "OrderExpired", "CommitmentExpired"])
      expect(HashMap.size(s.live)).toBe(3) // plain, revealed commitment, decrypted order
    }).pipe(Effect.provide(stack({ windowMs: 12_000, revealWindowMs: 24_000 }))))

  it.effect("decrypts earliest deadline first and splits a decryption to stay under the message cap", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(T0)
      const sealer = yield* Sealer.Sealer
      const round = roundAt(chainInfo, T0) + 1
      const ids: Array<string> = []
      for (let i = 0; i < 6; i++) {
        const key = testKey(`locker-${i}`)
        // Later positions get earlier deadlines.
        const r = yield* submit(key, "TimelockedOrder", { scheme: "tlock", round, ciphertext: encryptToRound(chainInfo, round, orderBytes(order(i))) }, { expiry: T0 + 1_000_000 - i * 1000 })
        ids.push(r.id)
      }
      expect(yield* sealer.sealNow).toEqual(Option.some(0))
      yield* TestClock.adjust("6 seconds")
      expect((yield* sealer.tick).decrypted).toBe(6)
      const log = yield* CausalLog
      const records = yield* log.read(0, yield* log.endOffset)
      const decrypted = records.filter((r) => r.type === "BatchDecrypted").map((r) => JSON.parse(r.body).payload.results.map((x: { orderId: string }) => x.orderId))
      expect(decrypted.length).toBeGreaterThan(1)
      expect(decrypted.flat()).toEqual([...ids].reverse())
    }).pipe(Effect.provide(stack({ maxDecryptedBytes: 700 }))))

  it.effect("bounds the open orders: a disclosed order unfilled for the lifetime expires, and beyond the capacity the oldest sealed ones do", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(T0)
      const sealer = yield* Sealer.Sealer
      // Batch 0: two plain orders and a commitment (never revealed: the reveal window, not the lifetime, ends it).
      const a = yield* submit(alice, "UserOrder", order(1))
      const b = yield* submit(bob, "UserOrder", order(2))
      const hidden = yield* submit(carol, "OrderCommitment", { commitment: commitmentOf(order(3), salt("carol")) })
      expect(yield* sealer.sealNow).toEqual(Option.some(0))
      // Batch 1: three more plain orders: five disclosed open orders, the capacity is four.
      yield* TestClock.adjust("10 seconds")
      const later = [yield* submit(dave, "UserOrder", order(4)), yield* submit(alice, "UserOrder", order(5)), yield* submit(bob, "UserOrder", order(6))]
      expect(yield* sealer.sealNow).toEqual(Option.some(1))
      // Capacity: six open (the commitment counts), four allowed: the two oldest sealed go, in position order.
      expect((yield* sealer.tick).expiredOrders).toBe(2)
      let s = yield* state
      expect([a, b].map((r) => statusOf(s, entryOf(s, r.id)!))).toEqual(["expired", "expired"])
      expect(statusOf(s, entryOf(s, hidden.id)!)).toBe("sequenced")
      expect(later.map((r) => statusOf(s, entryOf(s, r.id)!))).toEqual(["revealed", "revealed", "revealed"])
      // Lifetime: 60 s after batch 1's seal its orders expire; nothing twice.
      yield* TestClock.adjust("59 seconds")
      expect((yield* sealer.tick).expiredOrders).toBe(0)
      yield* TestClock.adjust("1 second")
      expect((yield* sealer.tick).expiredOrders).toBe(3)
      s = yield* state
      expect(later.map((r) => statusOf(s, entryOf(s, r.id)!))).toEqual(["expired", "expired", "expired"])
      expect(statusOf(s, entryOf(s, hidden.id)!)).toBe("expired") // its reveal window (24 s) ended first
      expect(HashMap.size(s.live)).toBe(0)
    }).pipe(Effect.provide(stack({ maxOrderLifetimeMs: 60_000, maxOpenOrders: 4 }))))
})
