import { describe, expect, layer } from "@effect/vitest"
import { Effect, Layer } from "effect"
import * as MemoryCausalLog from "../../src/adapters/storage/MemoryCausalLog.ts"
import * as NodeCryptoSignatureVerifier from "../../src/adapters/signatures/NodeCryptoSignatureVerifier.ts"
import * as SqliteProjectionStore from "../../src/adapters/storage/SqliteProjectionStore.ts"
import { canonicalize } from "../../src/domain/CanonicalJson.ts"
import { type Envelope, idOf } from "../../src/domain/Envelope.ts"
import type { MessageId } from "../../src/domain/Primitives.ts"
import * as InstanceKeyFile from "../../src/adapters/files/InstanceKeyFile.ts"
import { servicesLayer } from "../../src/main.ts"
import { CausalLog, CausalLogError } from "../../src/ports/CausalLog.ts"
import * as ProjectionRunner from "../../src/projections/ProjectionRunner.ts"
import * as Ingest from "../../src/services/Ingest.ts"
import { envelope, healthPayload, testKey } from "../support/fixtures.ts"
import * as Server from "./support/server.ts"

const MiB = 1024 * 1024

/** A flipped first signature byte: still hex of the right length, no longer valid. */
const badSig = (e: Envelope): Envelope => ({ ...e, sig: (e.sig.startsWith("00") ? "01" : "00") + e.sig.slice(2) } as Envelope)

const expectError = (r: Server.Reply, status: number, tag: string) => {
  expect(r.status, r.text).toBe(status)
  expect(r.headers.get("content-type")).toMatch(/^application\/json/)
  expect(r.json._tag, r.text).toBe(tag)
  expect(typeof r.json.reason).toBe("string")
  expect(r.json.reason.length).toBeGreaterThan(0)
}

const timeout = { timeout: "60 seconds" } as const

describe("POST /v1/messages", () => {
  layer(
    Server.layer({
      ingest: { maxMessageBytes: 1024, maxBatch: 8, pendingTimeoutMs: 100, rate: { ratePerSec: 1, burst: 20 } }
    }),
    { excludeTestServices: true, ...timeout }
  )((it) => {
    it.effect("accepts one envelope: 201 with its receipt", () =>
      Effect.gen(function*() {
        const e = envelope(testKey("single"), { lamport: 7 })
        const r = yield* Server.post(e)
        expect(r.status, r.text).toBe(201)
        expect(r.json).toEqual({ id: idOf(e), offset: expect.any(Number), lamport: 7 })
        const stored = yield* Server.get(`/v1/messages/${idOf(e)}`)
        expect(stored.status).toBe(200)
        expect(stored.json).toEqual({
          offset: r.json.offset,
          id: idOf(e),
          lamport: 7,
          type: "NetworkHealth",
          sender: e.sender,
          nonce: 1,
          deps: [],
          envelope: JSON.parse(canonicalize(e))
        })
      }))

    it.effect("answers every rejection with its status, tag and reason, and appends nothing", () =>
      Effect.gen(function*() {
        const k = testKey("rejections")
        const first = envelope(k, { nonce: 10, lamport: 3 })
        expect((yield* Server.post(first)).status).toBe(201)
        const { json: before } = yield* Server.get("/v1/projections")
        const cases: Array<[unknown, number, string]> = [
          [{ ...first, extra: 1 }, 400, "MalformedMessage"],
          [{ ...first, nonce: "10" }, 400, "MalformedMessage"],
          [[1, 2, 3], 200, "batch"], // a batch: checked below
          [envelope(k, { v: 2, nonce: 11 }), 400, "UnsupportedProtocol"],
          [envelope(k, { type: "Teleport", nonce: 11 }), 400, "UnknownMessageType"],
          [badSig(envelope(k, { nonce: 11 })), 401, "InvalidSignature"],
          [first, 409, "DuplicateMessage"],
          [envelope(k, { nonce: 10, lamport: 9 }), 409, "NonceReplayed"],
          [envelope(k, { nonce: 11, expiry: 1 }), 410, "MessageExpired"],
          [envelope(k, { nonce: 11, lamport: 10_000_000 }), 400, "InvalidLamport"],
          [envelope(k, { nonce: 11, lamport: 3, deps: [idOf(first)] }), 400, "InvalidLamport"],
          [envelope(k, { nonce: 11, lamport: 4, payload: healthPayload(2) }), 201, "ok"],
          [envelope(k, { nonce: 13, deps: ["ab".repeat(32) as MessageId] }), 424, "UnknownDependencies"]
        ]
        for (const [body, status, tag] of cases) {
          const r = yield* Server.post(body)
          if (tag === "batch") {
            expect(r.status).toBe(200)
            expect(r.json.results.map((x: any) => [x.ok, x.status, x.error._tag])).toEqual([
              [false, 400, "MalformedMessage"],
              [false, 400, "MalformedMessage"],
              [false, 400, "MalformedMessage"]
            ])
          } else if (tag === "ok") {
            expect(r.status, r.text).toBe(201)
          } else {
            expectError(r, status, tag)
          }
        }
        // the unknown dependency is named in the rejection
        const held = yield* Server.post(envelope(k, { nonce: 14, deps: ["cd".repeat(32) as MessageId] }))
        expect(held.json.missing).toEqual(["cd".repeat(32)])
        const { json: after } = yield* Server.eventually(Server.get("/v1/projections"), (r) => r.json[0].offset === before[0].offset + 1)
        expect(after[0].offset).toBe(before[0].offset + 1) // only the one valid envelope
      }))

    it.effect("rejects an envelope over maxMessageBytes with 413 MessageTooLarge", () =>
      Effect.gen(function*() {
        // 20 dependencies take the canonical envelope past the 1 KiB limit of this server
        const deps = Array.from({ length: 20 }, (_, i) => i.toString(16).padStart(64, "0") as MessageId)
        const r = yield* Server.post(envelope(testKey("big"), { deps }))
        expectError(r, 413, "MessageTooLarge")
        expect(r.json.limit).toBe(1024)
      }))

    it.effect("rate limits a sender: 429 with retryAfterMs", () =>
      Effect.gen(function*() {
        const k = testKey("chatty")
        const batch = yield* Server.post(Array.from({ length: 8 }, (_, i) => envelope(k, { nonce: i + 1 })))
        expect(batch.status).toBe(200)
        const singles = yield* Effect.forEach(Array.from({ length: 14 }, (_, i) => envelope(k, { nonce: 100 + i })), (e) => Server.post(e))
        const limited = singles.filter((r) => r.status === 429)
        expect(limited.length).toBeGreaterThan(0)
        expectError(limited[0] as Server.Reply, 429, "RateLimited")
        expect((limited[0] as Server.Reply).json.retryAfterMs).toBeGreaterThan(0)
      }))

    it.effect("a batch answers 200 with one result per envelope, in order", () =>
      Effect.gen(function*() {
        const k = testKey("batch")
        const a = envelope(k, { nonce: 1, lamport: 1 })
        const b = envelope(k, { nonce: 2, lamport: 2, deps: [idOf(a)] })
        const r = yield* Server.post([a, { junk: true }, b, a, badSig(envelope(k, { nonce: 3 }))])
        expect(r.status, r.text).toBe(200)
        const results = r.json.results
        expect(results).toHaveLength(5)
        expect(results[0]).toEqual({ ok: true, receipt: { id: idOf(a), offset: expect.any(Number), lamport: 1 } })
        expect(results[1]).toMatchObject({ ok: false, status: 400, error: { _tag: "MalformedMessage" } })
        expect(results[2]).toEqual({ ok: true, receipt: { id: idOf(b), offset: results[0].receipt.offset + 1, lamport: 2 } })
        expect(results[3]).toMatchObject({ ok: false, status: 409, error: { _tag: "DuplicateMessage", id: idOf(a) } })
        expect(results[4]).toMatchObject({ ok: false, status: 401, error: { _tag: "InvalidSignature" } })
        for (const x of results.filter((x: any) => !x.ok)) expect(typeof x.error.reason).toBe("string")
      }))

    it.effect("refuses an empty batch (400) and one over maxBatch (413)", () =>
      Effect.gen(function*() {
        expectError(yield* Server.post([]), 400, "MalformedMessage")
        const k = testKey("too-many")
        const r = yield* Server.post(Array.from({ length: 9 }, (_, i) => envelope(k, { nonce: i + 1 })))
        expectError(r, 413, "BatchTooLarge")
        expect(r.json).toMatchObject({ size: 9, limit: 8 })
      }))

    it.effect("refuses bodies that are not JSON, not sent as JSON, or too large", () =>
      Effect.gen(function*() {
        expectError(yield* Server.post("{\"v\":1,"), 400, "MalformedMessage")
        expectError(yield* Server.post("not json"), 400, "MalformedMessage")
        expectError(yield* Server.post(""), 400, "MalformedMessage")
        expectError(yield* Server.post("{}", "text/plain"), 415, "UnsupportedMediaType")
        expectError(yield* Server.post("{}", "application/x-www-form-urlencoded"), 415, "UnsupportedMediaType")
        expectError(yield* Server.request("POST", "/v1/messages", { body: new TextEncoder().encode("{}") }), 415, "UnsupportedMediaType")
        expect((yield* Server.post({}, "application/json; charset=utf-8")).status).toBe(400) // accepted as JSON, then malformed
        const huge = JSON.stringify({ pad: "x".repeat(8 * MiB) })
        const r = yield* Server.post(huge)
        expectError(r, 413, "BodyTooLarge")
        expect(r.json.limit).toBe(8 * MiB)
        // a body just under the cap is read (and then refused for what it is)
        expectError(yield* Server.post(JSON.stringify({ pad: "x".repeat(8 * MiB - 100) })), 400, "MalformedMessage")
        expect((yield* Server.get("/healthz")).status).toBe(200)
      }))
  })

  // A log whose storage fails on append and reads: the server answers 503, never 500.
  const failing = (operation: string) => Effect.fail(new CausalLogError({ operation, cause: new Error("disk on fire") }))
  const brokenLog = Layer.effect(
    CausalLog,
    MemoryCausalLog.make.pipe(Effect.map((log) => ({
      ...log,
      append: () => failing("append"),
      get: () => failing("get"),
      readCausal: () => failing("readCausal"),
      dependents: () => failing("dependents")
    })))
  )
  const brokenCore = (config: { readonly ingest: Ingest.IngestOptions }, runner: ProjectionRunner.RunnerOptions) =>
    servicesLayer(config.ingest, runner).pipe(
      Layer.provideMerge(Layer.mergeAll(brokenLog, SqliteProjectionStore.layerMemory, NodeCryptoSignatureVerifier.layer, InstanceKeyFile.layerKey(testKey("instance"))))
    )

  layer(Server.layer({ core: brokenCore }), { excludeTestServices: true, ...timeout })((it) => {
    it.effect("answers 503 StorageUnavailable when the log's storage fails", () =>
      Effect.gen(function*() {
        const e = envelope(testKey("unlucky"))
        expectError(yield* Server.post(e), 503, "StorageUnavailable")
        const batch = yield* Server.post([e])
        expect(batch.status).toBe(200)
        expect(batch.json.results[0]).toMatchObject({ ok: false, status: 503, error: { _tag: "StorageUnavailable" } })
        expectError(yield* Server.get(`/v1/messages/${idOf(e)}`), 503, "StorageUnavailable")
        expectError(yield* Server.get("/v1/messages"), 503, "StorageUnavailable")
        expectError(yield* Server.get(`/v1/messages/${idOf(e)}/dependents`), 503, "StorageUnavailable")
        expect((yield* Server.get("/healthz")).status).toBe(200)
      }))
  })
})

describe("GET /v1/messages", () => {
  layer(Server.layer(), { excludeTestServices: true, ...timeout })((it) => {
    const k = testKey("reader")
    const j = testKey("joiner", "secp256k1")
    const a = envelope(k, { nonce: 1, lamport: 5 })
    const b = envelope(j, { nonce: 1, lamport: 2 })
    const c = envelope(k, { nonce: 2, lamport: 6, deps: [idOf(a)] })
    const d = envelope(j, { nonce: 2, lamport: 9, deps: [idOf(a), idOf(c)].sort() as Array<MessageId> })
    const seeded = Server.seed([a, b, c, d])

    it.effect("reads a record by id; 404 for an unknown id; 400 for a malformed one", () =>
      Effect.gen(function*() {
        const receipts = yield* seeded
        const r = yield* Server.get(`/v1/messages/${idOf(c)}`)
        expect(r.status).toBe(200)
        expect(r.json).toMatchObject({ offset: receipts[2]?.offset, id: idOf(c), lamport: 6, nonce: 2, deps: [idOf(a)], sender: k.publicKey })
        expect(r.json.envelope).toEqual(c)
        const unknown = "f".repeat(64)
        const missing = yield* Server.get(`/v1/messages/${unknown}`)
        expectError(missing, 404, "MessageNotFound")
        expect(missing.json.id).toBe(unknown)
        for (const bad of ["abc", "F".repeat(64), "f".repeat(63), "f".repeat(65), "g".repeat(64), "%20", "x".repeat(5000)]) {
          expectError(yield* Server.get(`/v1/messages/${bad}`), 400, "InvalidRequest")
        }
      }))

    it.effect("lists records in causal order, from a Lamport time, with a limit", () =>
      Effect.gen(function*() {
        const all = yield* Server.get("/v1/messages")
        expect(all.status).toBe(200)
        const ids = all.json.map((r: any) => r.id)
        const lamports = all.json.map((r: any) => r.lamport)
        expect(lamports).toEqual([...lamports].sort((x: number, y: number) => x - y))
        expect(ids).toEqual(expect.arrayContaining([idOf(a), idOf(b), idOf(c), idOf(d)]))
        const from = yield* Server.get("/v1/messages?fromLamport=6")
        expect(from.json.map((r: any) => r.lamport)).toEqual([6, 9])
        const limited = yield* Server.get("/v1/messages?fromLamport=0&limit=2")
        expect(limited.json.map((r: any) => r.id)).toEqual([idOf(b), idOf(a)])
        expect((yield* Server.get("/v1/messages?limit=1000")).status).toBe(200)
      }))

    it.effect("refuses bad query parameters with 400", () =>
      Effect.gen(function*() {
        for (const q of ["limit=0", "limit=1001", "limit=abc", "limit=", "limit=1.5", "limit=-1", "limit=1e2", "limit=%201", "fromLamport=-1", "fromLamport=1.5", "fromLamport=x", "fromLamport=99999999999999999999", "limit=1&limit=2"]) {
          const r = yield* Server.get(`/v1/messages?${q}`)
          expectError(r, 400, "InvalidRequest")
        }
      }))

    it.effect("lists the dependents of a record", () =>
      Effect.gen(function*() {
        const r = yield* Server.get(`/v1/messages/${idOf(a)}/dependents`)
        expect(r.status).toBe(200)
        expect(r.json.map((x: any) => x.id)).toEqual([idOf(c), idOf(d)])
        expect((yield* Server.get(`/v1/messages/${idOf(d)}/dependents`)).json).toEqual([])
        expectError(yield* Server.get("/v1/messages/nothex/dependents"), 400, "InvalidRequest")
      }))
  })
})
