/**
 * Retention: settled, expired, cancelled and refused entries and recorded outcomes leave the
 * mempool's memory (and its snapshot) a retention window after their batch's seal, in the
 * instance's seal times; the runner keeps them on disk, and HTTP still answers for them.
 */
import { describe, expect, it, layer } from "@effect/vitest"
import { Effect, HashMap, Option } from "effect"
import * as InstanceKeyFile from "../../src/adapters/files/InstanceKeyFile.ts"
import * as MemoryCausalLog from "../../src/adapters/storage/MemoryCausalLog.ts"
import * as SqliteProjectionStore from "../../src/adapters/storage/SqliteProjectionStore.ts"
import { instanceKeyPath } from "../../src/Config.ts"
import { idOf } from "../../src/domain/Envelope.ts"
import type { KeyFile } from "../../src/domain/Keys.ts"
import { DEFAULT_RETENTION_MS, type MempoolState, entryOf } from "../../src/domain/mempool/MempoolFold.ts"
import { statusView } from "../../src/domain/mempool/MempoolViews.ts"
import type { MessageType } from "../../src/domain/MessageTypes.ts"
import type { MessageId } from "../../src/domain/Primitives.ts"
import { makeMempool } from "../../src/projections/Mempool/Mempool.ts"
import { foldPage, serialize } from "../../src/projections/Projection.ts"
import * as ProjectionRunner from "../../src/projections/ProjectionRunner.ts"
import { CausalLog, type LogRecord } from "../../src/ports/CausalLog.ts"
import { envelope, testKey } from "../support/fixtures.ts"
import * as Server from "../http/support/server.ts"
import { handLog, order } from "./support.ts"

const instance = testKey("instance")
const alice = testKey("alice")
const bob = testKey("bob")
const RETENTION = 10_000
const mempool = makeMempool({ instanceKey: instance.publicKey }, { retentionMs: RETENTION })
const fold = (records: ReadonlyArray<LogRecord>) => records.reduce(mempool.evolve, mempool.initialState)
const seal = (batch: number, sealedAt: number) => ({ batch, sealedAt, beaconRound: null })

// Batch 0 holds a (cancelled while it is open), b (expired while batch 1 is open) and c (never
// ends); batch 1 holds d (never ends). Seals at 1 s, 5 s, 11 s (10 s after batch 0's: what
// ended while batch 0 was open goes) and 30 s (what ended while batches 1 and 2 were open goes).
const history = () => {
  const log = handLog()
  const a = log.append(alice, "UserOrder", order(1))
  const b = log.append(bob, "UserOrder", order(2))
  const c = log.append(bob, "UserOrder", order(3))
  const cancel = log.append(alice, "UserOrderCancellation", { orderId: a.id })
  const s0 = log.append(instance, "BatchSealed", seal(0, 1_000))
  const d = log.append(alice, "UserOrder", order(4))
  const expiry = log.append(instance, "OrderExpired", { orderIds: [b.id], at: 2_000 })
  const s1 = log.append(instance, "BatchSealed", seal(1, 5_000))
  const s2 = log.append(instance, "BatchSealed", seal(2, 11_000))
  const s3 = log.append(instance, "BatchSealed", seal(3, 30_000))
  return { log, a, b, c, d, cancel, expiry, s0, s1, s2, s3 }
}

describe("mempool retention (fold)", () => {
  it("keeps terminal entries and outcomes through the window, then drops them at the first seal past it", () => {
    const h = history()
    const upTo = (r: LogRecord) => fold(h.log.records.slice(0, r.offset + 1))
    // Batch 1's seal is 4 s after batch 0's: the cancelled and expired orders are still held.
    const before = upTo(h.s1)
    expect(entryOf(before, h.a.id)?.status).toBe("cancelled")
    expect(entryOf(before, h.b.id)?.status).toBe("expired")
    expect(statusView(before, h.cancel.id)).toMatchObject({ kind: "message", accepted: true })
    // Batch 2's seal is 10 s after batch 0's: what ended while batch 0 was open leaves memory.
    const after = upTo(h.s2)
    expect(entryOf(after, h.a.id)).toBeUndefined()
    expect(statusView(after, h.cancel.id)).toBeUndefined()
    expect(HashMap.has(after.seats, 0)).toBe(true) // c, never ended, keeps its seat in batch 0
    // b expired while batch 1 was open (sealed at 5 s): it stays until a seal at 15 s or later.
    expect(entryOf(after, h.b.id)?.status).toBe("expired")
    const last = upTo(h.s3)
    expect(entryOf(last, h.b.id)).toBeUndefined()
    expect(statusView(last, h.expiry.id)).toBeUndefined()
    // Live orders stay, whatever their age.
    expect(entryOf(last, h.c.id)?.status).toBe("committed")
    expect(entryOf(last, h.d.id)?.status).toBe("committed")
    // What left is in the outbox, as it was last, until the runner drains it.
    expect(last.evicted.map((x) => (x.kind === "entry" ? x.entry.id : x.id)).sort()).toEqual(
      [h.a.id, h.b.id, h.cancel.id, h.expiry.id, h.s0.id, h.s1.id, h.s2.id].sort()
    )
  })

  it("drains the outbox to archived views equal to the views before eviction, and never changes the digest", () => {
    const h = history()
    const held = fold(h.log.records.slice(0, h.s1.offset + 1))
    const state = fold(h.log.records)
    const { state: drained, archived } = mempool.drain!(state)
    expect(drained.evicted).toEqual([])
    expect(serialize(mempool, drained)).toBe(serialize(mempool, state))
    const byKey = new Map(archived.map((r) => [r.key, r.value]))
    expect(byKey.get(h.a.id)).toEqual(statusView(held, h.a.id))
    expect(byKey.get(h.cancel.id)).toEqual(statusView(held, h.cancel.id))
    const aView = statusView(held, h.a.id)!
    expect(aView.kind === "order" && byKey.get(`seat:${aView.batch}:${aView.position}`)).toBe(h.a.id)
  })

  it("replays to the same state from the start and from a snapshot taken at any record", () => {
    const h = history()
    const whole = serialize(mempool, fold(h.log.records))
    for (let cut = 0; cut <= h.log.records.length; cut++) {
      const snapshot = mempool.decode(JSON.parse(serialize(mempool, fold(h.log.records.slice(0, cut)))))
      const resumed = foldPage(mempool, snapshot, h.log.records.slice(cut))
      expect(serialize(mempool, resumed)).toBe(whole)
    }
  })

  it("keeps the snapshot bounded: a long flood of orders that expire leaves only the window's", () => {
    const log = handLog({ signed: false })
    const sizes: Array<number> = []
    let state: MempoolState = mempool.initialState
    for (let batch = 0; batch < 40; batch++) {
      const ids = Array.from({ length: 20 }, (_, i) => log.append(testKey(`flood-${batch}-${i}`), "UserOrder", order(i)).id)
      log.append(instance, "OrderExpired", { orderIds: [...ids].sort() as Array<MessageId>, at: batch * 2_000 })
      log.append(instance, "BatchSealed", seal(batch, batch * 2_000 + 1_000))
      state = fold(log.records)
      sizes.push(serialize(mempool, state).length)
    }
    // Ten seconds of retention at one seal every two seconds: about six batches are held.
    expect(HashMap.size(state.entries)).toBeLessThanOrEqual(20 * 7)
    expect(sizes[39]! - sizes[20]!).toBeLessThan(sizes[20]! / 10)
  })

  it("refuses a snapshot folded under another retention (it is rebuilt from the log)", () => {
    const other = makeMempool({ instanceKey: instance.publicKey }, { retentionMs: DEFAULT_RETENTION_MS })
    const json = JSON.parse(serialize(other, fold(history().log.records)))
    expect(() => mempool.decode(json)).toThrow(`retention of ${DEFAULT_RETENTION_MS} ms, not ${RETENTION} ms`)
  })

  it.effect("the runner keeps what it drains on disk before it publishes the state", () =>
    Effect.gen(function*() {
      const h = history()
      const log = yield* CausalLog
      // Hand-made records into a memory log (their offsets are the log's).
      yield* log.append(h.log.records.map(({ offset: _, ...r }) => r))
      const runner = yield* ProjectionRunner.make([mempool], { snapshotEvery: 1_000_000, pageSize: 3 })
      yield* runner.awaitOffset(h.log.records.length)
      const { state } = yield* runner.state(mempool)
      expect(entryOf(state, h.a.id)).toBeUndefined()
      expect(state.evicted).toEqual([])
      const held = fold(h.log.records.slice(0, h.s1.offset + 1))
      expect(Option.getOrUndefined(yield* runner.archived(mempool, h.a.id))).toEqual(statusView(held, h.a.id))
      expect(Option.getOrUndefined(yield* runner.archived(mempool, h.expiry.id))).toEqual(statusView(held, h.expiry.id))
      expect(Option.isNone(yield* runner.archived(mempool, h.c.id))).toBe(true)
    }).pipe(Effect.scoped, Effect.provide(MemoryCausalLog.layerMemory), Effect.provide(SqliteProjectionStore.layerMemory)))
})

const timeout = { timeout: "60 seconds" } as const

describe("mempool retention (HTTP)", () => {
  layer(Server.layer(), { excludeTestServices: true, ...timeout })((it) => {
    it.effect("answers for an order, its receipt, its batch's receipts and a cancellation after they left memory", () =>
      Effect.gen(function*() {
        const { dataDir } = yield* Server.TestServer
        const key = yield* InstanceKeyFile.loadOrCreate(instanceKeyPath(dataDir))
        let lamport = 0
        const submit = (k: KeyFile, type: MessageType, payload: unknown, nonce: number) =>
          Effect.gen(function*() {
            lamport += 10
            const e = envelope(k, { type, payload, nonce, lamport, deps: [] })
            yield* Server.seed([e])
            return idOf(e)
          })
        const a = yield* submit(alice, "UserOrder", order(1), 101)
        const cancel = yield* submit(alice, "UserOrderCancellation", { orderId: a }, 102)
        const t = Date.now()
        yield* submit(key, "BatchSealed", seal(0, t), 101)
        const settled = (path: string, ok: (json: any) => boolean) => Server.eventually(Server.get(path), (r) => r.status === 200 && ok(r.json))
        const before = (yield* settled(`/v1/mempool/orders/${a}`, (j) => j.status === "cancelled")).json
        const receipt = (yield* Server.get(`/v1/mempool/orders/${a}/receipt`)).json
        const cancelView = (yield* Server.get(`/v1/mempool/orders/${cancel}`)).json
        // A seal past the default retention (in the instance's time) drops them.
        yield* submit(bob, "UserOrder", order(2), 101)
        yield* submit(key, "BatchSealed", seal(1, t + DEFAULT_RETENTION_MS), 102)
        yield* settled("/v1/mempool/batches/1", () => true)
        expect((yield* Server.get(`/v1/mempool/orders/${a}`)).json).toEqual(before)
        expect((yield* Server.get(`/v1/mempool/orders/${a}/receipt`)).json).toEqual(receipt)
        expect((yield* Server.get(`/v1/mempool/orders/${cancel}`)).json).toEqual(cancelView)
        expect((yield* Server.get("/v1/mempool/batches/0/receipts")).json).toEqual({ receipts: [receipt] })
        const stream = yield* Server.get(`/v1/mempool/orders/${a}/events`)
        expect(stream.text).toContain(`"status":"cancelled"`)
      }))
  })
})
