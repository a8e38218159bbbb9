/**
 * Leak test: a searcher with read access to every API response, SSE event, log line and
 * metric learns nothing of a committed or time-locked order's content before its batch is
 * sealed. A real server (HTTP over the core, the sealer running on its window, a local
 * beacon, every log line captured at Trace level) takes a plain order, a commitment and a
 * time-locked order; everything observable before the seal is searched for the protected
 * orders' markers (amount, market, salt); a reveal sent too early, or one the mempool would
 * refuse, is refused before it is written. The same observation channels do show the
 * markers after the seal and the reveal/decryption, and show the plain order's content at
 * once: the search is not blind.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import * as LocalBeacon from "../../src/adapters/beacon/LocalBeacon.ts"
import type { UserOrder } from "../../src/domain/mempool/MempoolMessages.ts"
import { commitmentOf, orderBytes } from "../../src/domain/mempool/OrderBytes.ts"
import { roundAt } from "../../src/domain/timelock/ChainInfo.ts"
import { encryptToRound } from "../../src/domain/timelock/Tlock.ts"
import { testKey } from "../support/fixtures.ts"
import { events, leakBeacon, leaksOf, searcherPaths, startLeakServer, tap } from "./leakCapture.ts"
import { salt } from "./support.ts"

const instance = testKey("leak-instance")
const alice = testKey("leak-alice")
const bob = testKey("leak-bob")
const carol = testKey("leak-carol")

const secretOrder = (n: number): UserOrder => ({
  chain: "eth",
  market: `SECRET-MKT-${n}`,
  side: "buy",
  amountIn: `42424242420${n}`,
  minAmountOut: `13131313130${n}`,
  limitPrice: "3000"
}) as UserOrder
const committed = secretOrder(1)
const locked = secretOrder(2)
const plain: UserOrder = { chain: "eth", market: "PLAIN-MKT", side: "sell", amountIn: "515151515151", minAmountOut: "1", limitPrice: "1" } as UserOrder
const bobSalt = salt("leak-bob")
const markers = [committed.market, committed.amountIn, committed.minAmountOut, bobSalt, locked.market, locked.amountIn, locked.minAmountOut]
const leaks = leaksOf(markers)

const beacon = leakBeacon(9)
const chain = LocalBeacon.chainInfoOf(beacon)

describe("mempool leak test", () => {
  it.live("no response, SSE event, log line or metric carries a committed or time-locked order's content before its batch is sealed", () =>
    Effect.gen(function*() {
      const lines: Array<string> = []
      const { base, call, send, post, readAll } = yield* startLeakServer({ instance, beacon, lines })

      const global = tap(`${base}/v1/stream?from=0`)
      const round = roundAt(chain, Date.now()) + 6
      const plainId = yield* post(alice, "UserOrder", plain)
      const commitId = yield* post(bob, "OrderCommitment", { commitment: commitmentOf(committed, bobSalt) })
      const lockedId = yield* post(carol, "TimelockedOrder", { scheme: "tlock", round, ciphertext: encryptToRound(chain, round, orderBytes(locked)) })
      const commitEvents = tap(`${base}/v1/mempool/orders/${commitId}/events`)
      const lockedEvents = tap(`${base}/v1/mempool/orders/${lockedId}/events`)

      // A reveal before the seal (the obvious first try, with or without naming the
      // commitment) is refused before anything is written: its order and salt never reach
      // the public log, and the answer says why.
      const revealNow = { commitmentId: commitId, order: committed, salt: bobSalt }
      for (const deps of [[], [commitId]]) {
        const early = yield* send(bob, "OrderReveal", revealNow, deps)
        expect(early.status, early.text).toBe(409)
        expect(JSON.parse(early.text)).toMatchObject({ _tag: "SealedContent", type: "OrderReveal" })
        expect(JSON.parse(early.text).reason).toContain("not sealed yet")
        expect((yield* call(`/v1/messages/${early.id}`)).status).toBe(404)
      }

      // Everything a searcher can read before the seal.
      const before = yield* readAll(searcherPaths({ plain: plainId, protected: [commitId, lockedId] }, committed.market), committed.market)
      yield* Effect.sleep("300 millis") // let the streams deliver what they have
      const batch0 = yield* call("/v1/mempool/batches/0")
      expect(batch0.status, "the window must outlast the observations").toBe(404)
      const preSeal = [...before, global.text(), commitEvents.text(), lockedEvents.text(), lines.join("\n")]
      expect(preSeal.flatMap((t) => leaks(t).map((m) => `${m} in ${t.slice(0, 300)}`))).toEqual([])
      // The search sees what is visible: the plain order is in the log at once...
      expect(before[0]).toContain(plain.amountIn)
      expect(global.text()).toContain(plain.amountIn)
      // ...but the mempool serves no content before the seal, not even a plain order's.
      expect(before.filter((t) => t.startsWith("/v1/mempool")).some((t) => t.includes(plain.amountIn))).toBe(false)

      // The seal.
      let sealed = batch0
      while (sealed.status !== 200) {
        yield* Effect.sleep("50 millis")
        sealed = yield* call("/v1/mempool/batches/0")
      }
      const sealId = JSON.parse(sealed.text).sealId as string
      // After the seal, a reveal the mempool would still refuse is not written either: one
      // not naming the seal, someone else's, one whose salt does not open the commitment.
      const refusedAfterSeal = [
        [bob, revealNow, [commitId], "among its deps"],
        [alice, revealNow, [sealId], "only the commitment's sender"],
        [bob, { ...revealNow, salt: salt("not-bobs-salt") }, [sealId], "do not match the commitment"]
      ] as const
      for (const [key, payload, deps, reason] of refusedAfterSeal) {
        const r = yield* send(key, "OrderReveal", payload, deps)
        expect(r.status, r.text).toBe(409)
        expect(JSON.parse(r.text).reason).toContain(reason)
        expect((yield* call(`/v1/messages/${r.id}`)).status).toBe(404)
      }
      yield* post(bob, "OrderReveal", revealNow, [sealId])
      let view = yield* call(`/v1/mempool/orders/${lockedId}`)
      for (let i = 0; i < 200 && JSON.parse(view.text).status !== "revealed"; i++) {
        yield* Effect.sleep("50 millis")
        view = yield* call(`/v1/mempool/orders/${lockedId}`)
      }
      expect(JSON.parse(view.text)).toMatchObject({ status: "revealed", order: locked })
      yield* Effect.sleep("300 millis")
      yield* Effect.promise(() => Promise.all([global.close(), commitEvents.close(), lockedEvents.close()]))

      // Before the seal's record, the global stream carried no content; after it, it does.
      const globalEvents = events(global.text()).map((e) => e.data ?? "")
      const sealAt = globalEvents.findIndex((d) => d.includes("\"type\":\"BatchSealed\""))
      expect(sealAt).toBeGreaterThan(0)
      expect(globalEvents.slice(0, sealAt).flatMap(leaks)).toEqual([])
      expect(leaks(globalEvents.slice(sealAt).join("\n")).sort()).toEqual([...markers].sort())
      // The order streams: nothing until "sequenced", the content after its disclosure.
      for (const [stream, order] of [[commitEvents, committed], [lockedEvents, locked]] as const) {
        const statuses = events(stream.text()).map((e) => JSON.parse(e.data ?? "{}") as { status: string; order: unknown })
        const seq = statuses.findIndex((s) => s.status === "sequenced")
        expect(seq).toBeGreaterThan(0)
        expect(statuses.slice(0, seq + 1).every((s) => s.order === null)).toBe(true)
        expect(statuses.at(-1)).toMatchObject({ status: "revealed", order })
      }
      expect(JSON.parse((yield* call(`/v1/mempool/orders/${commitId}`)).text)).toMatchObject({ status: "revealed", order: committed })
      const pending = yield* call("/v1/mempool/orders?market=SECRET-MKT-2&revealedOnly=true")
      expect(JSON.parse(pending.text).orders.map((o: { id: string }) => o.id)).toEqual([lockedId])
      // Log lines and metrics never carry content, not even after the seal.
      expect(lines.length).toBeGreaterThan(0)
      expect(lines.some((l) => l.includes("sealed batch 0"))).toBe(true)
      expect(lines.flatMap(leaks)).toEqual([])
      expect(leaks((yield* call("/metrics")).text)).toEqual([])
    }).pipe(Effect.scoped), 30_000)
})
