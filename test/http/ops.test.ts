import { mkdtempSync, rmSync } from "node:fs"
import { connect as tcp } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { describe, expect, it, layer } from "@effect/vitest"
import { Deferred, Effect, Exit, Layer, Scope } from "effect"
import * as NodeCryptoSignatureVerifier from "../../src/adapters/signatures/NodeCryptoSignatureVerifier.ts"
import * as SqliteCausalLog from "../../src/adapters/storage/SqliteCausalLog.ts"
import * as SqliteProjectionStore from "../../src/adapters/storage/SqliteProjectionStore.ts"
import { type ServeConfig, logPath, snapshotPath } from "../../src/Config.ts"
import type { Envelope } from "../../src/domain/Envelope.ts"
import type { MessageId } from "../../src/domain/Primitives.ts"
import * as InstanceKeyFile from "../../src/adapters/files/InstanceKeyFile.ts"
import { servicesLayer } from "../../src/main.ts"
import { CausalLog } from "../../src/ports/CausalLog.ts"
import * as ProjectionRunner from "../../src/projections/ProjectionRunner.ts"
import * as Ingest from "../../src/services/Ingest.ts"
import { envelope, testKey } from "../support/fixtures.ts"
import * as Server from "./support/server.ts"

const timeout = { timeout: "60 seconds" } as const

const badSig = (e: Envelope): Envelope => ({ ...e, sig: (e.sig.startsWith("00") ? "01" : "00") + e.sig.slice(2) } as Envelope)

const metrics = Server.get("/metrics").pipe(Effect.map((r) => r.text))

describe("operations endpoints", () => {
  layer(Server.layer(), { excludeTestServices: true, ...timeout })((it) => {
    it.effect("GET /healthz answers 200 {status: ok}", () =>
      Effect.gen(function*() {
        const r = yield* Server.get("/healthz")
        expect(r.status).toBe(200)
        expect(r.json).toEqual({ status: "ok" })
      }))

    it.effect("GET /metrics exposes the ingest counters with their real values, and the HTTP metrics", () =>
      Effect.gen(function*() {
        const before = yield* metrics
        const accepted0 = Server.sample(before, "causeway_ingest_accepted_total") ?? 0
        const badSig0 = Server.sample(before, "causeway_ingest_rejected_total{reason=\"InvalidSignature\"}") ?? 0
        const dup0 = Server.sample(before, "causeway_ingest_rejected_total{reason=\"DuplicateMessage\"}") ?? 0
        const k = testKey("metered")
        const good = Array.from({ length: 5 }, (_, i) => envelope(k, { nonce: i + 1 }))
        yield* Server.seed(good)
        for (const e of good.slice(0, 3)) expect((yield* Server.post(badSig(envelope(k, { nonce: e.nonce + 100 })))).status).toBe(401)
        expect((yield* Server.post(good[0])).status).toBe(409)
        const r = yield* Server.get("/metrics")
        expect(r.status).toBe(200)
        expect(r.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/)
        const text = r.text
        expect(Server.sample(text, "causeway_ingest_accepted_total")).toBe(accepted0 + 5)
        expect(Server.sample(text, "causeway_ingest_rejected_total{reason=\"InvalidSignature\"}")).toBe(badSig0 + 3)
        expect(Server.sample(text, "causeway_ingest_rejected_total{reason=\"DuplicateMessage\"}")).toBe(dup0 + 1)
        expect(text).toContain("# TYPE causeway_ingest_accepted_total counter")
        expect(text).toContain("# TYPE causeway_ingest_batch_size histogram")
        expect(text).toMatch(/^causeway_ingest_batch_size_bucket\{le="\+Inf"\} \d+$/m)
        expect(text).toMatch(/^causeway_ingest_batch_size_count \d+$/m)
        expect(text).toMatch(/^causeway_ingest_batch_size_sum \d+$/m)
        // HTTP request metrics, labelled by route template (never by id)
        expect(Server.sample(text, "causeway_http_requests_total{method=\"POST\",route=\"/v1/messages\",status=\"401\"}")).toBeGreaterThanOrEqual(3)
        expect(text).toMatch(/^causeway_http_request_duration_seconds_bucket\{method="POST",route="\/v1\/messages",le="0\.1"\} \d+$/m)
        expect(text).toMatch(/^causeway_http_request_duration_seconds_count\{method="POST",route="\/v1\/messages"\} \d+$/m)
        // gauges of the log end and each projection's offset
        const end = Server.sample(text, "causeway_log_end_offset")
        expect(end).toBeGreaterThanOrEqual(5)
        expect(Server.sample(text, "causeway_projection_offset{projection=\"log-index\"}")).toBeLessThanOrEqual(end as number)
        // every sample line is `name{labels} value` with a numeric value
        for (const line of text.trimEnd().split("\n").filter((l) => !l.startsWith("#"))) {
          expect(line).toMatch(/^[a-zA-Z_:][a-zA-Z0-9_:]*(\{.*\})? (-?[0-9.e+-]+|\+Inf|-Inf|NaN)$/)
        }
      }))

    it.effect("GET /metrics exposes the event loop's largest and 99th-percentile delay as gauges", () =>
      Effect.gen(function*() {
        // Exported, not their value (no timed assertions): present, numeric, not negative.
        yield* metrics
        const text = yield* metrics
        expect(text).toContain("# TYPE causeway_event_loop_delay_max_seconds gauge")
        expect(text).toContain("# TYPE causeway_event_loop_delay_p99_seconds gauge")
        expect(Server.sample(text, "causeway_event_loop_delay_max_seconds")).toBeGreaterThanOrEqual(0)
        expect(Server.sample(text, "causeway_event_loop_delay_p99_seconds")).toBeGreaterThanOrEqual(0)
      }))

    it.effect("GET /v1/projections and /v1/projections/log-index", () =>
      Effect.gen(function*() {
        const k = testKey("indexed")
        yield* Server.seed([envelope(k, { nonce: 1, lamport: 3 }), envelope(k, { nonce: 2, lamport: 8 })])
        const end = Number(Server.sample(yield* metrics, "causeway_log_end_offset"))
        const list = yield* Server.eventually(Server.get("/v1/projections"), (r) => r.json[0].offset === end)
        expect(list.status).toBe(200)
        expect(list.json).toContainEqual({ name: "log-index", version: 2, offset: end, digest: expect.stringMatching(/^[0-9a-f]{64}$/) })
        const index = yield* Server.get("/v1/projections/log-index")
        expect(index.status).toBe(200)
        expect(index.json).toMatchObject({ name: "log-index", version: 2, offset: end })
        expect(index.json.state.total).toBe(end)
        expect(index.json.state.bySender[k.publicKey]).toEqual({ count: 2, latestLamport: 8 })
        expect(index.json.state.byType.NetworkHealth).toBe(end)
        // Senders come in pages: one at a time, the cursor names the last, the count tells all.
        const senders = index.json.state.senders as number
        expect(senders).toBe(Object.keys(index.json.state.bySender).length)
        const walked: Array<string> = []
        let next: string | null = null
        do {
          const page: Server.Reply = yield* Server.get(`/v1/projections/log-index?limit=1${next === null ? "" : `&afterSender=${next}`}`)
          expect(Object.keys(page.json.state.bySender).length).toBeLessThanOrEqual(1)
          walked.push(...Object.keys(page.json.state.bySender))
          next = page.json.state.nextSender
        } while (next !== null)
        expect(walked).toEqual(Object.keys(index.json.state.bySender).sort())
        expect((yield* Server.get("/v1/projections/log-index?limit=1001")).status).toBe(400)
      }))

    it.effect("GET /openapi.json is the contract: valid JSON listing every path", () =>
      Effect.gen(function*() {
        const r = yield* Server.get("/openapi.json")
        expect(r.status).toBe(200)
        expect(r.json.openapi).toMatch(/^3\./)
        expect(Object.keys(r.json.paths).sort()).toEqual([
          "/healthz",
          "/metrics",
          "/readyz",
          "/v1/assets/ibc-denom",
          "/v1/assets/mappings",
          "/v1/assets/resolve",
          "/v1/beacon/info",
          "/v1/beacon/public/latest",
          "/v1/beacon/public/{round}",
          "/v1/chains",
          "/v1/chains/{chain}",
          "/v1/chains/{chain}/headers/{height}",
          "/v1/chains/{chain}/proofs",
          "/v1/chains/{chain}/proven",
          "/v1/chains/{chain}/transactions",
          "/v1/chains/{chain}/watches",
          "/v1/cluster",
          "/v1/effects",
          "/v1/effects/watches",
          "/v1/effects/{id}",
          "/v1/effects/{id}/events",
          "/v1/effects/{id}/history",
          "/v1/ibc/packets",
          "/v1/ibc/packets/{id}",
          "/v1/instance",
          "/v1/mempool/batches/{batch}",
          "/v1/mempool/batches/{batch}/receipts",
          "/v1/mempool/open",
          "/v1/mempool/orders",
          "/v1/mempool/orders/{id}",
          "/v1/mempool/orders/{id}/events",
          "/v1/mempool/orders/{id}/receipt",
          "/v1/mempool/processing",
          "/v1/mempool/verify-ordering",
          "/v1/messages",
          "/v1/messages/{id}",
          "/v1/messages/{id}/dependents",
          "/v1/metrics/events",
          "/v1/metrics/recent",
          "/v1/operators",
          "/v1/operators/auctions/{batch}",
          "/v1/operators/intents",
          "/v1/operators/intents/{id}",
          "/v1/operators/mev-distribution",
          "/v1/operators/refusals/{id}",
          "/v1/projections",
          "/v1/projections/log-index",
          "/v1/proofs",
          "/v1/proofs/events",
          "/v1/proofs/verify",
          "/v1/proofs/{commitment}",
          "/v1/registers/{id}",
          "/v1/senders/{key}",
          "/v1/sequences/{id}",
          "/v1/sequences/{id}/events",
          "/v1/stream"
        ])
        expect(Object.keys(r.json.paths["/v1/messages"]).sort()).toEqual(["get", "post"])
        expect(Object.keys(r.json.paths["/v1/messages"].post.responses)).toEqual(
          expect.arrayContaining(["200", "201", "400", "401", "409", "410", "413", "415", "424", "429", "503"])
        )
      }))

    it.effect("GET /docs is a self-contained page: no script or style loaded from elsewhere", () =>
      Effect.gen(function*() {
        const r = yield* Server.get("/docs")
        expect(r.status).toBe(200)
        expect(r.headers.get("content-type")).toMatch(/^text\/html/)
        expect(r.text).not.toMatch(/<script[^>]*\ssrc=/i)
        expect(r.text).not.toMatch(/<link[^>]*\shref=["']?https?:/i)
        expect(r.text).toContain("createApiReference")
        expect(r.text).toContain("/v1/messages/{id}/dependents") // the spec is inlined
      }))

    it.effect("unknown routes and methods answer 404 with a JSON reason", () =>
      Effect.gen(function*() {
        for (const [method, path] of [["GET", "/nope"], ["DELETE", "/v1/messages"], ["PUT", "/healthz"], ["GET", "/v1/messages/a/b/c"], ["GET", "/v2/messages"]] as const) {
          const r = yield* Server.request(method, path)
          expect(r.status).toBe(404)
          expect(r.json._tag).toBe("RouteNotFound")
          expect(r.json.reason).toContain(path)
        }
      }))
  })

  layer(Server.layer(), { excludeTestServices: true, ...timeout })((it) => {
    /** Send raw bytes, read until the server closes the connection. */
    const raw = (bytes: string) =>
      Effect.gen(function*() {
        const { port } = yield* Server.TestServer
        return yield* Effect.callback<string>((resume) => {
          const socket = tcp(port, "127.0.0.1", () => socket.end(bytes))
          let data = ""
          socket.setEncoding("utf8")
          socket.on("data", (chunk: string) => (data += chunk))
          socket.on("close", () => resume(Effect.succeed(data)))
          socket.on("error", () => socket.destroy())
        })
      })

    it.effect("requests that are not valid HTTP answer 400 with a JSON reason", () =>
      Effect.gen(function*() {
        for (const bytes of ["GARBAGE\r\n\r\n", "GET / HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n", "GET /healthz HTTP/9.9\r\n\r\n", "\u0000\u0001\u0002\r\n\r\n"]) {
          const answer = yield* raw(bytes)
          expect(answer, JSON.stringify(bytes)).toMatch(/^HTTP\/1\.1 400 /)
          const body = JSON.parse(answer.slice(answer.indexOf("\r\n\r\n") + 4))
          expect(typeof body.reason).toBe("string")
        }
        expect((yield* Server.get("/healthz")).status).toBe(200)
      }))
  })

  it.live("GET /readyz answers 503 while the projections catch up, then 200", () =>
    Effect.gen(function*() {
      const dataDir = yield* Effect.acquireRelease(
        Effect.sync(() => mkdtempSync(join(tmpdir(), "causeway-ready-"))),
        (dir) => Effect.sync(() => rmSync(dir, { recursive: true, force: true }))
      )
      // A log written by an earlier run, with no projection snapshot: the index must refold it.
      const records = 5000
      yield* Effect.scoped(Effect.gen(function*() {
        const log = yield* SqliteCausalLog.make({ path: logPath(dataDir), synchronous: "NORMAL" })
        const senders = ["aa", "bb", "cc"].map((c) => c.repeat(32))
        yield* log.append(Array.from({ length: records }, (_, i) => ({
          id: i.toString(16).padStart(64, "0") as MessageId,
          lamport: i + 1,
          type: "NetworkHealth",
          sender: senders[i % 3] as string,
          nonce: i,
          deps: [],
          body: "{}"
        })))
      }))
      // The real SQLite log, except that folding it waits until the test opens the gate.
      const gate = yield* Deferred.make<void>()
      const gatedLog = (config: ServeConfig) =>
        Layer.effect(
          CausalLog,
          SqliteCausalLog.make({ path: logPath(config.dataDir), synchronous: config.synchronous }).pipe(
            Effect.map((log) => ({ ...log, scan: (...args: Parameters<typeof log.scan>) => Effect.andThen(Deferred.await(gate), log.scan(...args)) }))
          )
        )
      const core = (config: ServeConfig, runner: ProjectionRunner.RunnerOptions) =>
        servicesLayer(config.ingest, runner).pipe(
          Layer.provideMerge(Layer.mergeAll(gatedLog(config), SqliteProjectionStore.layer(snapshotPath(config.dataDir)), NodeCryptoSignatureVerifier.layer, InstanceKeyFile.layerKey(testKey("instance"))))
        )
      const scope = yield* Scope.make()
      const context = yield* Layer.buildWithScope(Server.layer({ dataDir, core }), scope)
      const { base } = context.mapUnsafe.get(Server.TestServer.key) as Server.TestServerInfo
      const readyz = Effect.tryPromise(async () => {
        const response = await fetch(`${base}/readyz`)
        return [response.status, await response.json()] as [number, unknown]
      }).pipe(Effect.orDie)
      for (let i = 0; i < 5; i++) {
        expect(yield* readyz).toEqual([503, { _tag: "NotReady", ready: false, reason: expect.any(String) }])
        yield* Effect.sleep("20 millis")
      }
      yield* Deferred.succeed(gate, undefined)
      const [status, body] = yield* Server.eventually(readyz, ([s]) => s === 200)
      expect([status, body]).toEqual([200, { ready: true }])
      const index = yield* Effect.tryPromise(() =>
        fetch(`${base}/v1/projections/log-index`).then((r) => r.json() as Promise<{ offset: number; state: { total: number } }>)
      ).pipe(Effect.orDie)
      expect(index.offset).toBe(records)
      expect(index.state.total).toBe(records)
      yield* Scope.close(scope, Exit.void)
    }).pipe(Effect.scoped), 60_000)
})
