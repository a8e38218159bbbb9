/**
 * Replay: a mempool history built live (plain orders, commitments with good, bad, premature
 * and late reveals, expiries with the debt they charge, cancellations, time-locked orders
 * decrypted by the sealer or refused, matches and fills, forged decisions) folds to the live
 * digest when replayed from offset 0, and when resumed from a snapshot taken midway.
 * Replay runs no pairing: the decryptions are in the log.
 */
import { describe, expect, it } from "@effect/vitest"
import { Clock, Effect } from "effect"
import { TestClock } from "effect/testing"
import { type MempoolState, batchOf, debtOf, defaultRules, entryOf, statusOf } from "../../src/domain/mempool/MempoolFold.ts"
import { commitmentOf, orderBytes } from "../../src/domain/mempool/OrderBytes.ts"
import { roundAt } from "../../src/domain/timelock/ChainInfo.ts"
import { encryptToRound } from "../../src/domain/timelock/Tlock.ts"
import { makeMempool } from "../../src/projections/Mempool/Mempool.ts"
import { digestOf, serialize } from "../../src/projections/Projection.ts"
import * as ProjectionRunner from "../../src/projections/ProjectionRunner.ts"
import { CausalLog } from "../../src/ports/CausalLog.ts"
import * as Author from "../../src/services/Author.ts"
import * as Sealer from "../../src/services/Sealer.ts"
import { testKey } from "../support/fixtures.ts"
import { chainInfo, instance, stack, submit } from "./stack.ts"
import { order, salt } from "./support.ts"

const mempool = makeMempool({ instanceKey: instance.publicKey })
const T0 = 3_000_000

describe("mempool replay", () => {
  it.effect("a live history of every kind of mempool event replays to the live digest, from 0 and from a midway snapshot", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(T0)
      const sealer = yield* Sealer.Sealer
      const author = yield* Author.Author
      const runner = yield* ProjectionRunner.Projections
      const log = yield* CausalLog
      const users = Array.from({ length: 6 }, (_, i) => testKey(`replay-user-${i}`))
      const mallory = testKey("replay-mallory")
      const view = runner.state(mempool).pipe(Effect.orDie, Effect.map((s) => s.state as MempoolState))
      let midway: { offset: number; state: MempoolState } | undefined

      for (let round = 0; round < 3; round++) {
        const r0 = roundAt(chainInfo, yield* Clock.currentTimeMillis)
        const plains = []
        const commits = []
        for (const [i, u] of users.entries()) {
          const n = round * 100 + i
          plains.push(yield* submit(u, "UserOrder", order(n)))
          commits.push({ user: u, n, receipt: yield* submit(u, "OrderCommitment", { commitment: commitmentOf(order(n + 50), salt(`r${n}`)) }) })
          yield* submit(u, "TimelockedOrder", { scheme: "tlock", round: r0 + 6, ciphertext: encryptToRound(chainInfo, r0 + 6, orderBytes(order(n + 70))) }, { expiry: T0 + 10_000_000 - n })
        }
        yield* submit(mallory, "TimelockedOrder", { scheme: "tlock", round: r0, ciphertext: encryptToRound(chainInfo, r0, orderBytes(order(999))) })
        // Premature reveal, forged seal, a cancellation by a stranger and by the owner.
        yield* submit(users[0]!, "OrderReveal", { commitmentId: commits[0]!.receipt.id, order: order(commits[0]!.n + 50), salt: salt(`r${commits[0]!.n}`) })
        yield* submit(mallory, "BatchSealed", { batch: round, sealedAt: 1, beaconRound: null })
        yield* submit(mallory, "UserOrderCancellation", { orderId: plains[1]!.id })
        yield* submit(users[2]!, "UserOrderCancellation", { orderId: plains[2]!.id })
        yield* sealer.tick
        yield* TestClock.adjust("12 seconds")
        expect((yield* sealer.tick).sealed).toBe(round)
        const sealId = batchOf(yield* view, round)!.sealId
        // Good reveals from half the users, a wrong salt from one, none from the others (they expire).
        for (const c of commits.slice(0, 3)) {
          yield* submit(c.user, "OrderReveal", { commitmentId: c.receipt.id, order: order(c.n + 50), salt: salt(`r${c.n}`) }, { deps: [sealId] })
        }
        yield* submit(commits[3]!.user, "OrderReveal", { commitmentId: commits[3]!.receipt.id, order: order(commits[3]!.n + 50), salt: salt("wrong") }, { deps: [sealId] })
        yield* TestClock.adjust("30 seconds")
        const t = yield* sealer.tick
        expect(t.decrypted).toBe(users.length)
        expect(t.expiredCommitments).toBe(3)
        yield* author.publish("OrdersMatched", { orderIds: [plains[0]!.id, commits[0]!.receipt.id] })
        const filled = yield* author.publish("OrderFilled", { orderId: plains[0]!.id, txHash: "ab" })
        yield* runner.awaitOffset(filled.offset + 1)
        if (round === 0) midway = { offset: (yield* runner.state(mempool)).offset, state: yield* view }
      }
      // Users 3..5 let a commitment expire every round: three units of debt each (one below the default limit).
      const live = yield* view
      expect(users.map((u) => debtOf(live, defaultRules, u.publicKey))).toEqual([0, 0, 0, 3, 3, 3])
      const last = entryOf(live, (yield* log.read(0, yield* log.endOffset)).filter((r) => r.type === "TimelockedOrder").at(-1)!.id)!
      expect(statusOf(live, last)).toBe("refused") // mallory's order, locked to a round out at sealing
      expect(live.batch).toBe(3)

      const end = yield* log.endOffset
      const status = (yield* runner.status).find((s) => s.name === mempool.name)!
      expect(status.offset).toBe(end)
      const replayed = yield* ProjectionRunner.replay(log, [mempool])
      expect(replayed.digests[mempool.name]).toBe(status.digest)
      expect(serialize(mempool, replayed.states[0] as MempoolState)).toBe(serialize(mempool, live))

      // Resume from a snapshot midway: decode(encode(state)), then fold the rest.
      const snap = mempool.decode(JSON.parse(serialize(mempool, midway!.state)))
      const resumed = yield* ProjectionRunner.replay(log, [mempool], { from: midway!.offset, states: [snap] })
      expect(resumed.digests[mempool.name]).toBe(status.digest)
      expect(digestOf(mempool, live)).toBe(status.digest)
    }).pipe(Effect.provide(stack({ windowMs: 12_000, revealWindowMs: 24_000 }))), 30_000)
})
