import { describe, expect, layer } from "@effect/vitest"
import { Effect } from "effect"
import * as InstanceKeyFile from "../../src/adapters/files/InstanceKeyFile.ts"
import { instanceKeyPath } from "../../src/Config.ts"
import { idOf } from "../../src/domain/Envelope.ts"
import type { KeyFile } from "../../src/domain/Keys.ts"
import { commitmentOf } from "../../src/domain/mempool/OrderBytes.ts"
import { verifyReceiptSignature } from "../../src/domain/mempool/Receipt.ts"
import type { MessageType } from "../../src/domain/MessageTypes.ts"
import type { MessageId } from "../../src/domain/Primitives.ts"
import { envelope, testKey } from "../support/fixtures.ts"
import * as Server from "../http/support/server.ts"
import { order, salt } from "./support.ts"

const timeout = { timeout: "60 seconds" } as const
const alice = testKey("http-alice")
const bob = testKey("http-bob")

describe("mempool HTTP API", () => {
  layer(Server.layer(), { excludeTestServices: true, ...timeout })((it) => {
    it.effect("serves status, receipts, batches, pending orders, processing order and the fairness check", () =>
      Effect.gen(function*() {
        const { dataDir } = yield* Server.TestServer
        const instance = yield* InstanceKeyFile.loadOrCreate(instanceKeyPath(dataDir))
        let lamport = 0
        const nonces = new Map<string, number>()
        const submit = (key: KeyFile, type: MessageType, payload: unknown, deps: ReadonlyArray<string> = []) =>
          Effect.gen(function*() {
            const nonce = (nonces.get(key.publicKey) ?? 100) + 1
            nonces.set(key.publicKey, nonce)
            lamport += 10
            const e = envelope(key, { type, payload, nonce, lamport, deps: [...deps].sort() as Array<MessageId> })
            const [r] = yield* Server.seed([e])
            return { id: idOf(e), offset: r!.offset }
          })
        const a = yield* submit(alice, "UserOrder", order(1))
        const c = yield* submit(bob, "OrderCommitment", { commitment: commitmentOf(order(2), salt("http")) })
        const b = yield* submit(alice, "UserOrder", order(3, "BTC-USDC"))
        const settled = (path: string, ok: (json: any) => boolean) => Server.eventually(Server.get(path), (r) => r.status === 200 && ok(r.json))

        expect((yield* Server.get("/v1/mempool/orders/xyz")).json._tag).toBe("InvalidRequest")
        const missing = yield* Server.get(`/v1/mempool/orders/${"ab".repeat(32)}`)
        expect([missing.status, missing.json._tag]).toEqual([404, "OrderNotFound"])
        const unsealed = yield* Server.get("/v1/mempool/batches/0")
        expect([unsealed.status, unsealed.json._tag]).toEqual([404, "BatchNotFound"])
        const view = yield* settled(`/v1/mempool/orders/${b.id}`, () => true)
        expect(view.json).toMatchObject({ kind: "order", mode: "plain", status: "committed", batch: 0, position: 2, order: null })

        // The open batch lists ids and modes in position order, never content; no sealer runs here.
        const openBefore = yield* settled("/v1/mempool/open", (j) => j.count === 3)
        expect(openBefore.json).toMatchObject({
          batch: 0,
          count: 3,
          entries: [{ id: a.id, position: 0, mode: "plain" }, { id: c.id, position: 1, mode: "commit" }, { id: b.id, position: 2, mode: "plain" }],
          previousSealedAt: null,
          windowMs: null,
          sealNotBefore: null
        })
        expect(JSON.stringify(openBefore.json)).not.toContain("ETH-USDC")

        // The instance seals (here by hand: this server runs no sealer).
        const sealedAt = Date.now()
        const seal = yield* submit(instance, "BatchSealed", { batch: 0, sealedAt, beaconRound: null })
        const batch = yield* settled("/v1/mempool/batches/0", () => true)
        const openAfter = (yield* Server.get("/v1/mempool/open")).json
        expect(openAfter).toMatchObject({ batch: 1, count: 0, entries: [], previousSealedAt: sealedAt, sealNotBefore: null })
        expect(openAfter.offset).toBeGreaterThan(seal.offset)
        expect(batch.json).toMatchObject({ batch: 0, sealId: seal.id, count: 3 })
        const reveal = yield* submit(bob, "OrderReveal", { commitmentId: c.id, order: order(2), salt: salt("http") }, [seal.id])
        yield* settled(`/v1/mempool/orders/${c.id}`, (j) => j.status === "revealed")
        const revealView = yield* Server.get(`/v1/mempool/orders/${reveal.id}`)
        expect(revealView.json).toMatchObject({ kind: "message", type: "OrderReveal", accepted: true, target: c.id })
        const noReceipt = yield* Server.get(`/v1/mempool/orders/${reveal.id}/receipt`)
        expect([noReceipt.status, noReceipt.json._tag]).toEqual([404, "NoReceipt"])

        const receipt = (yield* Server.get(`/v1/mempool/orders/${c.id}/receipt`)).json
        expect(receipt).toMatchObject({ orderId: c.id, batch: 0, position: 1, offset: c.offset, instance: instance.publicKey })
        expect(verifyReceiptSignature(receipt)).toBe(true)
        const receipts = (yield* Server.get("/v1/mempool/batches/0/receipts")).json.receipts
        expect(receipts.map((r: { orderId: string }) => r.orderId)).toEqual([a.id, c.id, b.id])
        expect(receipts[1]).toEqual(receipt)
        expect((yield* Server.get("/v1/mempool/batches/0/receipts?from=2&limit=1")).json.receipts.map((r: { orderId: string }) => r.orderId)).toEqual([b.id])

        const pending = (q: string) => Server.get(`/v1/mempool/orders${q}`).pipe(Effect.map((r) => r.json.orders?.map((o: { id: string }) => o.id)))
        expect(yield* pending("")).toEqual([a.id, c.id, b.id])
        expect(yield* pending("?market=BTC-USDC")).toEqual([b.id])
        expect(yield* pending("?chain=eth&limit=2")).toEqual([a.id, c.id])
        expect(yield* pending("?minAgeMs=3600000")).toEqual([])
        expect((yield* Server.get("/v1/mempool/orders?limit=0")).status).toBe(400)
        expect((yield* Server.get("/v1/mempool/orders?revealedOnly=yes")).status).toBe(400)

        yield* submit(instance, "OrdersMatched", { orderIds: [a.id, c.id] })
        const processing = yield* settled("/v1/mempool/processing", (j) => j.orderIds.length === 2)
        expect(processing.json.orderIds).toEqual([a.id, c.id])
        expect(yield* pending("")).toEqual([b.id])

        const verify = (body: unknown) => Server.request("POST", "/v1/mempool/verify-ordering", { body: JSON.stringify(body), headers: { "content-type": "application/json" } })
        const fair = yield* verify({ processingOrder: processing.json.orderIds, receipts, instanceKey: instance.publicKey })
        expect(fair.json).toEqual({ fair: true, signer: instance.publicKey, processed: 2, receipts: 3 })
        const unfair = yield* verify({ processingOrder: [b.id, a.id], receipts })
        expect(unfair.json).toMatchObject({ fair: false, violations: [{ kind: "OutOfOrder", processed: a.id, after: b.id }] })
        expect((yield* verify({ receipts })).status).toBe(400)
      }))
  })
})
