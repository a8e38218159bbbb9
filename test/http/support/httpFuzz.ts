/**
 * The HTTP fuzzer shared by the suite's CI-sized run (test/http/fuzz.test.ts, 10,000 cases
 * against the in-process server) and `npm run fuzz:http` (scripts/fuzzHttp.ts, 1,000,000 against
 * a `causeway serve` child): the generated cases, the check of each answer, and a runner.
 *
 * Cases come in families. The message families mutate valid signed envelopes (truncated,
 * mutated, wrong fields, flipped signatures, duplicates, replayed nonces, unknown dependencies,
 * unknown types and versions, content types) against POST /v1/messages; the operation family
 * takes every operation of the OpenAPI document (OpenApi.fromApi(Api)) and generates its path
 * parameters, query, headers (authorization, content-type, accept, last-event-id, unknown and
 * huge ones) and body, valid-looking (from the document's schemas) and junk; a few fixed cases
 * (deep nesting, bodies over the caps) recur every SPECIAL_PERIOD cases. Case `index` of
 * `seed` is always the same case, so a failure is reproduced from its seed and index.
 *
 * The check: no 5xx, every 4xx a JSON body with `_tag` and `reason`, an operation with
 * `security` never answered 2xx without a valid token, and the accepted messages and
 * state-changing successes counted so the caller can compare them with the log's growth.
 */
import { request as httpRequest, Agent, type IncomingHttpHeaders } from "node:http"
import { connect } from "node:net"
import fc from "fast-check"
import { OpenApi } from "effect/http-api"
import { Api } from "../../../src/adapters/http/Api.ts"
import { canonicalize } from "../../../src/domain/CanonicalJson.ts"
import { type Envelope, idOf } from "../../../src/domain/Envelope.ts"
import type { KeyFile } from "../../../src/domain/Keys.ts"
import { messageTypes } from "../../../src/domain/MessageTypes.ts"
import type { MessageId } from "../../../src/domain/Primitives.ts"
import { envelope, healthPayload, testKey } from "../../support/fixtures.ts"
import { type Operation, operations, resolve } from "./openapiDocument.ts"

const MiB = 1024 * 1024

/** A request to send. `body` as a list of chunks is streamed without a length. */
export interface FuzzCase {
  readonly kind: string
  readonly method: string
  readonly path: string
  readonly headers: Record<string, string>
  readonly body?: string | Uint8Array | { readonly chunks: number; readonly chunk: Uint8Array }
  /** The operation has `security` and the case carries no valid token: it must not succeed. */
  readonly unauthorized?: boolean
  /** May wait for the server's dependency timeout (unknown dependencies). */
  readonly slow?: boolean
}

/** What the cases are built from: the seeded log and the server's admin token. */
export interface FuzzWorld {
  readonly keys: ReadonlyArray<KeyFile>
  /** Messages the caller must have seeded (all accepted) before running cases. */
  readonly seeded: ReadonlyArray<Envelope>
  readonly highestNonce: number
  readonly adminToken: string
  readonly maxBatch: number
  /** The JSON body limit of POST /v1/messages. */
  readonly maxMessagesBody: number
}

/** The seeded log: three senders, four messages each. */
export const world = (adminToken: string, options: { readonly maxBatch?: number; readonly maxMessagesBody?: number } = {}): FuzzWorld => {
  const keys = [testKey("bad-a"), testKey("bad-b"), testKey("bad-c", "secp256k1")]
  return {
    keys,
    seeded: keys.flatMap((k) => [1, 2, 3, 4].map((n) => envelope(k, { nonce: n, lamport: n }))),
    highestNonce: 4,
    adminToken,
    maxBatch: options.maxBatch ?? 1024,
    maxMessagesBody: options.maxMessagesBody ?? 8 * MiB
  }
}

const doc = OpenApi.fromApi(Api)
/** Every operation of the document. */
export const documentOperations: ReadonlyArray<Operation> = operations(doc)

type Json = Record<string, any>
const jsonHeaders = { "content-type": "application/json" }
const printable = fc.stringMatching(/^[ -~]{0,40}$/)
const randomId = fc.stringMatching(/^[0-9a-f]{64}$/)
const envelopeFields = ["v", "flags", "type", "scheme", "sender", "nonce", "lamport", "deps", "expiry", "payload", "sig"] as const

/** A junk path segment: never a valid id, never a dot segment. */
const junkSegment = fc.oneof(
  fc.stringMatching(/^[0-9a-f]{1,63}$/),
  fc.stringMatching(/^[0-9a-f]{65,100}$/),
  fc.stringMatching(/^[0-9a-fA-F]{64}$/).filter((s) => /[A-F]/.test(s)),
  fc.stringMatching(/^[ -~]{1,80}$/).map(encodeURIComponent),
  fc.stringMatching(/^(?:%[0-9a-zA-Z]{0,2}|[a-z0-9]){1,20}$/),
  fc.string({ minLength: 257, maxLength: 400 }).map(encodeURIComponent),
  fc.constantFrom("%00", "%ff", "%c3%28", "%2F", "-1", "0x10", "1e3", "null", "undefined", "%20", "..%2f..%2fetc")
).filter((s) => s !== "" && !/^[0-9a-f]{64}$/.test(s) && !/^(?:\.|%2e){1,2}$/i.test(s))

/** A junk query or header value. */
const junkValue = fc.oneof(
  printable,
  fc.integer({ min: -1000, max: 100_000 }).map(String),
  fc.double().map(String),
  fc.constantFrom("", "1e3", "0x10", "01", " 1", "1001", "0", "-0", "true", "null", "[]", "{}", "9".repeat(30), "%00", "a".repeat(2000))
)

// ---------------------------------------------------------------------------------------
// Values from the document's schemas
// ---------------------------------------------------------------------------------------

const patternArbitrary = (pattern: string): fc.Arbitrary<string> => {
  try {
    return fc.stringMatching(new RegExp(pattern))
  } catch {
    return fc.string()
  }
}

const cache = new Map<Json, fc.Arbitrary<unknown>>()

/** A value shaped by a JSON schema of the document (valid-looking, not necessarily valid). */
export const schemaValue = (schema: Json, depth = 0): fc.Arbitrary<unknown> => {
  const known = cache.get(schema)
  if (known !== undefined) return known
  const made = schemaValueUncached(schema, depth)
  if (depth === 0) cache.set(schema, made)
  return made
}

const schemaValueUncached = (schema: Json, depth: number): fc.Arbitrary<unknown> => {
  const s = resolve(doc, schema)
  if (depth > 6) return fc.constant(null)
  if (Array.isArray(s["enum"]) && s["enum"].length > 0) return fc.constantFrom(...(s["enum"] as Array<unknown>))
  if ("const" in s) return fc.constant(s["const"])
  for (const key of ["oneOf", "anyOf"] as const) {
    if (Array.isArray(s[key]) && s[key].length > 0) return fc.oneof(...(s[key] as Array<Json>).map((m) => schemaValue(m, depth + 1)))
  }
  if (Array.isArray(s["allOf"]) && s["allOf"].length > 0) return schemaValue(s["allOf"][0] as Json, depth + 1)
  const type = Array.isArray(s["type"]) ? s["type"][0] : s["type"]
  switch (type) {
    case "string":
      return typeof s["pattern"] === "string"
        ? patternArbitrary(s["pattern"])
        : fc.string({ minLength: s["minLength"] ?? 0, maxLength: Math.min(s["maxLength"] ?? 24, 64) })
    case "integer":
      return fc.integer({ min: Math.max(s["minimum"] ?? -1e6, -Number.MAX_SAFE_INTEGER), max: Math.min(s["maximum"] ?? 1e9, Number.MAX_SAFE_INTEGER) })
    case "number":
      return fc.double({ noNaN: true, noDefaultInfinity: true, min: s["minimum"] ?? -1e9, max: s["maximum"] ?? 1e12 })
    case "boolean":
      return fc.boolean()
    case "null":
      return fc.constant(null)
    case "array":
      return fc.array(s["items"] === undefined ? fc.jsonValue({ maxDepth: 1 }) : schemaValue(s["items"] as Json, depth + 1), {
        minLength: Math.min(s["minItems"] ?? 0, 3),
        maxLength: Math.min(s["maxItems"] ?? 3, 3)
      })
    case "object":
    case undefined: {
      const properties = Object.entries((s["properties"] ?? {}) as Record<string, Json>)
      if (properties.length === 0) return type === undefined ? fc.jsonValue({ maxDepth: 2 }) : fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 1 }), { maxKeys: 3 })
      const required = new Set<string>(s["required"] ?? [])
      return fc.tuple(...properties.map(([k, v]) => fc.tuple(fc.constant(k), schemaValue(v, depth + 1), required.has(k) ? fc.constant(true) : fc.boolean()))).map((entries) =>
        Object.fromEntries(entries.filter(([, , keep]) => keep).map(([k, v]) => [k, v]))
      )
    }
    default:
      return fc.jsonValue({ maxDepth: 2 })
  }
}

/** A valid-looking value changed in one place: a key dropped, a value of the wrong type, an extra key. */
const mutate = (value: unknown): fc.Arbitrary<unknown> => {
  if (typeof value !== "object" || value === null) return fc.oneof(fc.jsonValue({ maxDepth: 2 }), fc.constant([value]), fc.constant({ value }))
  const keys = Object.keys(value)
  if (keys.length === 0) return fc.jsonValue({ maxDepth: 3 })
  return fc.tuple(fc.constantFrom(...keys), fc.jsonValue({ maxDepth: 3 }), fc.constantFrom("replace", "delete", "extra", "deeper")).chain(([key, junk, how]) => {
    const copy: Record<string, unknown> = Array.isArray(value) ? Object.fromEntries(value.entries()) : { ...(value as Record<string, unknown>) }
    if (how === "replace") copy[key] = junk
    else if (how === "delete") delete copy[key]
    else if (how === "extra") copy[`x_${key}`] = junk
    else return mutate(copy[key]).map((inner) => Array.isArray(value) ? value.map((v, i) => String(i) === key ? inner : v) : { ...copy, [key]: inner })
    return fc.constant(Array.isArray(value) ? Object.values(copy) : copy)
  })
}

// ---------------------------------------------------------------------------------------
// Families
// ---------------------------------------------------------------------------------------

const messagesPost = (kind: string, body: string | Uint8Array, token: string): FuzzCase => ({
  kind,
  method: "POST",
  path: "/v1/messages",
  // A relayer's token: the server may give it a larger address budget than anonymous callers.
  headers: { ...jsonHeaders, authorization: `Bearer ${token}` },
  body
})

/** The message families: junk and mutated envelopes against POST /v1/messages. */
const messageFamilies = (w: FuzzWorld): ReadonlyArray<{ readonly weight: number; readonly arbitrary: fc.Arbitrary<FuzzCase> }> => {
  const seededArb = fc.constantFrom(...w.seeded)
  const post = (kind: string) => (body: string | Uint8Array) => messagesPost(kind, body, w.adminToken)
  const ghost = testKey("bad-ghost")
  const isIntegerVersion = (n: number) => Number.isInteger(n) && n > 1
  return [
    { weight: 12, arbitrary: fc.jsonValue({ maxDepth: 4 }).filter((v) => !Array.isArray(v)).map((v) => post("wrong JSON type")(JSON.stringify(v) ?? "null")) },
    { weight: 3, arbitrary: fc.oneof(fc.integer(), fc.double(), fc.boolean(), fc.constant(null), fc.string()).map((v) => post("JSON scalar")(JSON.stringify(v) ?? "null")) },
    { weight: 3, arbitrary: fc.array(fc.jsonValue({ maxDepth: 3 }), { minLength: 1, maxLength: 20 }).map((v) => post("junk batch")(JSON.stringify(v))) },
    {
      weight: 10,
      arbitrary: seededArb.chain((e) => {
        const text = JSON.stringify(e)
        return fc.integer({ min: 0, max: text.length - 1 }).map((n) => post("truncated JSON")(text.slice(0, n)))
      })
    },
    {
      weight: 8,
      arbitrary: seededArb.chain((e) => {
        const text = JSON.stringify(e)
        return fc.tuple(fc.integer({ min: 0, max: text.length - 1 }), fc.stringMatching(/^[ -~]$/)).map(([i, c]) => post("mutated JSON")(text.slice(0, i) + c + text.slice(i + 1)))
      })
    },
    { weight: 4, arbitrary: fc.string({ maxLength: 200 }).map(post("random text")) },
    { weight: 3, arbitrary: fc.uint8Array({ maxLength: 300 }).map(post("random bytes")) },
    {
      weight: 15,
      arbitrary: fc.tuple(seededArb, fc.constantFrom(...envelopeFields), fc.jsonValue({ maxDepth: 3 }), fc.constantFrom("replace", "delete", "extra")).map(([e, field, value, how]) => {
        const o: Record<string, unknown> = { ...e }
        if (how === "replace") o[field] = value
        else if (how === "delete") delete o[field]
        else o[`x_${field}`] = value
        return post("wrong field")(JSON.stringify(o))
      })
    },
    {
      weight: 10,
      arbitrary: fc.tuple(seededArb, fc.nat(), fc.integer({ min: 1, max: 15 })).map(([e, i, x]) => {
        const at = i % e.sig.length
        const digit = (parseInt(e.sig[at] as string, 16) ^ x).toString(16)
        return post("bad signature")(JSON.stringify({ ...e, sig: e.sig.slice(0, at) + digit + e.sig.slice(at + 1) }))
      })
    },
    {
      weight: 5,
      arbitrary: fc.tuple(seededArb, fc.constantFrom("same", "canonical", "reversed")).map(([e, form]) =>
        post("duplicate")(form === "same" ? JSON.stringify(e) : form === "canonical" ? canonicalize(e) : JSON.stringify(Object.fromEntries(Object.entries(e).reverse())))
      )
    },
    {
      weight: 4,
      arbitrary: fc.record({ key: fc.constantFrom(...w.keys), nonce: fc.integer({ min: 0, max: w.highestNonce }), lamport: fc.integer({ min: 1, max: 1000 }), latency: fc.nat(1_000_000) }).map((r) =>
        post("replayed nonce")(JSON.stringify(envelope(r.key, { nonce: r.nonce, lamport: r.lamport, payload: healthPayload(r.latency) })))
      )
    },
    {
      weight: 1,
      arbitrary: fc.record({ nonce: fc.integer({ min: 1000, max: 1_000_000 }), deps: fc.uniqueArray(randomId, { minLength: 1, maxLength: 3 }) }).map((r) => ({
        ...post("unknown dependencies")(JSON.stringify(envelope(ghost, { nonce: r.nonce, lamport: 10, deps: [...r.deps].sort() as Array<MessageId> }))),
        slow: true
      }))
    },
    {
      weight: 5,
      arbitrary: fc.tuple(seededArb, fc.string({ maxLength: 80 }).filter((t) => !(messageTypes as ReadonlyArray<string>).includes(t))).map(([e, type]) =>
        post("unknown type")(JSON.stringify({ ...e, type }))
      )
    },
    {
      weight: 5,
      arbitrary: fc.tuple(seededArb, fc.oneof(fc.integer({ min: 2, max: 2 ** 31 }), fc.integer({ min: -5, max: 0 }), fc.double()), fc.boolean()).map(([e, n, asFlags]) =>
        post("unsupported protocol")(JSON.stringify(asFlags ? { ...e, flags: isIntegerVersion(n) ? n * 2 : n } : { ...e, v: n }))
      )
    },
    {
      weight: 8,
      arbitrary: fc.tuple(
        fc.oneof(
          fc.constantFrom("text/plain", "application/xml", "multipart/form-data; boundary=x", "application/x-www-form-urlencoded", "application/jsonp", "json", "application/json5", "*/*", "", "application/octet-stream", "text/json"),
          printable
        ),
        seededArb
      ).map(([ct, e]) => ({ ...post("content type")(JSON.stringify(e)), headers: { "content-type": ct, authorization: `Bearer ${w.adminToken}` } }))
    },
    {
      weight: 8,
      arbitrary: fc.tuple(junkSegment, fc.boolean()).map(([s, dependents]): FuzzCase => ({ kind: "invalid id", method: "GET", path: `/v1/messages/${s}${dependents ? "/dependents" : ""}`, headers: {} }))
    },
    {
      weight: 8,
      arbitrary: fc.tuple(fc.constantFrom("limit", "fromLamport", "from", "last-event-id"), junkValue).filter(([name, g]) =>
        name === "limit"
          ? !/^(?:[1-9][0-9]{0,2}|1000)$/.test(g)
          : name === "last-event-id"
          ? !/^(?:0|[1-9][0-9]{0,14})$/.test(g.trim()) && g.trim() !== ""
          : !/^(?:0|[1-9][0-9]{0,14})$/.test(g)
      ).map(([name, g]): FuzzCase =>
        name === "last-event-id"
          ? { kind: "bad Last-Event-ID", method: "GET", path: "/v1/stream", headers: { "last-event-id": g } }
          : { kind: "bad query", method: "GET", path: name === "from" ? `/v1/stream?from=${encodeURIComponent(g)}` : `/v1/messages?${name}=${encodeURIComponent(g)}`, headers: {} }
      )
    },
    // Valid and fresh: accepted (or throttled), so the log's growth is checked against acceptances.
    {
      weight: 1,
      arbitrary: fc.tuple(fc.nat(), fc.nat(1000)).map(([n, latency]) =>
        post("fresh valid")(JSON.stringify(envelope(testKey(`fuzz-fresh-${n}`), { nonce: 1 + (latency % 7), lamport: 1, payload: healthPayload(latency) })))
      )
    }
  ]
}

const hasRequestBody = (o: Operation) => (o.op as Json)["requestBody"] !== undefined
const isSecured = (o: Operation) => Array.isArray((o.op as Json)["security"]) && ((o.op as Json)["security"] as Array<unknown>).length > 0
const parametersOf = (o: Operation, where: string): Array<Json> => (((o.op as Json)["parameters"] ?? []) as Array<Json>).filter((p) => p["in"] === where)
const isEventStream = (o: Operation) => Object.keys(((o.op as Json)["responses"]?.["200"]?.["content"] ?? {}) as Json).includes("text/event-stream")

const authorization = (w: FuzzWorld) =>
  fc.oneof(
    { weight: 6, arbitrary: fc.constant(undefined) },
    { weight: 2, arbitrary: fc.constant(`Bearer ${w.adminToken}`) },
    {
      weight: 6,
      arbitrary: fc.oneof(
        fc.stringMatching(/^[A-Za-z0-9_-]{1,64}$/).map((t) => `Bearer ${t}`),
        fc.constantFrom("Bearer", "Bearer ", "bearer", "Basic YWRtaW46YWRtaW4=", "Token abc", "Bearer a b", "", "Bearer\t", "BEARER " + "x".repeat(43)),
        fc.constant(`Bearer ${w.adminToken.slice(0, -1)}`),
        fc.constant(`Bearer ${w.adminToken}x`),
        fc.constant(`bearer   ${w.adminToken.toUpperCase()}`),
        fc.constant(`Bearer ${w.adminToken} ${w.adminToken}`),
        fc.constant(`Bearer ${"A".repeat(8000)}`),
        printable
      )
    }
  )

const extraHeaders = fc.dictionary(
  fc.oneof(
    fc.constantFrom("accept", "accept-encoding", "accept-language", "last-event-id", "x-forwarded-for", "x-request-id", "traceparent", "if-none-match", "origin", "range", "expect", "te", "cookie", "upgrade", "content-encoding"),
    fc.stringMatching(/^x-[a-z0-9-]{1,20}$/)
  ),
  fc.oneof(
    junkValue,
    fc.constantFrom("text/event-stream", "application/json", "*/*", "text/html;q=0.1", "gzip, br", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", "bytes=0-1", "100-continue", "trailers", "websocket", "h2c", "gzip", "chunked")
  ),
  { maxKeys: 4 }
)

const bodyFor = (o: Operation): fc.Arbitrary<{ readonly kind: string; readonly text: string | Uint8Array }> => {
  const schema = (o.op as Json)["requestBody"]?.["content"]?.["application/json"]?.["schema"] as Json | undefined
  const valid = schema === undefined ? fc.jsonValue({ maxDepth: 3 }) : schemaValue(schema)
  return fc.oneof(
    { weight: 4, arbitrary: valid.map((v) => ({ kind: "schema body", text: JSON.stringify(v) ?? "null" })) },
    { weight: 4, arbitrary: valid.chain(mutate).map((v) => ({ kind: "mutated body", text: JSON.stringify(v) ?? "null" })) },
    { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 4 }).map((v) => ({ kind: "JSON body", text: JSON.stringify(v) ?? "null" })) },
    {
      weight: 1,
      arbitrary: valid.chain((v) => {
        const text = JSON.stringify(v) ?? "null"
        return fc.integer({ min: 0, max: Math.max(0, text.length - 1) }).map((n) => ({ kind: "truncated body", text: text.slice(0, n) }))
      })
    },
    { weight: 1, arbitrary: fc.integer({ min: 2, max: 3000 }).map((d) => ({ kind: "nested body", text: "[".repeat(d) + "]".repeat(d) })) },
    { weight: 1, arbitrary: fc.string({ maxLength: 200 }).map((t) => ({ kind: "text body", text: t })) },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 200 }).map((b) => ({ kind: "bytes body", text: b })) }
  )
}

const pathValue = (w: FuzzWorld, p: Json): fc.Arbitrary<string> =>
  fc.oneof(
    { weight: 3, arbitrary: schemaValue((p["schema"] ?? {}) as Json).map((v) => encodeURIComponent(typeof v === "string" ? v : JSON.stringify(v) ?? "")) },
    { weight: 1, arbitrary: fc.constantFrom(...w.seeded.map(idOf)) },
    { weight: 3, arbitrary: junkSegment }
  ).filter((s) => s !== "" && !/^(?:\.|%2e){1,2}$/i.test(s))

const queryPart = (p: Json): fc.Arbitrary<string | undefined> =>
  fc.oneof(
    { weight: 2, arbitrary: fc.constant(undefined) },
    { weight: 2, arbitrary: schemaValue((p["schema"] ?? {}) as Json).map((v) => `${p["name"]}=${encodeURIComponent(typeof v === "string" ? v : JSON.stringify(v) ?? "")}`) },
    { weight: 2, arbitrary: junkValue.map((v) => `${p["name"]}=${encodeURIComponent(v)}`) },
    { weight: 1, arbitrary: fc.constantFrom(`${p["name"]}`, `${p["name"]}=`, `${p["name"]}=1&${p["name"]}=2`, `${p["name"]}[]=1`, `${p["name"]}=%`, `${p["name"]}=%zz`) }
  )

/** One operation of the document, with its inputs generated. */
const operationCase = (w: FuzzWorld, o: Operation): fc.Arbitrary<FuzzCase> => {
  const pathParameters = parametersOf(o, "path")
  const queryParameters = parametersOf(o, "query")
  const headerParameters = parametersOf(o, "header")
  const sendsBody = hasRequestBody(o)
  const secured = isSecured(o)
  return fc.record({
    path: fc.tuple(...pathParameters.map((p) => pathValue(w, p).map((v) => [p["name"] as string, v] as const))),
    query: fc.tuple(...queryParameters.map(queryPart), fc.option(fc.tuple(fc.stringMatching(/^[a-zA-Z_]{1,12}$/), junkValue).map(([k, v]) => `${k}=${encodeURIComponent(v)}`), { freq: 4 })),
    declared: fc.tuple(...headerParameters.map((p) =>
      fc.option(fc.oneof(schemaValue((p["schema"] ?? {}) as Json).map(String), junkValue).map((v) => [p["name"] as string, v] as const), { freq: 3 })
    )),
    auth: authorization(w),
    contentType: fc.oneof(
      { weight: 8, arbitrary: fc.constant("application/json") },
      { weight: 1, arbitrary: fc.constantFrom("application/json; charset=utf-8", "APPLICATION/JSON", "text/plain", "application/x-www-form-urlencoded", "", "application/json;", "application/vnd.api+json") },
      { weight: 1, arbitrary: printable }
    ),
    extra: extraHeaders,
    body: sendsBody ? fc.option(bodyFor(o), { freq: 10 }) : fc.oneof({ weight: 9, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: bodyFor(o) })
  }).map((r): FuzzCase => {
    let path = o.template
    for (const [name, value] of r.path) path = path.replace(`{${name}}`, value)
    const query = r.query.filter((q): q is string => q !== undefined && q !== null)
    const headers: Record<string, string> = { ...r.extra }
    for (const d of r.declared) if (d !== null) headers[d[0]] = d[1]
    if (r.auth !== undefined) headers["authorization"] = r.auth
    if (r.body !== null) headers["content-type"] = r.contentType
    return {
      kind: `${o.method} ${o.template}${r.body !== null ? ` (${r.body.kind})` : ""}`,
      method: o.method,
      path: query.length > 0 ? `${path}?${query.join("&")}` : path,
      headers,
      ...(r.body !== null ? { body: r.body.text } : {}),
      ...(secured && r.auth !== `Bearer ${w.adminToken}` ? { unauthorized: true } : {})
    }
  })
}

/** Routes that are not operations: unknown paths, methods the path does not have, odd targets. */
const offRoute = fc.oneof(
  fc.tuple(fc.constantFrom("GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD", "PROPFIND", "TRACE"), fc.constantFrom(...documentOperations.map((o) => o.template.replace(/\{[^}]+\}/g, "x")))).filter(([m, p]) =>
    !documentOperations.some((o) => o.method === m && new RegExp(`^${o.template.replace(/\{[^}]+\}/g, "[^/]+")}$`).test(p)) && m !== "HEAD" && m !== "TRACE"
  ),
  fc.tuple(fc.constant("GET"), fc.oneof(
    fc.array(junkSegment, { minLength: 1, maxLength: 6 }).map((s) => `/${s.join("/")}`),
    fc.constantFrom("/v1", "/v1/", "/v1//messages", "/v1/messages/", "//healthz", "/%2e%2e/healthz", "/v2/messages", "/healthz/", "/openapi.json/x", "/docs/../healthz", "/v1/messages?%", "/metrics?x=%zz", "/v1/stream?from=1&from=2")
  ))
).map(([method, path]): FuzzCase => ({ kind: "off route", method, path, headers: {} }))

/** A huge header: node answers 431 (in JSON, HttpService's clientError handler). */
const hugeHeader = fc.tuple(fc.constantFrom(...documentOperations.filter((o) => o.method === "GET" && !o.template.includes("{")).map((o) => o.template)), fc.integer({ min: 17_000, max: 40_000 })).map(
  ([path, n]): FuzzCase => ({ kind: "huge header", method: "GET", path, headers: { "x-huge": "h".repeat(n) } })
)

/** Every family, weighted: the arbitrary of one case. */
export const caseArbitrary = (w: FuzzWorld): fc.Arbitrary<FuzzCase> =>
  fc.oneof(
    ...messageFamilies(w),
    ...documentOperations.map((o) => ({ weight: o.template === "/v1/messages" && o.method === "POST" ? 3 : 4, arbitrary: operationCase(w, o) })),
    { weight: 3, arbitrary: offRoute },
    { weight: 1, arbitrary: hugeHeader }
  )

/** Cases every SPECIAL_PERIOD: deep nesting and bodies over the caps (each a few MiB). */
export const SPECIAL_PERIOD = 10_000

const specialCases = (w: FuzzWorld): ReadonlyArray<() => FuzzCase> => {
  const DEPTH = 100_000
  const nestedArrays = "[".repeat(DEPTH) + "]".repeat(DEPTH)
  const nestedObjects = "{\"a\":".repeat(DEPTH) + "1" + "}".repeat(DEPTH)
  const base = JSON.stringify(w.seeded[0]).slice(0, -1)
  const post = (kind: string) => (body: string) => messagesPost(kind, body, w.adminToken)
  const overCap = Math.ceil(w.maxMessagesBody / MiB) + 1
  const firstSecured = documentOperations.find((o) => isSecured(o) && hasRequestBody(o) && !o.template.includes("{"))
  return [
    () => post("deep nesting")(nestedArrays),
    () => post("deep nesting")(nestedObjects),
    () => post("deep nesting")(`${base},"payload":${nestedArrays}}`),
    () => post("deep nesting")(`{"v":1,"deps":${nestedArrays}}`),
    () => post("deep nesting")(`[${nestedObjects}]`),
    () => post("empty batch")("[]"),
    () => post("batch over the limit")(JSON.stringify(Array.from({ length: w.maxBatch + 1 }, () => w.seeded[0]))),
    () => post("batch of duplicates")(JSON.stringify(w.seeded)),
    () => post("over the cap")(JSON.stringify({ pad: "x".repeat(overCap * MiB) })),
    () => ({ ...post("over the cap")(""), body: { chunks: overCap, chunk: new TextEncoder().encode("z".repeat(MiB)) } }),
    () => post("large, under the cap")(`${base},"pad":"${"w".repeat(Math.floor(w.maxMessagesBody / 2))}"}`),
    ...documentOperations.filter((o) => hasRequestBody(o) && o.template !== "/v1/messages").map((o) => () => ({
      kind: `over the JSON cap ${o.method} ${o.template}`,
      method: o.method,
      path: o.template.replace(/\{[^}]+\}/g, "x"),
      headers: { ...jsonHeaders, authorization: `Bearer ${w.adminToken}` },
      body: { chunks: 9, chunk: new TextEncoder().encode(" ".repeat(MiB)) }
    })),
    ...(firstSecured === undefined ? [] : [() => ({
      kind: `deep nesting ${firstSecured.method} ${firstSecured.template}`,
      method: firstSecured.method,
      path: firstSecured.template,
      headers: { ...jsonHeaders, authorization: `Bearer ${w.adminToken}` },
      body: "{\"a\":".repeat(50_000) + "1" + "}".repeat(50_000)
    })])
  ]
}

/** The cases of one seed, by index: `at(i)` is always the same case. */
export const fuzzCases = (w: FuzzWorld, seed: number): { readonly at: (index: number) => FuzzCase } => {
  const CHUNK = 1000
  const arbitrary = caseArbitrary(w)
  const specials = specialCases(w)
  let chunkIndex = -1
  let chunk: Array<FuzzCase> = []
  return {
    at: (index) => {
      const k = index % SPECIAL_PERIOD
      if (k < specials.length) return (specials[k] as () => FuzzCase)()
      const c = Math.floor(index / CHUNK)
      if (c !== chunkIndex) {
        chunk = fc.sample(arbitrary, { seed: (seed + Math.imul(c, 0x9e3779b1)) | 0, numRuns: CHUNK })
        chunkIndex = c
      }
      return chunk[index % CHUNK] as FuzzCase
    }
  }
}

// ---------------------------------------------------------------------------------------
// Checking
// ---------------------------------------------------------------------------------------

const hasReason = (v: unknown): boolean =>
  typeof v === "object" && v !== null && "reason" in v && typeof v.reason === "string" && v.reason.length > 0

const hasTag = (v: unknown): boolean => typeof v === "object" && v !== null && "_tag" in v && typeof v._tag === "string" && v._tag.length > 0

const parse = (text: string): unknown => {
  try {
    return JSON.parse(text)
  } catch {
    return undefined
  }
}

/** The result of one case. */
export interface Outcome {
  readonly status: number
  /** Messages this answer says were appended (accepted messages and batch elements, receipts of state-changing operations). */
  readonly appended: number
  readonly problem?: string
  readonly text: string
}

const appendedBy = (c: FuzzCase, status: number, body: unknown): number => {
  if (status < 200 || status >= 300 || c.method === "GET") return 0
  if (c.method === "POST" && c.path.split("?")[0] === "/v1/messages") {
    if (typeof body === "object" && body !== null && "results" in body && Array.isArray(body.results)) {
      return body.results.filter((r: unknown) => typeof r === "object" && r !== null && "ok" in r && r.ok === true).length
    }
    return status === 201 ? 1 : 0
  }
  // A state-changing operation that published a message as the instance answers with its receipt
  // (`receipt`, or the receipt's id and offset at the top); computations (verify-ordering, …) have none.
  const isReceipt = (v: unknown) => typeof v === "object" && v !== null && "offset" in v && typeof v.offset === "number" && "id" in v && typeof v.id === "string"
  if (typeof body === "object" && body !== null && "receipt" in body && isReceipt(body.receipt)) return 1
  return isReceipt(body) ? 1 : 0
}

/** Why an answer is wrong, or undefined. */
export const check = (c: FuzzCase, status: number, headers: IncomingHttpHeaders, text: string): Outcome => {
  const body = parse(text)
  const appended = appendedBy(c, status, body)
  const problem = (): string | undefined => {
    if (status >= 500) return `status ${status}`
    if (status < 200 || status > 499) return `status ${status}`
    if (c.unauthorized === true && status < 400) return `answered ${status} without a valid token`
    if (status >= 400) {
      if (body === undefined) return "error body is not JSON"
      if (!hasTag(body)) return "error body has no _tag"
      if (!hasReason(body)) return "error body has no reason"
      if (status === 401 && headers["www-authenticate"] === undefined && c.unauthorized === true) return "401 without WWW-Authenticate"
    }
    if (typeof body === "object" && body !== null && "results" in body && Array.isArray(body.results)) {
      for (const r of body.results as Array<unknown>) {
        if (typeof r !== "object" || r === null || !("ok" in r)) return "a batch result has no ok"
        if (r.ok === false) {
          const s = "status" in r ? r.status : undefined
          if (typeof s !== "number" || s < 400 || s >= 500) return `a batch element got ${String(s)}`
          if (!("error" in r) || !hasReason(r.error)) return "a batch element has no reason"
        }
      }
    }
    return undefined
  }
  const why = problem()
  return why === undefined ? { status, appended, text } : { status, appended, text, problem: why }
}

// ---------------------------------------------------------------------------------------
// Sending
// ---------------------------------------------------------------------------------------

/** Most of an answer's body kept for the check (the rest is read and dropped). */
const KEEP = 64 * 1024

/** Send one case over `agent` (keep-alive) and check its answer; event streams are aborted after their headers. */
export const send = (base: URL, agent: Agent, c: FuzzCase, timeoutMs = 30_000, retried = false): Promise<Outcome> =>
  new Promise((resolvePromise) => {
    let settled = false
    const settle = (o: Outcome) => {
      if (settled) return
      settled = true
      resolvePromise(o)
    }
    let req: ReturnType<typeof httpRequest>
    try {
      req = httpRequest({ host: base.hostname, port: base.port, method: c.method, path: c.path, headers: c.headers, agent, timeout: timeoutMs })
    } catch (cause) {
      // The client refuses to send it (a character node:http will not put in a request line or header).
      return settle({ status: -1, appended: 0, text: String(cause) })
    }
    req.on("response", (res) => {
      const type = String(res.headers["content-type"] ?? "")
      if (type.startsWith("text/event-stream")) {
        const outcome = res.statusCode === 200
          ? { status: 200, appended: 0, text: "" }
          : { status: res.statusCode ?? 0, appended: 0, text: "", problem: `event stream answered ${res.statusCode}` }
        req.destroy()
        return settle(outcome)
      }
      const parts: Array<Buffer> = []
      let kept = 0
      res.on("data", (d: Buffer) => {
        if (kept < KEEP) {
          parts.push(d)
          kept += d.length
        }
      })
      res.on("end", () => settle(check(c, res.statusCode ?? 0, res.headers, Buffer.concat(parts).toString("utf8").slice(0, KEEP))))
      res.on("error", (e) => settle({ status: res.statusCode ?? 0, appended: 0, text: "", problem: `response failed: ${e.message}` }))
    })
    req.on("timeout", () => {
      req.destroy(new Error(`no answer within ${timeoutMs} ms`))
    })
    req.on("error", (e: NodeJS.ErrnoException) => {
      if (settled) return
      // A kept-alive socket the server closed as the request went out: send again once (node's advice).
      if (!retried && req.reusedSocket && e.code === "ECONNRESET") {
        settled = true
        return void send(base, agent, c, timeoutMs, true).then(resolvePromise)
      }
      // node's client refuses some answers it provoked itself (a body sent with `Expect: 100-continue`
      // answered early, with `connection: close`): ask again over a bare socket and check what the server said.
      if (!retried && e.code?.startsWith("HPE_") === true) {
        settled = true
        return void sendRaw(base, c, timeoutMs).then(resolvePromise)
      }
      settle({ status: 0, appended: 0, text: "", problem: `request failed: ${e.code ?? e.message}` })
    })
    const body = c.body
    if (body === undefined) req.end()
    else if (typeof body === "string" || body instanceof Uint8Array) req.end(body)
    else {
      let sent = 0
      const pump = () => {
        while (sent < body.chunks) {
          sent++
          if (!req.write(body.chunk)) return void req.once("drain", pump)
        }
        req.end()
      }
      pump()
    }
  })

/** Send one case over a fresh socket as bytes (with `connection: close`) and check the final answer. */
const sendRaw = (base: URL, c: FuzzCase, timeoutMs: number): Promise<Outcome> =>
  new Promise((resolvePromise) => {
    const b = c.body
    const body = b === undefined ? Buffer.alloc(0) : typeof b === "string" || b instanceof Uint8Array ? Buffer.from(b) : Buffer.concat(Array.from({ length: b.chunks }, () => b.chunk))
    const head = [`${c.method} ${c.path} HTTP/1.1`, `host: ${base.host}`, ...Object.entries(c.headers).map(([k, v]) => `${k}: ${v}`), `content-length: ${body.length}`, "connection: close", "", ""].join("\r\n")
    const socket = connect(Number(base.port), base.hostname)
    const parts: Array<Buffer> = []
    socket.setTimeout(timeoutMs, () => socket.destroy())
    socket.on("data", (d: Buffer) => parts.push(d))
    socket.on("error", () => undefined)
    socket.on("close", () => {
      const text = Buffer.concat(parts).toString("latin1")
      // Skip interim (1xx) answers; the final one decides.
      const answers = text.split(/(?=HTTP\/1\.1 \d{3} )/u).filter((a) => !/^HTTP\/1\.1 1\d\d /u.test(a))
      const final = answers[0] ?? ""
      const m = /^HTTP\/1\.1 (\d{3}) /u.exec(final)
      if (m === null) return resolvePromise({ status: 0, appended: 0, text: "", problem: "no answer over a bare socket either" })
      const split = final.indexOf("\r\n\r\n")
      const headers: IncomingHttpHeaders = {}
      for (const line of final.slice(0, split).split("\r\n").slice(1)) {
        const colon = line.indexOf(":")
        if (colon > 0) headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim()
      }
      resolvePromise(check(c, Number(m[1]), headers, Buffer.from(final.slice(split + 4), "latin1").toString("utf8")))
    })
    socket.end(Buffer.concat([Buffer.from(head, "latin1"), body]))
  })

/** The figures of a run. */
export interface Summary {
  readonly cases: number
  readonly statuses: Record<string, number>
  readonly appended: number
  /** Cases node:http would not send (counted, not sent). */
  readonly unsendable: number
  readonly failures: ReadonlyArray<{ readonly index: number; readonly kind: string; readonly request: string; readonly status: number; readonly problem: string; readonly body: string }>
  readonly failureCount: number
  readonly byKind: Record<string, Record<string, number>>
  /** Milliseconds spent on each family's cases (summed over their requests), and the slowest one. */
  readonly timeByKind: Record<string, { readonly totalMs: number; readonly maxMs: number }>
}

/** A failure as one line: enough to reproduce it (seed and index) and to read it. */
export const describeFailure = (seed: number, f: Summary["failures"][number]): string =>
  `seed ${seed} index ${f.index} [${f.kind}] ${f.request} -> ${f.status} ${f.body} (${f.problem})`

/**
 * The 503s a server answers when a bounded worker is full (the ordering check's, the proof
 * verifier's): documented load shedding whose reason says to retry. A client retries them, so
 * the run does too (a second later, a few times) and checks the answer it then gets; which
 * cases land together depends on the document's operations, not on the server.
 */
const RETRY_LATER: ReadonlySet<string> = new Set(["VerifierBusy", "VerifierUnavailable"])

const sendRetryingBusy = async (base: URL, agent: Agent, c: FuzzCase, timeoutMs: number | undefined): Promise<Outcome> => {
  for (let attempt = 0; ; attempt++) {
    const o = await send(base, agent, c, timeoutMs)
    const tag = o.status === 503 ? (parse(o.text) as { readonly _tag?: unknown } | undefined)?._tag : undefined
    if (attempt >= 3 || typeof tag !== "string" || !RETRY_LATER.has(tag)) return o
    await new Promise((r) => setTimeout(r, 1000))
  }
}

/**
 * Run cases `from` .. `from + count - 1` of `seed` against `base` with `concurrency` requests
 * in flight (keep-alive); slow cases (held for unknown dependencies) run on their own lane of
 * `slowConcurrency` so they do not stall the rest.
 */
export const run = async (options: {
  readonly base: string
  readonly world: FuzzWorld
  readonly seed: number
  readonly count: number
  readonly from?: number
  readonly concurrency?: number
  readonly slowConcurrency?: number
  readonly timeoutMs?: number
  readonly onProgress?: (done: number, summary: Summary) => void
  readonly progressEvery?: number
}): Promise<Summary> => {
  const base = new URL(options.base)
  const concurrency = options.concurrency ?? 16
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency + (options.slowConcurrency ?? 64) })
  const cases = fuzzCases(options.world, options.seed)
  const from = options.from ?? 0
  const end = from + options.count
  const statuses: Record<string, number> = {}
  const byKind: Record<string, Record<string, number>> = {}
  const failures: Array<Summary["failures"][number]> = []
  let failureCount = 0
  let appended = 0
  let unsendable = 0
  let done = 0
  const timeByKind: Record<string, { totalMs: number; maxMs: number }> = {}
  const summary = (): Summary => ({ cases: done, statuses: { ...statuses }, appended, unsendable, failures, failureCount, byKind, timeByKind })
  const record = (index: number, c: FuzzCase, o: Outcome, ms: number) => {
    done++
    if (o.status === -1) unsendable++
    const key = String(o.status)
    statuses[key] = (statuses[key] ?? 0) + 1
    const family = c.kind.replace(/ \(.*\)$/, "")
    const k = (byKind[family] ??= {})
    k[key] = (k[key] ?? 0) + 1
    appended += o.appended
    const t = (timeByKind[family] ??= { totalMs: 0, maxMs: 0 })
    t.totalMs += ms
    t.maxMs = Math.max(t.maxMs, ms)
    if (o.problem !== undefined) {
      failureCount++
      if (failures.length < 50) {
        const body = typeof c.body === "string" ? JSON.stringify(c.body.slice(0, 160)) : c.body === undefined ? "none" : c.body instanceof Uint8Array ? `${c.body.length} bytes` : "streamed"
        failures.push({ index, kind: c.kind, request: `${c.method} ${c.path.slice(0, 160)} ${JSON.stringify(c.headers).slice(0, 300)} body=${body}`, status: o.status, problem: o.problem, body: o.text.slice(0, 200) })
      }
    }
    if (options.onProgress !== undefined && done % (options.progressEvery ?? 10_000) === 0) options.onProgress(done, summary())
  }
  const slow = new Set<Promise<void>>()
  const slowLimit = options.slowConcurrency ?? 64
  let next = from
  const worker = async () => {
    while (next < end) {
      const index = next++
      const c = cases.at(index)
      if (c.slow === true) {
        while (slow.size >= slowLimit) await Promise.race(slow)
        const t = performance.now()
        const p: Promise<void> = sendRetryingBusy(base, agent, c, options.timeoutMs).then((o) => record(index, c, o, performance.now() - t)).finally(() => slow.delete(p))
        slow.add(p)
        continue
      }
      const t = performance.now()
      record(index, c, await sendRetryingBusy(base, agent, c, options.timeoutMs), performance.now() - t)
    }
  }
  await Promise.all(Array.from({ length: concurrency }, worker))
  await Promise.all(slow)
  agent.destroy()
  return summary()
}
