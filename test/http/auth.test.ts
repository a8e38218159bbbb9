/**
 * Bearer tokens and scopes against a real server (docs/security.md): every operation that
 * changes state or costs the instance work, other than submitting a signed message, answers
 * 401 without a known token and 403 outside its scope, before reading the body; reads stay
 * public unless reads are private. Answers are checked against the OpenAPI document.
 */
import { describe, expect, layer } from "@effect/vitest"
import { Effect } from "effect"
import { OpenApi } from "effect/http-api"
import { Api } from "../../src/adapters/http/Api.ts"
import { envelope, testKey } from "../support/fixtures.ts"
import { mismatch, operationOf } from "./support/openapiDocument.ts"
import * as Server from "./support/server.ts"

const doc = OpenApi.fromApi(Api)

/** The protected operations: method, path, the scope each needs, and a body that decodes. */
const protectedOps: ReadonlyArray<{ readonly method: string; readonly path: string; readonly scope: string; readonly body?: unknown }> = [
  { method: "POST", path: "/v1/chains/nochain/proofs", scope: "chains", body: { address: "0x" + "11".repeat(20), slots: [] } },
  { method: "POST", path: "/v1/chains/nochain/watches", scope: "chains", body: { address: "0x" + "11".repeat(20), slots: [] } },
  { method: "DELETE", path: "/v1/chains/nochain/watches?id=" + "a".repeat(64), scope: "chains" },
  { method: "POST", path: "/v1/chains/nochain/transactions", scope: "chains", body: { raw: "0x00" } },
  { method: "POST", path: "/v1/effects/watches", scope: "effects", body: { chain: "nochain", kind: "evm-log", filter: { address: "11".repeat(20), topics: [] } } },
  { method: "DELETE", path: "/v1/effects/watches?id=" + "a".repeat(64), scope: "effects" },
  { method: "POST", path: "/v1/assets/mappings", scope: "assets", body: {} },
  { method: "POST", path: "/v1/proofs/verify", scope: "proofs", body: { vkId: "ab".repeat(32), proof: {}, publicInputs: [] } },
  { method: "POST", path: "/v1/operators", scope: "admin", body: {} },
  { method: "DELETE", path: "/v1/operators?key=" + "a".repeat(64), scope: "admin" }
]

const send = (method: string, path: string, init: { readonly body?: unknown; readonly token?: string | null; readonly authorization?: string } = {}) =>
  Server.request(method, path, {
    ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
    headers: { "content-type": "application/json", ...(init.authorization === undefined ? {} : { authorization: init.authorization }) },
    ...(init.token === undefined ? {} : { token: init.token })
  })

/** The answer matches the document's declared status and body for the operation. */
const documented = (method: string, path: string, r: Server.Reply) => {
  const found = operationOf(doc, method, path.split("?")[0] as string)
  const schema = (found?.op.responses as Record<string, any> | undefined)?.[String(r.status)]?.content?.["application/json"]?.schema
  expect(schema, `${method} ${path} declares ${r.status}`).toBeDefined()
  expect(mismatch(doc, schema, r.json), `${method} ${path} ${r.status}: ${r.text.slice(0, 300)}`).toBeUndefined()
}

describe("API tokens and scopes", () => {
  layer(Server.layer({ tokens: { watcher: ["effects"], prover: ["chains"], registrar: ["assets"], checker: ["proofs"] } }), { excludeTestServices: true, timeout: "60 seconds" })((it) => {
    it.effect("without a token: 401 Unauthorized with a reason and WWW-Authenticate, before the body is read", () =>
      Effect.gen(function*() {
        for (const op of protectedOps) {
          const r = yield* send(op.method, op.path, { token: null, ...(op.body === undefined ? {} : { body: op.body }) })
          expect([r.status, r.json?._tag], `${op.method} ${op.path}`).toEqual([401, "Unauthorized"])
          expect(r.json.reason).toMatch(/Authorization: Bearer/)
          expect(r.headers.get("www-authenticate")).toBe('Bearer realm="causeway"')
          documented(op.method, op.path, r)
          // A body that would not decode is not read: still 401, never 400.
          if (op.method === "POST") {
            const junk = yield* Server.request(op.method, op.path, { body: "{not json", headers: { "content-type": "application/json" }, token: null })
            expect(junk.status, `${op.method} ${op.path} with junk`).toBe(401)
          }
        }
      }))

    it.effect("an unknown or malformed token is 401; a token of another scope is 403 naming the scope; the right scope passes", () =>
      Effect.gen(function*() {
        const { tokens } = yield* Server.TestServer
        const byScope: Record<string, string> = { chains: tokens.prover as string, effects: tokens.watcher as string, assets: tokens.registrar as string, proofs: tokens.checker as string }
        const unknown = `cw_${"A".repeat(43)}`
        for (const op of protectedOps) {
          const body = op.body === undefined ? {} : { body: op.body }
          const stranger = yield* send(op.method, op.path, { ...body, token: unknown })
          expect([stranger.status, stranger.json?.reason]).toEqual([401, "the bearer token is not known to this server"])
          const malformed = yield* send(op.method, op.path, { ...body, authorization: "Bearer not-a-token" })
          expect([malformed.status, malformed.json?._tag]).toEqual([401, "Unauthorized"])
          const basic = yield* send(op.method, op.path, { ...body, authorization: "Basic dXNlcjpwYXNz" })
          expect(basic.status).toBe(401)
          for (const [scope, token] of Object.entries(byScope)) {
            const r = yield* send(op.method, op.path, { ...body, token })
            if (scope === op.scope) {
              // Past authentication: the operation's own answer (no such chain, watch or a bad mapping).
              expect([401, 403], `${op.method} ${op.path} with scope ${scope}: ${r.text.slice(0, 200)}`).not.toContain(r.status)
            } else {
              expect([r.status, r.json?._tag, r.json?.scope], `${op.method} ${op.path} with scope ${scope}`).toEqual([403, "Forbidden", op.scope])
              expect(r.json.reason).toContain(`lacks the scope ${op.scope}`)
              documented(op.method, op.path, r)
            }
          }
          // The admin token may do everything.
          const admin = yield* send(op.method, op.path, body)
          expect([401, 403]).not.toContain(admin.status)
        }
      }))

    it.effect("reads and signed messages need no token", () =>
      Effect.gen(function*() {
        for (const path of ["/v1/effects", "/v1/effects/watches", "/v1/chains", "/v1/operators", "/v1/projections", "/healthz", "/openapi.json"]) {
          const r = yield* Server.request("GET", path, { token: null })
          expect(r.status, `${path}: ${r.text.slice(0, 200)}`).toBe(200)
        }
        const submitted = yield* Server.request("POST", "/v1/messages", {
          body: JSON.stringify(envelope(testKey("auth"))),
          headers: { "content-type": "application/json" },
          token: null
        })
        expect(submitted.status, submitted.text).toBe(201)
      }))
  })

  layer(Server.layer({ privateReads: true, tokens: { watcher: ["effects"] } }), { excludeTestServices: true, timeout: "60 seconds" })((it) => {
    it.effect("with private reads every read but the probes needs a known token of any scope", () =>
      Effect.gen(function*() {
        const { tokens } = yield* Server.TestServer
        for (const path of ["/v1/effects", "/v1/chains", "/v1/projections", "/openapi.json", "/v1/stream?from=0"]) {
          const anonymous = yield* Server.request("GET", path, { token: null })
          expect([anonymous.status, anonymous.json?._tag], path).toEqual([401, "Unauthorized"])
          expect(anonymous.json.reason).toMatch(/^reads are private on this server/)
          if (path.startsWith("/v1/stream")) continue
          const read = yield* Server.request("GET", path, { token: tokens.watcher as string })
          expect(read.status, path).toBe(200)
        }
        for (const path of ["/healthz", "/readyz"]) expect((yield* Server.request("GET", path, { token: null })).status).toBe(200)
      }))
  })
})
