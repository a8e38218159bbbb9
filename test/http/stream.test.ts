import { describe, expect, it, layer } from "@effect/vitest"
import { Effect, Exit, Layer, Scope } from "effect"
import { idOf } from "../../src/domain/Envelope.ts"
import { envelope, testKey } from "../support/fixtures.ts"
import * as Server from "./support/server.ts"
import { type SseConnection, connect } from "./support/sse.ts"

const timeout = { timeout: "60 seconds" } as const

/** Open /v1/stream on the test server, closed with the test's scope. */
const open = (query = "", headers: Record<string, string> = {}) =>
  Effect.gen(function*() {
    const { base } = yield* Server.TestServer
    return yield* Effect.acquireRelease(
      Effect.tryPromise(() => connect(`${base}/v1/stream${query}`, headers)).pipe(Effect.orDie),
      (c) => Effect.sync(() => c.close())
    )
  })

const records = (c: SseConnection, n: number) => Effect.tryPromise(() => c.records(n)).pipe(Effect.orDie)

const sseClients = Server.get("/metrics").pipe(Effect.map((r) => Server.sample(r.text, "causeway_http_sse_clients") ?? 0))

describe("GET /v1/stream", () => {
  layer(Server.layer({ http: { heartbeatMs: 50 } }), { excludeTestServices: true, ...timeout })((it) => {
    const k = testKey("streamer")
    let nonce = 0
    const submit = (n: number) => Server.seed(Array.from({ length: n }, () => envelope(k, { nonce: ++nonce })))

    it.effect("sends records from ?from=N as `id: <offset>`, `event: record`, the record as data", () =>
      Effect.gen(function*() {
        const receipts = yield* submit(3)
        const first = receipts[0]?.offset as number
        const c = yield* open(`?from=${first}`)
        expect(c.status).toBe(200)
        expect(c.contentType).toMatch(/^text\/event-stream/)
        const events = yield* records(c, 3)
        expect(events.map((e) => e.id)).toEqual([first, first + 1, first + 2].map(String))
        for (const [i, e] of events.entries()) {
          const data = JSON.parse(e.data as string)
          const byId = yield* Server.get(`/v1/messages/${receipts[i]?.id}`)
          expect(data).toEqual(byId.json)
        }
      }))

    it.effect("by default sends only records appended after connecting", () =>
      Effect.gen(function*() {
        yield* submit(2)
        const { json: [status] } = yield* Server.get("/v1/projections")
        const end = (yield* Server.eventually(Server.get("/v1/projections"), (r) => r.json[0].offset >= status.offset)).json[0].offset
        const c = yield* open()
        // the opening heartbeat tells us the subscription is in place
        const hello = yield* Effect.tryPromise(() => c.next()).pipe(Effect.orDie)
        expect(hello?.comment).toBe("heartbeat")
        const [fresh] = yield* submit(1)
        const [e] = yield* records(c, 1)
        expect(e?.id).toBe(String(fresh?.offset))
        expect(fresh?.offset).toBe(end)
      }))

    it.effect("resumes after Last-Event-ID N at N+1, and Last-Event-ID wins over ?from", () =>
      Effect.gen(function*() {
        const receipts = yield* submit(4)
        const n = receipts[0]?.offset as number
        const c = yield* open("", { "last-event-id": String(n) })
        const events = yield* records(c, 2)
        expect(events.map((e) => Number(e.id))).toEqual([n + 1, n + 2])
        const both = yield* open("?from=0", { "last-event-id": String(n + 2) })
        const [e] = yield* records(both, 1)
        expect(Number(e?.id)).toBe(n + 3)
        expect(JSON.parse(e?.data as string).id).toBe(receipts[3]?.id)
      }))

    it.effect("sends a heartbeat comment while idle", () =>
      Effect.gen(function*() {
        const c = yield* open()
        const comments: Array<string> = []
        while (comments.length < 3) {
          const e = yield* Effect.tryPromise(() => c.next()).pipe(Effect.orDie)
          if (e?.comment !== undefined) comments.push(e.comment)
        }
        expect(comments).toEqual(["heartbeat", "heartbeat", "heartbeat"])
      }))

    it.effect("refuses a malformed ?from or Last-Event-ID with 400", () =>
      Effect.gen(function*() {
        for (const [q, h] of [["?from=-1", {}], ["?from=abc", {}], ["?from=1.5", {}], ["", { "last-event-id": "x" }], ["", { "last-event-id": "-3" }]] as const) {
          const r = yield* Server.get(`/v1/stream${q}`, h)
          expect(r.status, r.text).toBe(400)
          expect(r.json._tag).toBe("InvalidRequest")
          expect(typeof r.json.reason).toBe("string")
        }
      }))

    it.effect("releases the subscription when the client disconnects", () =>
      Effect.gen(function*() {
        const before = yield* sseClients
        const conns = yield* Effect.forEach([1, 2, 3], () =>
          Effect.gen(function*() {
            const { base } = yield* Server.TestServer
            return yield* Effect.tryPromise(() => connect(`${base}/v1/stream?from=0`)).pipe(Effect.orDie)
          }))
        for (const c of conns) yield* records(c, 1)
        expect(yield* sseClients).toBe(before + 3)
        for (const c of conns) c.close()
        expect(yield* Server.eventually(sseClients, (n) => n === before)).toBe(before)
        const e = envelope(k, { nonce: ++nonce })
        expect((yield* Server.post(e)).status).toBe(201) // the log still serves
        expect((yield* Server.get(`/v1/messages/${idOf(e)}`)).status).toBe(200)
      }))
  })

  it.live("ends open streams cleanly when the server shuts down", () =>
    Effect.gen(function*() {
      const scope = yield* Scope.make()
      const context = yield* Layer.buildWithScope(Server.layer(), scope)
      const { base } = context.mapUnsafe.get(Server.TestServer.key) as Server.TestServerInfo
      const post = Effect.tryPromise(() =>
        fetch(`${base}/v1/messages`, { method: "POST", body: JSON.stringify(envelope(testKey("last"))), headers: { "content-type": "application/json" } })
      ).pipe(Effect.orDie)
      expect((yield* post).status).toBe(201)
      const c = yield* Effect.tryPromise(() => connect(`${base}/v1/stream?from=0`)).pipe(Effect.orDie)
      yield* records(c, 1)
      const started = Date.now()
      yield* Scope.close(scope, Exit.void)
      expect(Date.now() - started).toBeLessThan(5000) // the stream did not hold the close open
      // the stream ends (no error): next() yields null once the server has closed it
      let end: unknown = "pending"
      while (end !== null) end = yield* Effect.tryPromise(() => c.next()).pipe(Effect.orDie)
      expect(end).toBeNull()
    }), 60_000)
})
