/**
 * Open event streams are bounded (src/adapters/http/StreamSlots.ts): per client address (429
 * TooManyStreams) and in all (503 StreamsFull), each with a reason and the limit; a slot comes
 * back when its client leaves. Answers are checked against the OpenAPI document.
 */
import { describe, expect, layer } from "@effect/vitest"
import { Effect } from "effect"
import { OpenApi } from "effect/http-api"
import { Api } from "../../src/adapters/http/Api.ts"
import { mismatch, operationOf } from "./support/openapiDocument.ts"
import * as Server from "./support/server.ts"
import { connect } from "./support/sse.ts"

const doc = OpenApi.fromApi(Api)

const documented = (path: string, r: Server.Reply) => {
  const found = operationOf(doc, "GET", path.split("?")[0] as string)
  const schema = (found?.op.responses as Record<string, any> | undefined)?.[String(r.status)]?.content?.["application/json"]?.schema
  expect(schema, `GET ${path} declares ${r.status}`).toBeDefined()
  expect(mismatch(doc, schema, r.json), r.text.slice(0, 300)).toBeUndefined()
}

/** Open streams until `n` are open; then the next answers. */
const openStreams = (n: number) =>
  Effect.gen(function*() {
    const { base } = yield* Server.TestServer
    const open = []
    for (let i = 0; i < n; i++) {
      const c = yield* Effect.promise(() => connect(`${base}/v1/stream`))
      expect(c.status).toBe(200)
      open.push(c)
    }
    return open
  })

describe("bounded event streams", () => {
  layer(Server.layer({ http: { streams: { total: 100, perAddress: 2 } } }), { excludeTestServices: true, timeout: "60 seconds" })((it) => {
    it.effect("a client address holds at most perAddress streams: 429 beyond, a slot back once one closes", () =>
      Effect.gen(function*() {
        // Streams refused by their endpoint (no such order or effect) give their slot back.
        for (let i = 0; i < 3; i++) expect((yield* Server.get("/v1/effects/nothing/events")).status).toBe(404)
        const open = yield* openStreams(2)
        for (const path of ["/v1/stream", "/v1/mempool/orders/" + "a".repeat(64) + "/events", "/v1/effects/nothing/events"]) {
          const r = yield* Server.get(path)
          expect([r.status, r.json?._tag, r.json?.limit], path).toEqual([429, "TooManyStreams", 2])
          documented(path, r)
        }
        // A plain read is not a stream: unaffected.
        expect((yield* Server.get("/v1/projections")).status).toBe(200)
        open[0]?.close()
        const reopened = yield* Server.eventually(
          Effect.flatMap(Server.TestServer, ({ base }) => Effect.promise(() => connect(`${base}/v1/stream`))),
          (c) => {
            if (c.status !== 200) c.close()
            return c.status === 200
          },
          5_000
        )
        expect(reopened.status).toBe(200)
        reopened.close()
        open[1]?.close()
      }))
  })

  layer(Server.layer({ http: { streams: { total: 2, perAddress: 100 } } }), { excludeTestServices: true, timeout: "60 seconds" })((it) => {
    it.effect("the server holds at most total streams: 503 beyond", () =>
      Effect.gen(function*() {
        const open = yield* openStreams(2)
        const r = yield* Server.get("/v1/stream")
        expect([r.status, r.json?._tag, r.json?.limit]).toEqual([503, "StreamsFull", 2])
        documented("/v1/stream", r)
        for (const c of open) c.close()
      }))
  })
})
