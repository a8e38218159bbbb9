/**
 * The operators endpoints on a real server (SQLite, the composition root's wiring): intents
 * by id, operator and order (paged), the auction of a batch, refusals, the MEV distribution,
 * and 4xx answers with reasons for bad input. The instance's seals are signed with the
 * server's own instance key, read from its data directory, as Author would sign them.
 */
import { describe, expect, layer } from "@effect/vitest"
import { Effect } from "effect"
import * as InstanceKeyFile from "../../src/adapters/files/InstanceKeyFile.ts"
import { instanceKeyPath } from "../../src/Config.ts"
import { bidCommitment } from "../../src/domain/operators/Auction.ts"
import { intentCommitment } from "../../src/domain/operators/Intents.ts"
import type { KeyFile } from "../../src/domain/Keys.ts"
import type { MessageType } from "../../src/domain/MessageTypes.ts"
import * as Server from "../http/support/server.ts"
import { envelope, testKey } from "../support/fixtures.ts"
import { intent, orderId, salt } from "./support.ts"

const [alice, bob] = ["http-alice", "http-bob"].map((l) => testKey(l)) as [KeyFile, KeyFile]
const nonces = new Map<string, number>()

/** Sign and submit; the id once accepted. */
const submit = (key: KeyFile, type: MessageType, payload: unknown) =>
  Effect.gen(function*() {
    const nonce = (nonces.get(key.publicKey) ?? 0) + 1
    nonces.set(key.publicKey, nonce)
    const [receipt] = yield* Server.seed([envelope(key, { type, payload, nonce })])
    return receipt!.id
  })

const postJson = (path: string, body: unknown) =>
  Server.request("POST", path, { body: typeof body === "string" ? body : JSON.stringify(body), headers: { "content-type": "application/json" } })

/** Wait until the operators projection has folded the whole log. */
const settled = Effect.gen(function*() {
  const end = (yield* Server.get("/v1/projections/log-index")).json.offset as number
  yield* Server.eventually(Server.get("/v1/projections"), (r) => r.json.find((p: { name: string }) => p.name === "operators")?.offset >= end)
})

const T = 1_700_000_000_000

describe("operators HTTP", () => {
  layer(Server.layer(), { excludeTestServices: true, timeout: "60 seconds" })((it) => {
    it.effect("serves intents, auctions, refusals and distributions, and answers bad input with 4xx and a reason", () =>
      Effect.gen(function*() {
        const { dataDir } = yield* Server.TestServer
        const instance = yield* InstanceKeyFile.loadOrCreate(instanceKeyPath(dataDir))
        let batch = 0
        const seal = (sealedAt: number) => submit(instance, "BatchSealed", { batch: batch++, sealedAt, beaconRound: null })
        // Intents count only from registered operators.
        for (const k of [alice, bob]) expect((yield* postJson("/v1/operators", { operator: k.publicKey })).status).toBe(201)
        nonces.set(instance.publicKey, 2) // the server's Author signed the two registrations with the instance key

        const a = yield* submit(alice, "ComputationIntent", intent([1, 2], T, T + 60_000))
        const b = yield* submit(bob, "ComputationIntent", intent([2], T, T + 60_000))
        const bobBody = intent([3], T, T + 60_000)
        const c = yield* submit(bob, "IntentCommitment", { commitment: intentCommitment(bob.publicKey, bobBody, salt("h")) })
        yield* submit(bob, "IntentReveal", { commitmentId: c, intent: bobBody, salt: salt("h") })
        const aBid = yield* submit(alice, "AuctionBidCommitment", { batch: 0, commitment: bidCommitment(alice.publicKey, 0, 10n, salt("ab")) })
        const bBid = yield* submit(bob, "AuctionBidCommitment", { batch: 0, commitment: bidCommitment(bob.publicKey, 0, 12n, salt("bb")) })
        const early = yield* submit(bob, "AuctionBidReveal", { commitmentId: bBid, amount: "12", salt: salt("bb") })
        yield* seal(T + 1000)
        yield* submit(alice, "AuctionBidReveal", { commitmentId: aBid, amount: "10", salt: salt("ab") })
        yield* submit(bob, "AuctionBidReveal", { commitmentId: bBid, amount: "12", salt: salt("bb") })
        yield* seal(T + 2000)
        yield* settled

        // One intent.
        const one = yield* Server.get(`/v1/operators/intents/${b}`)
        expect(one.status).toBe(200)
        expect(one.json).toMatchObject({ id: b, operator: bob.publicKey, status: "refused", conflictWith: a, settledInBatch: 0, orderIds: [orderId(2)] })
        expect(one.json.reason).toContain(`order ${orderId(2)} is held by`)
        expect((yield* Server.get(`/v1/operators/intents/${c}`)).json).toMatchObject({ via: "commit-reveal", status: "held", heldFrom: T + 1000, windowEnd: T + 60_000 })

        // By operator, paged; by order.
        const page1 = yield* Server.get(`/v1/operators/intents?operator=${bob.publicKey}&limit=1`)
        expect(page1.status).toBe(200)
        expect(page1.json.logTime).toMatchObject({ now: T + 2000, openBatch: 2 })
        expect(page1.json.intents.map((i: { id: string }) => i.id)).toEqual([b])
        const page2 = yield* Server.get(`/v1/operators/intents?operator=${bob.publicKey}&limit=1&fromOffset=${page1.json.next}`)
        expect(page2.json).toMatchObject({ intents: [{ id: c }], next: null })
        const byOrder = yield* Server.get(`/v1/operators/intents?order=${orderId(2)}`)
        expect(byOrder.json.intents.map((i: { id: string; status: string }) => [i.id, i.status])).toEqual([[a, "held"], [b, "refused"]])
        expect((yield* Server.get(`/v1/operators/intents?order=${orderId(9)}`)).json.intents).toEqual([])

        // The auction of batch 0, and a refused early reveal.
        const auction = yield* Server.get("/v1/operators/auctions/0")
        expect(auction.status).toBe(200)
        expect(auction.json).toMatchObject({ batch: 0, phase: "settled", winner: { bid: bBid, bidder: bob.publicKey, amount: "12" } })
        expect(auction.json.bids.map((x: { id: string; status: string }) => [x.id, x.status])).toEqual([[aBid, "revealed"], [bBid, "revealed"]])
        const refusal = yield* Server.get(`/v1/operators/refusals/${early}`)
        expect(refusal.json).toMatchObject({ id: early, type: "AuctionBidReveal" })
        expect(refusal.json.reason).toMatch(/still open/)

        // Distribution.
        const dist = yield* postJson("/v1/operators/mev-distribution", {
          extracted: "100",
          participants: [{ id: "c", weight: "1" }, { id: "a", weight: "1" }, { id: "b", weight: "1" }]
        })
        expect(dist.status).toBe(200)
        expect(dist.json).toEqual({
          extracted: "100",
          totalWeight: "3",
          shares: [{ id: "c", weight: "1", share: "33" }, { id: "a", weight: "1", share: "34" }, { id: "b", weight: "1", share: "33" }]
        })
        const huge = yield* postJson("/v1/operators/mev-distribution", { extracted: (1n << 255n).toString(), participants: [{ id: "x", weight: "3" }, { id: "y", weight: "7" }] })
        expect(huge.json.shares.reduce((s: bigint, x: { share: string }) => s + BigInt(x.share), 0n)).toBe(1n << 255n)

        // Bad input: 4xx with a reason.
        const bad: Array<[Effect.Effect<Server.Reply, never, Server.TestServer>, number, RegExp]> = [
          [Server.get(`/v1/operators/intents/${"ab".repeat(31)}`), 400, /./],
          [Server.get(`/v1/operators/intents/${orderId(7)}`), 404, /no intent/],
          [Server.get("/v1/operators/intents"), 400, /exactly one of/],
          [Server.get(`/v1/operators/intents?operator=${bob.publicKey}&order=${orderId(2)}`), 400, /exactly one of/],
          [Server.get("/v1/operators/intents?operator=XYZ"), 400, /./],
          [Server.get(`/v1/operators/intents?operator=${bob.publicKey}&limit=0`), 400, /./],
          [Server.get(`/v1/operators/intents?operator=${bob.publicKey}&limit=1001`), 400, /./],
          [Server.get("/v1/operators/auctions/-1"), 400, /./],
          [Server.get("/v1/operators/auctions/1"), 404, /sealed without a bid/],
          [Server.get("/v1/operators/auctions/2"), 404, /open and has no bid/],
          [Server.get("/v1/operators/auctions/9"), 404, /not open yet/],
          [Server.get(`/v1/operators/refusals/${a}`), 404, /no refusal/],
          [postJson("/v1/operators/mev-distribution", { extracted: "1.5", participants: [{ id: "a", weight: "1" }] }), 400, /./],
          [postJson("/v1/operators/mev-distribution", { extracted: "-1", participants: [{ id: "a", weight: "1" }] }), 400, /./],
          [postJson("/v1/operators/mev-distribution", { extracted: 5, participants: [{ id: "a", weight: "1" }] }), 400, /./],
          [postJson("/v1/operators/mev-distribution", { extracted: "5", participants: [] }), 400, /./],
          [postJson("/v1/operators/mev-distribution", { extracted: "5" }), 400, /./],
          [postJson("/v1/operators/mev-distribution", "{not json"), 400, /./],
          [postJson("/v1/operators/mev-distribution", { extracted: "5", participants: [{ id: "a", weight: "1" }, { id: "a", weight: "2" }] }), 422, /more than once/],
          [postJson("/v1/operators/mev-distribution", { extracted: "5", participants: [{ id: "a", weight: "0" }] }), 422, /sum to zero/]
        ]
        for (const [req, status, reason] of bad) {
          const r = yield* req
          expect(r.status, r.text).toBe(status)
          expect(typeof r.json?.reason, r.text).toBe("string")
          expect(r.json.reason, r.text).toMatch(reason)
        }
      }))
  })
})

describe("the operator registry over HTTP", () => {
  layer(Server.layer(), { excludeTestServices: true, timeout: "60 seconds" })((it) => {
    it.effect("lists, registers and removes operators; ingest refuses a non-operator's proposals, reports and intents with 403 and logs nothing; the instance's own key counts", () =>
      Effect.gen(function*() {
        const { dataDir } = yield* Server.TestServer
        const instance = yield* InstanceKeyFile.loadOrCreate(instanceKeyPath(dataDir))
        const [carol, mallory] = ["http-carol", "http-mallory"].map((l) => testKey(l)) as [KeyFile, KeyFile]
        const sent = new Map<string, number>()
        const send = (key: KeyFile, type: MessageType, payload: unknown) => {
          const nonce = (sent.get(key.publicKey) ?? 0) + 1
          sent.set(key.publicKey, nonce)
          return Server.post(envelope(key, { type, payload, nonce, lamport: 1000 + nonce }))
        }
        const logEnd = Effect.map(Server.get("/v1/projections/log-index"), (r) => r.json.offset as number)
        const empty = yield* Server.get("/v1/operators")
        expect(empty.json).toMatchObject({ operators: [], instanceCounts: true, maxOpenIntents: 64 })

        // Junk from an unregistered key: 403 with a reason, nothing appended.
        const before = yield* logEnd
        const proposal = { orders: [{ orderId: orderId(1), amountIn: "1", amountOut: "1" }] }
        for (const [type, payload] of [
          ["MatchProposal", proposal],
          ["FillReport", { proposalId: orderId(2), orderId: orderId(1), chain: "eth", txHash: "aa" }],
          ["ComputationIntent", intent([1], T, T + 60_000)],
          ["IntentCommitment", { commitment: salt("m") }]
        ] as const) {
          const r = yield* send(mallory, type, payload)
          expect([r.status, r.json?._tag, r.json?.type], r.text).toEqual([403, "OperatorNotRegistered", type])
          expect(r.json.reason).toMatch(/registered \(POST \/v1\/operators\)/)
        }
        expect(yield* logEnd).toBe(before)

        // Registered: listed, and its intent is taken.
        expect((yield* postJson("/v1/operators", { operator: "XYZ" })).status).toBe(400)
        const registered = yield* postJson("/v1/operators", { operator: carol.publicKey, name: "carol" })
        expect([registered.status, registered.json.operator], registered.text).toEqual([201, carol.publicKey])
        const listed = yield* Server.get("/v1/operators")
        expect(listed.json.operators).toEqual([{ operator: carol.publicKey, name: "carol", messageId: registered.json.id, messageOffset: registered.json.offset, since: registered.json.offset }])
        expect((yield* send(carol, "ComputationIntent", intent([1], T, T + 60_000))).status).toBe(201)


        // Removed: refused from then on; removing it again is 404.
        const removed = yield* Server.request("DELETE", `/v1/operators?key=${carol.publicKey}`)
        expect([removed.status, removed.json.operator], removed.text).toEqual([200, carol.publicKey])
        expect((yield* Server.get("/v1/operators")).json.operators).toEqual([])
        const after = yield* send(carol, "ComputationIntent", intent([2], T, T + 60_000))
        expect([after.status, after.json?._tag]).toEqual([403, "OperatorNotRegistered"])
        const again = yield* Server.request("DELETE", `/v1/operators?key=${carol.publicKey}`)
        expect([again.status, again.json?._tag]).toEqual([404, "OperatorNotFound"])

        // The instance's own key is an operator without registration (the Quick start's single
        // operator). Last: a nonce this high would get ahead of the server's own Author.
        const own = yield* Server.post(envelope(instance, { type: "MatchProposal", payload: proposal, nonce: 1000, lamport: 5000 }))
        expect(own.status, own.text).toBe(201)
      }))
  })
})
