/**
 * Admission against Sybils at the HTTP edge (issue #14): keys cost nothing, so the clients of
 * one address share a budget whatever keys they sign with; a token may carry a larger one; the
 * ingest queue is bounded, and a full one answers 503 without losing what it accepted.
 */
import { describe, expect, layer } from "@effect/vitest"
import { Deferred, Effect, Fiber, Layer } from "effect"
import * as InstanceKeyFile from "../../src/adapters/files/InstanceKeyFile.ts"
import * as NodeCryptoSignatureVerifier from "../../src/adapters/signatures/NodeCryptoSignatureVerifier.ts"
import * as MemoryCausalLog from "../../src/adapters/storage/MemoryCausalLog.ts"
import * as SqliteProjectionStore from "../../src/adapters/storage/SqliteProjectionStore.ts"
import { idOf } from "../../src/domain/Envelope.ts"
import { servicesLayer } from "../../src/main.ts"
import { CausalLog } from "../../src/ports/CausalLog.ts"
import type * as ProjectionRunner from "../../src/projections/ProjectionRunner.ts"
import type * as Ingest from "../../src/services/Ingest.ts"
import { envelope, testKey } from "../support/fixtures.ts"
import * as Server from "./support/server.ts"

const timeout = { timeout: "60 seconds" } as const

/** POST a JSON value to /v1/messages with a token (null: anonymous). */
const postAs = (body: unknown, token: string | null) =>
  Server.request("POST", "/v1/messages", { body: JSON.stringify(body), headers: { "content-type": "application/json" }, token })

/** One fresh key per message: what a Sybil sends. */
const sybils = (tag: string, n: number) => Array.from({ length: n }, (_, i) => envelope(testKey(`${tag}-${i}`)))

const expectRetryLater = (r: Server.Reply, status: number, tag: string) => {
  expect(r.status, r.text).toBe(status)
  expect(r.json._tag, r.text).toBe(tag)
  expect(r.json.reason.length).toBeGreaterThan(0)
  expect(r.json.retryAfterMs).toBeGreaterThan(0)
  expect(Number(r.headers.get("retry-after"))).toBeGreaterThanOrEqual(1)
}

/** How many of these ids the log holds. */
const inLog = (ids: ReadonlyArray<string>) =>
  Effect.map(Effect.forEach(ids, (id) => Server.get(`/v1/messages/${id}`)), (rs) => rs.filter((r) => r.status === 200).length)

// Refilling one message every 1,000 s: nothing refills while a test runs.
const slow = 0.001

describe("per-client budgets", () => {
  layer(
    Server.layer({
      http: { clientBudgets: { address: { ratePerSec: slow, burst: 5 } } },
      tokens: { relayer: [], stranger: ["chains"] },
      budgets: { relayer: { perSecond: 1, burst: 30 } }
    }),
    { excludeTestServices: true, ...timeout }
  )((it) => {
    it.effect("fresh keys from one address share its budget: 429 with Retry-After after its burst; a token's budget is its own", () =>
      Effect.gen(function*() {
        const server = yield* Server.TestServer
        // Anonymous: five of eight fresh keys get in, then the address is out of budget.
        const singles = yield* Effect.forEach(sybils("anon", 8), (e) => postAs(e, null))
        expect(singles.map((r) => r.status)).toEqual([201, 201, 201, 201, 201, 429, 429, 429])
        expectRetryLater(singles[5] as Server.Reply, 429, "RateLimited")
        expect((singles[5] as Server.Reply).json.reason).toMatch(/client address 127\.0\.0\.1/u)
        expect(Number((singles[5] as Server.Reply).headers.get("retry-after"))).toBeGreaterThan(900)
        // A batch refused whole is 429 too; nothing of it was looked at.
        const batch = yield* postAs(sybils("anon-batch", 3), null)
        expectRetryLater(batch, 429, "RateLimited")
        // A token without a budget counts against its address, like anonymous callers.
        expect((yield* postAs(envelope(testKey("stranger-0")), server.tokens.stranger as string)).status).toBe(429)

        // The relayer's token carries 30: its fresh keys are counted against it, not the address.
        const relayed = sybils("relayed", 32)
        const first = yield* postAs(relayed.slice(0, 20), server.tokens.relayer as string)
        expect(first.status).toBe(200)
        expect(first.json.results.every((x: { ok: boolean }) => x.ok)).toBe(true)
        // A batch over what is left: the first ten pass, the rest are 429 items.
        const second = yield* postAs(relayed.slice(20), server.tokens.relayer as string)
        expect(second.status).toBe(200)
        expect(second.json.results.map((x: { ok: boolean; status?: number }) => x.ok ? 201 : x.status)).toEqual([...Array(10).fill(201), 429, 429])
        expect(second.json.results[10].error).toMatchObject({ _tag: "RateLimited", retryAfterMs: expect.any(Number) })
        expect(second.json.results[10].error.reason).toMatch(/token "relayer"/u)
        expect(yield* inLog(relayed.map(idOf))).toBe(30)
        expect(yield* inLog(sybils("anon", 8).map(idOf))).toBe(5)
      }))

    it.effect("a token that is not known is 401 on POST /v1/messages, before the body is read", () =>
      Effect.gen(function*() {
        const r = yield* postAs(envelope(testKey("badtoken")), `cw_${"A".repeat(43)}`)
        expect(r.status, r.text).toBe(401)
        expect(r.json._tag).toBe("Unauthorized")
        const junk = yield* Server.request("POST", "/v1/messages", { body: "not json", headers: { "content-type": "application/json", authorization: "Bearer nope" } })
        expect(junk.status).toBe(401)
      }))
  })
})

// A log whose appends wait for a gate: the writer stops on its first append, and what clients
// send after it stays queued until the gate opens.
const gate = { started: Deferred.makeUnsafe<void>(), open: Deferred.makeUnsafe<void>() }
const gatedLog = Layer.effect(
  CausalLog,
  MemoryCausalLog.make.pipe(Effect.map((log) => ({
    ...log,
    append: (records: Parameters<typeof log.append>[0]) =>
      Deferred.succeed(gate.started, undefined).pipe(Effect.andThen(Deferred.await(gate.open)), Effect.andThen(log.append(records)))
  })))
)
const gatedCore = (config: { readonly ingest: Ingest.IngestOptions }, runner: ProjectionRunner.RunnerOptions) =>
  servicesLayer(config.ingest, runner).pipe(
    Layer.provideMerge(Layer.mergeAll(gatedLog, SqliteProjectionStore.layerMemory, NodeCryptoSignatureVerifier.layer, InstanceKeyFile.layerKey(testKey("instance"))))
  )

describe("the bounded ingest queue", () => {
  layer(Server.layer({ core: gatedCore, ingest: { maxQueued: 4 } }), { excludeTestServices: true, ...timeout })((it) => {
    it.effect("a full queue answers 503 with Retry-After; everything accepted lands in the log", () =>
      Effect.gen(function*() {
        const [e0, ...flood] = sybils("flood", 7)
        // The writer takes e0 and stops in its append: the queue is empty again, and stays put.
        const first = yield* Effect.forkChild(postAs(e0, null))
        yield* Deferred.await(gate.started)
        // Six into a queue of four: four wait for the writer, two are refused unchecked.
        const batch = yield* Effect.forkChild(postAs(flood, null))
        const queued = yield* Server.eventually(
          Effect.map(Server.get("/metrics"), (r) => Server.sample(r.text, "causeway_ingest_queued")),
          (n) => n === 4
        )
        expect(queued).toBe(4)
        expectRetryLater(yield* postAs(envelope(testKey("flood-late")), null), 503, "IngestBusy")
        expectRetryLater(yield* postAs(sybils("flood-late-batch", 2), null), 503, "IngestBusy")

        yield* Deferred.succeed(gate.open, undefined)
        expect((yield* Fiber.join(first)).status).toBe(201)
        const answered = yield* Fiber.join(batch)
        expect(answered.status).toBe(200)
        const results = answered.json.results as ReadonlyArray<{ ok: boolean; status?: number; error?: { _tag: string } }>
        expect(results.map((x) => x.ok ? 201 : x.status)).toEqual([201, 201, 201, 201, 503, 503])
        expect(results[4]?.error?._tag).toBe("IngestBusy")
        // Every acknowledged message is in the log; none refused is.
        expect(yield* inLog([e0, ...flood.slice(0, 4)].map((e) => idOf(e as NonNullable<typeof e>)))).toBe(5)
        expect(yield* inLog(flood.slice(4).map(idOf))).toBe(0)
        // Drained: the queue takes messages again.
        expect((yield* postAs(envelope(testKey("flood-after")), null)).status).toBe(201)
      }))
  })
})

describe("the held buffer's share per client", () => {
  layer(
    Server.layer({
      ingest: { pendingPerClient: 3, pendingTimeoutMs: 1500 },
      tokens: { relayer: [] },
      // Twice an address's sustained rate: twice its share of the held buffer.
      budgets: { relayer: { perSecond: 2000, burst: 4000 } }
    }),
    { excludeTestServices: true, ...timeout }
  )((it) => {
    it.effect("fresh keys from one address hold at most its share while another client's are still held; a relayer's token holds its weight's", () =>
      Effect.gen(function*() {
        const server = yield* Server.TestServer
        const ghost = idOf(envelope(testKey("ghost"), { nonce: 1000 }))
        const waiting = (tag: string, n: number) => Array.from({ length: n }, (_, i) => envelope(testKey(`${tag}-${i}`), { lamport: 2, deps: [ghost] }))
        const [anonymous, relayed] = yield* Effect.all([postAs(waiting("held-anon", 5), null), postAs(waiting("held-relayed", 7), server.tokens.relayer as string)], {
          concurrency: 2
        })
        const tags = (r: Server.Reply) => (r.json.results as ReadonlyArray<{ ok: boolean; error?: { _tag: string } }>).map((x) => x.ok ? "ok" : x.error?._tag)
        expect(anonymous.status, anonymous.text).toBe(200)
        expect(tags(anonymous)).toEqual([...Array(3).fill("UnknownDependencies"), "RateLimited", "RateLimited"])
        expect(anonymous.json.results[3].error.reason).toBe("the client address:127.0.0.1 already has 3 messages waiting for dependencies, its share of the buffer (3)")
        expect(tags(relayed)).toEqual([...Array(6).fill("UnknownDependencies"), "RateLimited"])
        expect(relayed.json.results[6].error.reason).toMatch(/^the client token:relayer already has 6 messages .*\(6\)$/u)
      }))
  })
})
