/**
 * The OpenAPI document says what the server really does. /openapi.json is the document
 * generated from the contract; every operation follows the documentation conventions of
 * src/adapters/http/Api.ts; and real requests that produce each non-2xx status of a
 * representative set of operations (the handlers' errors, the edge's 400, 413, 415, 500 and
 * 503, the Kafka stand-in's 503) are answered with a status the operation declares and a
 * body of the schema declared for it.
 */
import { createServer } from "node:net"
import { describe, expect, it, layer } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { OpenApi } from "effect/http-api"
import * as ConnectingProbeServer from "../../src/adapters/kafka/ConnectingProbeServer.ts"
import * as InstanceKeyFile from "../../src/adapters/files/InstanceKeyFile.ts"
import * as MemoryCausalLog from "../../src/adapters/storage/MemoryCausalLog.ts"
import * as NodeCryptoSignatureVerifier from "../../src/adapters/signatures/NodeCryptoSignatureVerifier.ts"
import * as SqliteProjectionStore from "../../src/adapters/storage/SqliteProjectionStore.ts"
import { Api } from "../../src/adapters/http/Api.ts"
import { defaultServeConfig } from "../../src/Config.ts"
import { type Envelope, idOf } from "../../src/domain/Envelope.ts"
import { messageTypes } from "../../src/domain/MessageTypes.ts"
import type { MessageId } from "../../src/domain/Primitives.ts"
import { servicesLayer } from "../../src/main.ts"
import { CausalLog, CausalLogError } from "../../src/ports/CausalLog.ts"
import type * as ProjectionRunner from "../../src/projections/ProjectionRunner.ts"
import type * as Ingest from "../../src/services/Ingest.ts"
import { envelope, testKey } from "../support/fixtures.ts"
import { mismatch, operationOf, operations, resolve } from "./support/openapiDocument.ts"
import * as Server from "./support/server.ts"

const doc = OpenApi.fromApi(Api)
const timeout = { timeout: "60 seconds" } as const

const MAX_BODY = 64 * 1024
const MAX_JSON_BODY = 4096

/**
 * The reply's status is declared for the operation the request reached, and its body has the
 * schema declared for that status; an error body carries `_tag` and `reason`.
 */
const expectDeclared = (method: string, url: string, r: Server.Reply, expected: { readonly status: number; readonly tag?: string }) => {
  const path = url.split("?")[0] as string
  const found = operationOf(doc, method, path)
  expect(found, `${method} ${path} is an operation of the document`).toBeDefined()
  if (found === undefined) return
  expect(r.status, `${method} ${url}: ${r.text.slice(0, 300)}`).toBe(expected.status)
  const response = (found.op.responses as Record<string, { content?: Record<string, { schema: object }> }>)[String(r.status)]
  expect(response, `${found.op.operationId} declares ${r.status}`).toBeDefined()
  const schema = response?.content?.["application/json"]?.schema
  expect(schema, `${found.op.operationId} ${r.status} has a JSON body`).toBeDefined()
  if (schema === undefined) return
  expect(mismatch(doc, schema, r.json), `${found.op.operationId} ${r.status} body ${r.text.slice(0, 300)}`).toBeUndefined()
  if (r.status >= 400) {
    expect(r.json._tag).toBe(expected.tag)
    expect(typeof r.json.reason).toBe("string")
    expect(r.json.reason.length).toBeGreaterThan(0)
  }
}

const json = { "content-type": "application/json" }

/** Send a request and check it against the document. */
const check = (method: string, url: string, status: number, tag?: string, init: { readonly body?: string | Uint8Array; readonly headers?: Record<string, string> } = {}) =>
  Effect.gen(function*() {
    const r = yield* Server.request(method, url, init)
    expectDeclared(method, url, r, tag === undefined ? { status } : { status, tag })
    return r
  })

const postJson = (url: string, body: unknown, status: number, tag?: string) =>
  check("POST", url, status, tag, { body: typeof body === "string" ? body : JSON.stringify(body), headers: json })

const randomId = "ab".repeat(32) as MessageId

describe("the OpenAPI document follows the documentation conventions", () => {
  const all = operations(doc)

  it("every operation has a summary, a description and a camelCase operationId", () => {
    expect(all.length).toBeGreaterThan(30)
    for (const { method, template, op } of all) {
      expect(op.summary?.length ?? 0, `${method} ${template} summary`).toBeGreaterThan(0)
      expect(op.description?.length ?? 0, `${method} ${template} description`).toBeGreaterThan(20)
      expect(op.operationId, `${method} ${template} operationId`).toMatch(/^[a-z][a-zA-Z]+$/)
    }
    expect(new Set(all.map((o) => o.op.operationId)).size).toBe(all.length)
    for (const tag of doc.tags) expect(tag.description?.length ?? 0, `tag ${tag.name}`).toBeGreaterThan(0)
  })

  it("every operation declares the edge's statuses that apply to it", () => {
    for (const { method, template, op } of all) {
      const statuses = Object.keys(op.responses)
      const name = `${method} ${template} (${op.operationId})`
      expect(statuses, name).toContain("500")
      if (op.parameters.length > 0 || op.requestBody !== undefined) expect(statuses, name).toContain("400")
      if (op.requestBody !== undefined) expect(statuses, name).toEqual(expect.arrayContaining(["413", "415"]))
      // Only these answer before the log is reached (the Kafka stand-in answers the rest 503).
      if (!["/healthz", "/v1/cluster"].includes(template)) expect(statuses, name).toContain("503")
    }
  })

  it("every error response is JSON with `_tag` and `reason`", () => {
    for (const { op } of all) {
      for (const [status, response] of Object.entries(op.responses)) {
        if (Number(status) < 400) continue
        const schema = response.content?.["application/json"]?.schema
        expect(schema, `${op.operationId} ${status}`).toBeDefined()
        const resolved = resolve(doc, schema as object)
        const members = (resolved["anyOf"] ?? resolved["oneOf"] ?? [resolved]) as Array<object>
        for (const member of members.map((m) => resolve(doc, m))) {
          expect(member["required"], `${op.operationId} ${status}`).toEqual(expect.arrayContaining(["_tag", "reason"]))
          expect(resolve(doc, member["properties"]["_tag"])["enum"]).toHaveLength(1)
        }
      }
    }
  })

  it("submitted and served messages are typed by their type", () => {
    const envelopeSchema = doc.components.schemas["Envelope"] as Record<string, any>
    expect(envelopeSchema["discriminator"]["propertyName"]).toBe("type")
    expect(Object.keys(envelopeSchema["discriminator"]["mapping"]).sort()).toEqual([...messageTypes].sort())
    expect(envelopeSchema["oneOf"]).toHaveLength(messageTypes.length)
    const userOrder = resolve(doc, { $ref: envelopeSchema["discriminator"]["mapping"]["UserOrder"] })
    expect(resolve(doc, userOrder["properties"]["payload"])["required"]).toEqual(expect.arrayContaining(["chain", "market", "side", "amountIn"]))
    expect(JSON.stringify(doc.paths["/v1/messages"]?.post?.requestBody)).toContain("#/components/schemas/Envelope")
    expect(resolve(doc, doc.components.schemas["LogRecord"] as object)["properties"]["envelope"]).toEqual({ $ref: "#/components/schemas/Envelope" })
  })

  it("names the server's default address", () => {
    expect(doc.servers?.[0]?.url).toBe("http://{host}:{port}")
    expect(doc.servers?.[0]?.variables?.["port"]?.default).toBe(String(defaultServeConfig.port))
    expect(doc.servers?.[0]?.variables?.["host"]?.default).toBe(defaultServeConfig.host)
  })
})

describe("real requests get the statuses and bodies the document declares", () => {
  layer(
    Server.layer({
      ingest: { maxMessageBytes: 1024, maxBatch: 4, pendingTimeoutMs: 100, rate: { ratePerSec: 1, burst: 6 } },
      http: { maxBodyBytes: MAX_BODY, maxJsonBodyBytes: MAX_JSON_BODY, maxOrderingBodyBytes: MAX_JSON_BODY }
    }),
    { excludeTestServices: true, ...timeout }
  )((it) => {
    it.effect("/openapi.json is the contract's document", () =>
      Effect.gen(function*() {
        const r = yield* Server.get("/openapi.json")
        expect(r.status).toBe(200)
        expect(r.json).toEqual(JSON.parse(JSON.stringify(doc)))
      }))

    it.effect("messages: every rejection, the edge's 400, 404, 413 and 415", () =>
      Effect.gen(function*() {
        const k = testKey("openapi-messages")
        const first = envelope(k, { nonce: 1, lamport: 1 })
        const accepted = yield* postJson("/v1/messages", first, 201)
        expect(accepted.json.id).toBe(idOf(first))
        yield* check("GET", `/v1/messages/${idOf(first)}`, 200)
        yield* check("GET", "/v1/messages?limit=10", 200)
        yield* check("GET", `/v1/messages/${idOf(first)}/dependents`, 200)
        yield* postJson("/v1/messages", [envelope(k, { nonce: 2, lamport: 2 }), { junk: true }], 200)

        yield* check("POST", "/v1/messages", 415, "UnsupportedMediaType", { body: JSON.stringify(first), headers: { "content-type": "text/plain" } })
        yield* postJson("/v1/messages", "{\"v\":", 400, "MalformedMessage")
        yield* postJson("/v1/messages", envelope(k, { v: 2, nonce: 3 }), 400, "UnsupportedProtocol")
        yield* postJson("/v1/messages", envelope(k, { type: "Teleport", nonce: 3 }), 400, "UnknownMessageType")
        yield* postJson("/v1/messages", envelope(k, { nonce: 3, lamport: 10_000_000 }), 400, "InvalidLamport")
        yield* postJson("/v1/messages", { ...envelope(k, { nonce: 3 }), sig: "00".repeat(64) }, 401, "InvalidSignature")
        yield* postJson("/v1/messages", envelope(k, { type: "ClusterMembersSet", nonce: 3, payload: { members: [randomId] } }), 403, "NotAuthorized")
        yield* postJson("/v1/messages", first, 409, "DuplicateMessage")
        yield* postJson("/v1/messages", envelope(k, { nonce: 1, lamport: 5 }), 409, "NonceReplayed")
        yield* postJson("/v1/messages", envelope(k, { nonce: 3, expiry: 1 }), 410, "MessageExpired")
        const deps = Array.from({ length: 20 }, (_, i) => i.toString(16).padStart(64, "0") as MessageId)
        yield* postJson("/v1/messages", envelope(k, { nonce: 3, deps }), 413, "MessageTooLarge")
        yield* postJson("/v1/messages", JSON.stringify({ pad: "x".repeat(MAX_BODY) }), 413, "BodyTooLarge")
        yield* postJson("/v1/messages", Array.from({ length: 5 }, (_, i) => envelope(k, { nonce: 10 + i })), 413, "BatchTooLarge")
        yield* postJson("/v1/messages", envelope(k, { nonce: 3, deps: [randomId] }), 424, "UnknownDependencies")
        const chatty = testKey("openapi-chatty")
        const replies = yield* Effect.forEach(Array.from({ length: 10 }, (_, i) => envelope(chatty, { nonce: i + 1 })), (e) =>
          Server.post(e))
        const limited = replies.find((r) => r.status === 429)
        expect(limited, "a sender past its burst is rate limited").toBeDefined()
        if (limited !== undefined) expectDeclared("POST", "/v1/messages", limited, { status: 429, tag: "RateLimited" })

        yield* check("GET", "/v1/messages/nothex", 400, "InvalidRequest")
        yield* check("GET", `/v1/messages/${randomId}`, 404, "MessageNotFound")
        yield* check("GET", "/v1/messages?limit=0", 400, "InvalidRequest")
        yield* check("GET", "/v1/messages?fromLamport=-1", 400, "InvalidRequest")
        yield* check("GET", "/v1/messages/xyz/dependents", 400, "InvalidRequest")
        yield* check("GET", "/v1/stream", 400, "InvalidRequest", { headers: { "last-event-id": "soon" } })
        yield* check("GET", "/v1/stream?from=x", 400, "InvalidRequest")
      }))

    it.effect("mempool: not found, bad inputs, and the JSON body's 400, 413 and 415", () =>
      Effect.gen(function*() {
        yield* check("GET", `/v1/mempool/orders/${randomId}`, 404, "OrderNotFound")
        yield* check("GET", `/v1/mempool/orders/${randomId}/receipt`, 404, "OrderNotFound")
        yield* check("GET", "/v1/mempool/orders/xyz", 400, "InvalidRequest")
        yield* check("GET", "/v1/mempool/orders?limit=5000", 400, "InvalidRequest")
        yield* check("GET", "/v1/mempool/orders?revealedOnly=yes", 400, "InvalidRequest")
        yield* check("GET", "/v1/mempool/orders", 200)
        yield* check("GET", "/v1/mempool/batches/7", 404, "BatchNotFound")
        yield* check("GET", "/v1/mempool/batches/seven", 400, "InvalidRequest")
        yield* check("GET", "/v1/mempool/batches/7/receipts", 404, "BatchNotFound")
        yield* check("GET", "/v1/mempool/processing?from=-1", 400, "InvalidRequest")
        yield* postJson("/v1/mempool/verify-ordering", { processingOrder: [], receipts: [] }, 200)
        yield* postJson("/v1/mempool/verify-ordering", { processingOrder: [randomId], receipts: [] }, 200)
        yield* postJson("/v1/mempool/verify-ordering", {}, 400, "InvalidRequest")
        yield* postJson("/v1/mempool/verify-ordering", "{", 400, "InvalidRequest")
        yield* check("POST", "/v1/mempool/verify-ordering", 415, "UnsupportedMediaType", {
          body: JSON.stringify({ processingOrder: [], receipts: [] }),
          headers: { "content-type": "text/plain" }
        })
        const big = JSON.stringify({ processingOrder: Array.from({ length: 200 }, () => randomId), receipts: [] })
        const tooLarge = yield* postJson("/v1/mempool/verify-ordering", big, 413, "BodyTooLarge")
        expect(tooLarge.json.limit).toBe(MAX_JSON_BODY)
      }))

    it.effect("a JSON body streamed past the limit without a length is 413 too", () =>
      Effect.gen(function*() {
        const { base } = yield* Server.TestServer
        const chunk = new TextEncoder().encode(`${JSON.stringify(randomId)},`.repeat(64))
        let sent = 0
        const body = new ReadableStream<Uint8Array>({
          start(c) {
            c.enqueue(new TextEncoder().encode("{\"receipts\":[],\"processingOrder\":["))
          },
          pull(c) {
            if (sent++ < 4) c.enqueue(chunk)
            else {
              c.enqueue(new TextEncoder().encode("\"\"]}"))
              c.close()
            }
          }
        })
        const r = yield* Effect.promise(async (): Promise<Server.Reply> => {
          const response = await fetch(`${base}/v1/mempool/verify-ordering`, { method: "POST", body, headers: json, duplex: "half" } as RequestInit)
          const text = await response.text()
          return { status: response.status, headers: response.headers, text, json: JSON.parse(text) }
        })
        expectDeclared("POST", "/v1/mempool/verify-ordering", r, { status: 413, tag: "BodyTooLarge" })
      }))

    it.effect("operators: not found, the one-of-two query rule, and 422", () =>
      Effect.gen(function*() {
        yield* check("GET", `/v1/operators/intents/${randomId}`, 404, "IntentNotFound")
        yield* check("GET", "/v1/operators/intents", 400, "InvalidRequest")
        yield* check("GET", `/v1/operators/intents?operator=${"cd".repeat(32)}&order=${randomId}`, 400, "InvalidRequest")
        yield* check("GET", `/v1/operators/intents?operator=${"cd".repeat(32)}`, 200)
        yield* check("GET", "/v1/operators/auctions/3", 404, "AuctionNotFound")
        yield* check("GET", "/v1/operators/auctions/x", 400, "InvalidRequest")
        yield* check("GET", `/v1/operators/refusals/${randomId}`, 404, "RefusalNotFound")
        yield* postJson("/v1/operators/mev-distribution", { extracted: "10", participants: [{ id: "a", weight: "1" }, { id: "b", weight: "3" }] }, 200)
        yield* postJson("/v1/operators/mev-distribution", { extracted: "10", participants: [{ id: "a", weight: "0" }] }, 422, "InvalidMevDistribution")
        yield* postJson("/v1/operators/mev-distribution", { extracted: "-1", participants: [] }, 400, "InvalidRequest")
        yield* check("POST", "/v1/operators/mev-distribution", 415, "UnsupportedMediaType", { body: "{}", headers: { "content-type": "application/xml" } })
      }))

    it.effect("chains: an unknown chain and bad inputs", () =>
      Effect.gen(function*() {
        yield* check("GET", "/v1/chains", 200)
        yield* check("GET", "/v1/chains/nowhere", 404, "UnknownChain")
        yield* check("GET", "/v1/chains/nowhere/headers/1", 404, "UnknownChain")
        yield* check("GET", "/v1/chains/nowhere/headers/one", 400, "InvalidRequest")
        yield* check("GET", "/v1/chains/nowhere/watches", 404, "UnknownChain")
        yield* postJson("/v1/chains/nowhere/proofs", { key: "00".repeat(20) }, 404, "UnknownChain")
        yield* postJson("/v1/chains/nowhere/proofs", { height: 1 }, 400, "InvalidRequest")
        yield* postJson("/v1/chains/nowhere/watches", { key: "00".repeat(20) }, 404, "UnknownChain")
        yield* check("DELETE", "/v1/chains/nowhere/watches?key=zz", 400, "InvalidRequest")
        yield* check("DELETE", `/v1/chains/nowhere/watches?key=${"00".repeat(20)}`, 404, "UnknownChain")
        yield* postJson("/v1/chains/nowhere/transactions", { raw: "not hex" }, 400, "InvalidRequest")
        yield* postJson("/v1/chains/nowhere/transactions", { raw: "0x00" }, 404, "UnknownChain")
        yield* check("POST", "/v1/chains/nowhere/transactions", 415, "UnsupportedMediaType", { body: "raw=00", headers: { "content-type": "application/x-www-form-urlencoded" } })
      }))

    it.effect("assets: computed denoms, typed 400s and 404s, a registration's 201", () =>
      Effect.gen(function*() {
        yield* check("GET", "/v1/assets/ibc-denom?path=transfer%2Fchannel-0%2Fuatom", 200)
        yield* check("GET", "/v1/assets/ibc-denom?path=transfer%2Fchannel-0%2F", 400, "InvalidAssetReference")
        yield* check("GET", "/v1/assets/ibc-denom", 400, "InvalidRequest")
        yield* check("GET", "/v1/assets/resolve?source=cosmos%3Ahub-1&target=cosmos%3Aosmo-1&asset=transfer%2Fchannel-0%2Fuatom", 200)
        yield* check("GET", "/v1/assets/resolve?source=hub&target=cosmos%3Aosmo-1&asset=uatom", 400, "InvalidAssetReference")
        yield* check("GET", `/v1/assets/resolve?source=cosmos%3Ahub-1&target=cosmos%3Aosmo-1&asset=ibc%2F${"AB".repeat(32)}`, 404, "UnknownAsset")
        yield* check("GET", "/v1/assets/resolve?source=cosmos%3Ahub-1&target=cosmos%3Aosmo-1&asset=uatom", 404, "NoRoute")
        yield* check("GET", "/v1/assets/mappings", 200)
        yield* postJson("/v1/assets/mappings", { mappings: [{ canonical: { chain: "cosmos:hub-1", id: "slip44:118" }, chain: "cosmos:hub-1", local: "uatom", provider: "native" }] }, 201)
        yield* postJson("/v1/assets/mappings", { mappings: [] }, 400, "InvalidRequest")
        yield* check("POST", "/v1/assets/mappings", 415, "UnsupportedMediaType", { body: "{}", headers: { "content-type": "text/plain" } })
        yield* check("GET", "/v1/registers/nothing-here", 404, "RegisterNotFound")
        yield* check("GET", "/v1/registers/r?since=XYZ", 400, "InvalidRequest")
        yield* check("GET", "/v1/sequences/nothing-here", 404, "SequenceNotFound")
        yield* check("GET", "/v1/sequences/nothing-here/events", 404, "SequenceNotFound")
        yield* check("GET", `/v1/senders/${"ab".repeat(32)}`, 200)
        yield* check("GET", `/v1/senders/02${"ab".repeat(32)}`, 200)
        yield* check("GET", "/v1/senders/not-a-key", 400, "InvalidRequest")
        yield* check("GET", `/v1/senders/${"AB".repeat(32)}`, 400, "InvalidRequest")
      }))

    it.effect("proofs: a list, an unknown commitment's 404, typed 400s; a check needs its scope and a registered key", () =>
      Effect.gen(function*() {
        yield* check("GET", "/v1/proofs", 200)
        yield* check("GET", `/v1/proofs?vk=${"ab".repeat(32)}&computation=x&limit=5`, 200)
        yield* check("GET", "/v1/proofs?vk=AB", 400, "InvalidRequest")
        yield* check("GET", `/v1/proofs/${"0".repeat(64)}`, 404, "ProofNotFound")
        yield* check("GET", "/v1/proofs/not-a-commitment", 400, "InvalidRequest")
        yield* postJson("/v1/proofs/verify", { vkId: "ab".repeat(32), proof: {}, publicInputs: ["1"] }, 404, "VerificationKeyNotFound")
        yield* postJson("/v1/proofs/verify", { vkId: "ab".repeat(32), proof: {}, publicInputs: ["01"] }, 400, "InvalidRequest")
        yield* check("POST", "/v1/proofs/verify", 415, "UnsupportedMediaType", { body: "{}", headers: { "content-type": "text/plain" } })
      }))

    it.effect("ops and projections answer as documented; an unknown path is RouteNotFound", () =>
      Effect.gen(function*() {
        yield* check("GET", "/healthz", 200)
        yield* Server.eventually(Server.get("/readyz"), (r) => r.status === 200)
        yield* check("GET", "/readyz", 200)
        yield* check("GET", "/v1/projections", 200)
        yield* check("GET", "/v1/projections/log-index", 200)
        yield* check("GET", "/v1/cluster", 200)
        const r = yield* Server.get("/v1/nothing-here")
        expect(r.status).toBe(404)
        expect(r.json).toEqual({ _tag: "RouteNotFound", reason: expect.any(String) })
      }))
  })

  // A log whose reads fail (503) or die (a defect: 500).
  const failing = (operation: string) => Effect.fail(new CausalLogError({ operation, cause: new Error("disk on fire") }))
  const brokenLog = Layer.effect(
    CausalLog,
    MemoryCausalLog.make.pipe(Effect.map((log) => ({
      ...log,
      readCausal: () => failing("readCausal"),
      get: () => Effect.die(new Error("a bug in the store"))
    })))
  )
  const brokenCore = (config: { readonly ingest: Ingest.IngestOptions }, runner: ProjectionRunner.RunnerOptions) =>
    servicesLayer(config.ingest, runner).pipe(
      Layer.provideMerge(Layer.mergeAll(brokenLog, SqliteProjectionStore.layerMemory, NodeCryptoSignatureVerifier.layer, InstanceKeyFile.layerKey(testKey("instance"))))
    )

  layer(Server.layer({ core: brokenCore }), { excludeTestServices: true, ...timeout })((it) => {
    it.effect("a storage failure is 503 StorageUnavailable, a defect 500 InternalError", () =>
      Effect.gen(function*() {
        yield* check("GET", "/v1/messages", 503, "StorageUnavailable")
        yield* check("GET", `/v1/messages/${randomId}`, 500, "InternalError")
      }))
  })

  const freePort = Effect.callback<number>((resume) => {
    const probe = createServer()
    probe.listen(0, "127.0.0.1", () => {
      const address = probe.address()
      const port = typeof address === "object" && address !== null ? address.port : 0
      probe.close(() => resume(Effect.succeed(port)))
    })
  })

  it.live("while a Kafka log connects, the stand-in's 503s are declared", () =>
    Effect.scoped(Effect.gen(function*() {
      const port = yield* freePort
      yield* ConnectingProbeServer.serve(
        { host: "127.0.0.1", port, cluster: { instance: "stand-in" } },
        Effect.succeed({ _tag: "Connecting", attempt: 2, lastError: "ECONNREFUSED" })
      )
      const base = `http://127.0.0.1:${port}`
      const send = (method: string, url: string, body?: string) =>
        Effect.promise(async (): Promise<Server.Reply> => {
          const response = await fetch(base + url, { method, body, headers: body === undefined ? {} : json })
          const text = await response.text()
          return { status: response.status, headers: response.headers, text, json: JSON.parse(text) }
        })
      expectDeclared("GET", "/readyz", yield* send("GET", "/readyz"), { status: 503, tag: "NotReady" })
      const e: Envelope = envelope(testKey("early"))
      for (const [method, url, body] of [
        ["POST", "/v1/messages", JSON.stringify(e)],
        ["GET", `/v1/messages/${idOf(e)}`],
        ["GET", "/v1/projections"],
        ["GET", "/metrics"],
        ["GET", "/v1/mempool/orders"],
        ["POST", "/v1/operators/mev-distribution", "{}"],
        ["GET", "/v1/chains"],
        ["GET", "/v1/assets/mappings"],
        ["GET", "/v1/registers/r1"],
        ["GET", "/v1/sequences/s1"],
        ["GET", `/v1/senders/${"ab".repeat(32)}`]
      ] as const) {
        expectDeclared(method, url, yield* send(method, url, body), { status: 503, tag: "StorageUnavailable" })
      }
    })))
})
