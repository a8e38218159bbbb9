/**
 * Over ten thousand generated malformed requests against a real server: every answer must
 * be a 4xx with a JSON `reason`, none a 5xx, the server must stay healthy, and the log must
 * not move. Seeded messages supply the duplicates, replayed nonces and signature templates.
 *
 * A JSON array body is a batch: it answers 200 with one result per element, so for those
 * the check is that every element was refused with a 4xx status and a reason.
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Effect, Exit, Layer, Scope } from "effect"
import fc from "fast-check"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { canonicalize } from "../../src/domain/CanonicalJson.ts"
import { type Envelope, idOf } from "../../src/domain/Envelope.ts"
import type { KeyFile } from "../../src/domain/Keys.ts"
import { messageTypes } from "../../src/domain/MessageTypes.ts"
import type { MessageId } from "../../src/domain/Primitives.ts"
import { envelope, healthPayload, testKey } from "../support/fixtures.ts"
import * as Server from "./support/server.ts"

const SEED = Number(process.env["CAUSEWAY_FC_SEED"] ?? 20_260_521)
const MAX_BATCH = 64
const MiB = 1024 * 1024
const CONCURRENCY = 16

interface Case {
  readonly kind: string
  readonly method: "GET" | "POST"
  readonly path: string
  readonly headers?: Record<string, string>
  readonly body?: string | Uint8Array | (() => ReadableStream<Uint8Array>)
}

const json = { "content-type": "application/json" }
const postJson = (kind: string, body: string | Uint8Array): Case => ({ kind, method: "POST", path: "/v1/messages", headers: json, body })
const sample = <A>(arb: fc.Arbitrary<A>, numRuns: number, offset: number): Array<A> => fc.sample(arb, { numRuns, seed: SEED + offset })

// ---------------------------------------------------------------------------------------
// Seeded log: three senders, four messages each
// ---------------------------------------------------------------------------------------

const keys: ReadonlyArray<KeyFile> = [testKey("bad-a"), testKey("bad-b"), testKey("bad-c", "secp256k1")]
const seeded: ReadonlyArray<Envelope> = keys.flatMap((k) => [1, 2, 3, 4].map((n) => envelope(k, { nonce: n, lamport: n })))
const HIGHEST_NONCE = 4

const printable = fc.stringMatching(/^[ -~]{0,40}$/)
const envelopeFields = ["v", "flags", "type", "scheme", "sender", "nonce", "lamport", "deps", "expiry", "payload", "sig"] as const
const seededArb = fc.constantFrom(...seeded)
const randomId = fc.stringMatching(/^[0-9a-f]{64}$/)

/** Every generated case, by family. */
const generate = (): Array<Case> => {
  const cases: Array<Case> = []

  // JSON of the wrong type (not an object, or an object that is not an envelope)
  const notArray = fc.jsonValue({ maxDepth: 4 }).filter((v) => !Array.isArray(v))
  for (const v of sample(notArray, 1200, 1)) cases.push(postJson("wrong JSON type", JSON.stringify(v) ?? "null"))
  for (const v of sample(fc.oneof(fc.integer(), fc.double(), fc.boolean(), fc.constant(null), fc.string()), 300, 2)) {
    cases.push(postJson("JSON scalar", JSON.stringify(v) ?? "null"))
  }

  // batches of junk, and batches over the limit
  for (const v of sample(fc.array(fc.jsonValue({ maxDepth: 3 }), { minLength: 1, maxLength: 20 }), 300, 3)) {
    cases.push(postJson("junk batch", JSON.stringify(v)))
  }
  cases.push(postJson("empty batch", "[]"))
  for (const n of [MAX_BATCH + 1, MAX_BATCH * 3]) cases.push(postJson("batch over the limit", JSON.stringify(Array.from({ length: n }, () => seeded[0]))))
  cases.push(postJson("batch of duplicates", JSON.stringify(seeded)))

  // truncated, mutated and non-JSON bodies
  const truncated = seededArb.chain((e) => {
    const text = JSON.stringify(e)
    return fc.integer({ min: 0, max: text.length - 1 }).map((n) => text.slice(0, n))
  })
  for (const t of sample(truncated, 1000, 4)) cases.push(postJson("truncated JSON", t))
  const mutated = seededArb.chain((e) => {
    const text = JSON.stringify(e)
    return fc.tuple(fc.integer({ min: 0, max: text.length - 1 }), fc.stringMatching(/^[ -~]$/)).map(([i, c]) => text.slice(0, i) + c + text.slice(i + 1))
  })
  for (const t of sample(mutated, 800, 5)) cases.push(postJson("mutated JSON", t))
  for (const t of sample(fc.string({ maxLength: 200 }), 400, 6)) cases.push(postJson("random text", t))
  for (const b of sample(fc.uint8Array({ maxLength: 300 }), 300, 7)) cases.push(postJson("random bytes", b))

  // envelope fields of the wrong type, missing or extra
  const wrongField = fc.tuple(seededArb, fc.constantFrom(...envelopeFields), fc.jsonValue({ maxDepth: 3 }), fc.constantFrom("replace", "delete", "extra"))
  for (const [e, field, value, how] of sample(wrongField, 1500, 8)) {
    const o: Record<string, unknown> = { ...e }
    if (how === "replace") o[field] = value
    else if (how === "delete") delete o[field]
    else o[`x_${field}`] = value
    cases.push(postJson("wrong field", JSON.stringify(o)))
  }

  // bad signatures: one hex digit of a valid signature changed
  const flipped = fc.tuple(seededArb, fc.nat(), fc.integer({ min: 1, max: 15 })).map(([e, i, x]) => {
    const at = i % e.sig.length
    const digit = (parseInt(e.sig[at] as string, 16) ^ x).toString(16)
    return { ...e, sig: e.sig.slice(0, at) + digit + e.sig.slice(at + 1) }
  })
  for (const e of sample(flipped, 1000, 9)) cases.push(postJson("bad signature", JSON.stringify(e)))

  // duplicates of seeded messages, exactly as sent, canonical, or reordered
  for (const [e, form] of sample(fc.tuple(seededArb, fc.constantFrom("same", "canonical", "reversed")), 500, 10)) {
    const text = form === "same" ? JSON.stringify(e) : form === "canonical" ? canonicalize(e) : JSON.stringify(Object.fromEntries(Object.entries(e).reverse()))
    cases.push(postJson("duplicate", text))
  }

  // replayed nonces: fresh, validly signed messages whose nonce is not above the sender's highest
  const replay = fc.record({ key: fc.constantFrom(...keys), nonce: fc.integer({ min: 0, max: HIGHEST_NONCE }), lamport: fc.integer({ min: 1, max: 1000 }), latency: fc.nat(1_000_000) })
  for (const r of sample(replay, 400, 11)) {
    cases.push(postJson("replayed nonce", JSON.stringify(envelope(r.key, { nonce: r.nonce, lamport: r.lamport, payload: healthPayload(r.latency) }))))
  }

  // unknown dependencies: valid in every other way; held, then refused after pendingTimeoutMs
  const ghost = testKey("bad-ghost")
  const unknownDeps = fc.record({ nonce: fc.integer({ min: 1000, max: 1_000_000 }), deps: fc.uniqueArray(randomId, { minLength: 1, maxLength: 3 }) })
  for (const r of sample(unknownDeps, 300, 12)) {
    cases.push(postJson("unknown dependencies", JSON.stringify(envelope(ghost, { nonce: r.nonce, lamport: 10, deps: [...r.deps].sort() as Array<MessageId> }))))
  }

  // unknown types, unsupported versions and feature flags
  const unknownType = fc.tuple(seededArb, fc.string({ maxLength: 80 }).filter((t) => !(messageTypes as ReadonlyArray<string>).includes(t)))
  for (const [e, type] of sample(unknownType, 500, 13)) cases.push(postJson("unknown type", JSON.stringify({ ...e, type })))
  const version = fc.tuple(seededArb, fc.oneof(fc.integer({ min: 2, max: 2 ** 31 }), fc.integer({ min: -5, max: 0 }), fc.double()), fc.boolean())
  for (const [e, n, asFlags] of sample(version, 500, 14)) {
    cases.push(postJson("unsupported protocol", JSON.stringify(asFlags ? { ...e, flags: Number.isInteger(n) && n > 1 ? n * 2 : n } : { ...e, v: n })))
  }

  // garbage content types (a duplicate as the body: read as JSON, it is refused too)
  const contentType = fc.oneof(
    fc.constantFrom("text/plain", "application/xml", "multipart/form-data; boundary=x", "application/x-www-form-urlencoded", "application/jsonp", "json", "application/json5", "*/*", "", "application/octet-stream", "text/json"),
    printable
  )
  for (const [ct, e] of sample(fc.tuple(contentType, seededArb), 800, 15)) {
    cases.push({ kind: "content type", method: "POST", path: "/v1/messages", headers: { "content-type": ct }, body: JSON.stringify(e) })
  }

  // invalid ids in paths
  const segment = fc.oneof(
    fc.stringMatching(/^[0-9a-f]{1,63}$/),
    fc.stringMatching(/^[0-9a-f]{65,100}$/),
    fc.stringMatching(/^[0-9a-fA-F]{64}$/).filter((s) => /[A-F]/.test(s)),
    fc.stringMatching(/^[ -~]{1,80}$/).map(encodeURIComponent),
    fc.stringMatching(/^(?:%[0-9a-zA-Z]{0,2}|[a-z0-9]){1,20}$/)
  ).filter((s) => !/^[0-9a-f]{64}$/.test(s) && !/^(?:\.|%2e){1,2}$/i.test(s))
  for (const [s, dependents] of sample(fc.tuple(segment, fc.boolean()), 800, 16)) {
    cases.push({ kind: "invalid id", method: "GET", path: `/v1/messages/${s}${dependents ? "/dependents" : ""}` })
  }

  // bad query parameters and Last-Event-ID
  const isOffset = (s: string) => /^(?:0|[1-9][0-9]{0,14})$/.test(s)
  const isLimit = (s: string) => /^(?:[1-9][0-9]{0,2}|1000)$/.test(s)
  const garbage = fc.oneof(printable, fc.integer({ min: -1000, max: 100_000 }).map(String), fc.double().map(String), fc.constantFrom("", "1e3", "0x10", "01", " 1", "1001", "0"))
  const query = fc.tuple(fc.constantFrom("limit", "fromLamport", "from", "last-event-id"), garbage).filter(([name, g]) =>
    name === "limit" ? !isLimit(g) : name === "last-event-id" ? !isOffset(g.trim()) && g.trim() !== "" : !isOffset(g)
  )
  for (const [name, g] of sample(query, 800, 17)) {
    if (name === "last-event-id") cases.push({ kind: "bad Last-Event-ID", method: "GET", path: "/v1/stream", headers: { "last-event-id": g } })
    else if (name === "from") cases.push({ kind: "bad query", method: "GET", path: `/v1/stream?from=${encodeURIComponent(g)}` })
    else cases.push({ kind: "bad query", method: "GET", path: `/v1/messages?${name}=${encodeURIComponent(g)}` })
  }

  // huge bodies: over the 8 MiB cap (declared, and streamed without a length), and deep nesting
  const DEPTH = 100_000
  const nestedArrays = "[".repeat(DEPTH) + "]".repeat(DEPTH)
  const nestedObjects = "{\"a\":".repeat(DEPTH) + "1" + "}".repeat(DEPTH)
  const base = JSON.stringify(seeded[0]).slice(0, -1)
  cases.push(postJson("deep nesting", nestedArrays))
  cases.push(postJson("deep nesting", nestedObjects))
  cases.push(postJson("deep nesting", `${base},"payload":${nestedArrays}}`))
  cases.push(postJson("deep nesting", `{"v":1,"deps":${nestedArrays}}`))
  cases.push(postJson("deep nesting", `[${nestedObjects}]`))
  cases.push(postJson("over the cap", JSON.stringify({ pad: "x".repeat(8 * MiB) })))
  cases.push(postJson("over the cap", `[${Array.from({ length: 9 * 1024 }, () => JSON.stringify({ pad: "y".repeat(1000) })).join(",")}]`))
  cases.push({
    kind: "over the cap",
    method: "POST",
    path: "/v1/messages",
    headers: json,
    body: () => {
      const chunk = new TextEncoder().encode("z".repeat(MiB))
      let sent = 0
      return new ReadableStream<Uint8Array>({
        pull(c) {
          if (sent++ < 9) c.enqueue(chunk)
          else c.close()
        }
      })
    }
  })
  cases.push(postJson("large, under the cap", `${base},"pad":"${"w".repeat(4 * MiB)}"}`))
  return cases
}

// ---------------------------------------------------------------------------------------
// Running and checking
// ---------------------------------------------------------------------------------------

interface Outcome {
  readonly c: Case
  readonly status: number
  readonly text: string
  readonly problem?: string
}

const isBatchBody = (c: Case): number | undefined => {
  if (c.method !== "POST" || typeof c.body !== "string") return undefined
  const ct = (c.headers?.["content-type"] ?? "").split(";")[0]?.trim().toLowerCase()
  if (ct !== "application/json") return undefined
  try {
    const v = JSON.parse(c.body)
    return Array.isArray(v) && v.length >= 1 && v.length <= MAX_BATCH ? v.length : undefined
  } catch {
    return undefined
  }
}

const hasReason = (v: unknown): boolean =>
  typeof v === "object" && v !== null && "reason" in v && typeof v.reason === "string" && v.reason.length > 0

const check = (c: Case, status: number, text: string): string | undefined => {
  let body: any
  try {
    body = JSON.parse(text)
  } catch {
    return "body is not JSON"
  }
  const batch = isBatchBody(c)
  if (batch !== undefined) {
    if (status !== 200) return `batch answered ${status}`
    if (!Array.isArray(body.results) || body.results.length !== batch) return "batch results do not match the batch"
    for (const r of body.results) {
      if (r.ok !== false) return "a batch element was accepted"
      if (!(r.status >= 400 && r.status < 500)) return `a batch element got ${r.status}`
      if (!hasReason(r.error)) return "a batch element has no reason"
    }
    return undefined
  }
  if (!(status >= 400 && status < 500)) return `status ${status}`
  if (!hasReason(body)) return "no reason"
  return undefined
}

const send = async (base: string, c: Case): Promise<Outcome> => {
  try {
    const body = typeof c.body === "function" ? c.body() : c.body
    const response = await fetch(base + c.path, {
      method: c.method,
      headers: c.headers,
      body,
      signal: AbortSignal.timeout(20_000),
      ...(typeof c.body === "function" ? { duplex: "half" } : {})
    } as RequestInit)
    const text = await response.text()
    const problem = check(c, response.status, text)
    return problem === undefined ? { c, status: response.status, text } : { c, status: response.status, text, problem }
  } catch (cause) {
    return { c, status: 0, text: "", problem: `request failed: ${String(cause)}` }
  }
}

const runAll = async (base: string, cases: ReadonlyArray<Case>): Promise<Array<Outcome>> => {
  const out: Array<Outcome> = new Array(cases.length)
  let next = 0
  const worker = async () => {
    while (next < cases.length) {
      const i = next++
      out[i] = await send(base, cases[i] as Case)
    }
  }
  await Promise.all(Array.from({ length: CONCURRENCY }, worker))
  return out
}

// ---------------------------------------------------------------------------------------

describe("bad input", () => {
  let scope: Scope.Closeable
  let base = ""
  let dataDir = ""

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), "causeway-bad-"))
    scope = Effect.runSync(Scope.make())
    const context = await Effect.runPromise(Layer.buildWithScope(Server.layer({ dataDir, ingest: { pendingTimeoutMs: 50, maxBatch: MAX_BATCH } }), scope))
    base = (context.mapUnsafe.get(Server.TestServer.key) as Server.TestServerInfo).base
    for (const e of seeded) {
      const r = await fetch(`${base}/v1/messages`, { method: "POST", body: JSON.stringify(e), headers: json })
      if (r.status !== 201) throw new Error(`seeding failed: ${r.status} ${await r.text()}`)
    }
  }, 60_000)

  afterAll(async () => {
    await Effect.runPromise(Scope.close(scope, Exit.void))
    rmSync(dataDir, { recursive: true, force: true })
  }, 60_000)

  const endOffset = async () => {
    const text = await (await fetch(`${base}/metrics`)).text()
    return Server.sample(text, "causeway_log_end_offset")
  }

  it("answers every malformed request with a 4xx and a reason, and the log does not move", async () => {
    const before = await endOffset()
    expect(before).toBe(seeded.length)
    const cases = generate()
    expect(cases.length).toBeGreaterThanOrEqual(10_000)
    const started = Date.now()
    const outcomes = await runAll(base, cases)
    const elapsed = Date.now() - started

    const serverErrors = outcomes.filter((o) => o.status >= 500)
    const problems = outcomes.filter((o) => o.problem !== undefined)
    const report = problems.slice(0, 10).map((o) =>
      `${o.c.kind}: ${o.c.method} ${o.c.path.slice(0, 120)} ${JSON.stringify(o.c.headers ?? {})} body=${typeof o.c.body === "string" ? JSON.stringify(o.c.body.slice(0, 160)) : typeof o.c.body} -> ${o.status} ${o.text.slice(0, 200)} (${o.problem})`
    )
    expect(serverErrors.length, report.join("\n")).toBe(0)
    expect(problems.length, `seed ${SEED}\n${report.join("\n")}`).toBe(0)

    // every family was exercised and answered as expected
    const byKind = new Map<string, Map<number, number>>()
    for (const o of outcomes) {
      const m = byKind.get(o.c.kind) ?? new Map<number, number>()
      m.set(o.status, (m.get(o.status) ?? 0) + 1)
      byKind.set(o.c.kind, m)
    }
    if (process.env["CAUSEWAY_BAD_INPUT_REPORT"]) console.log(cases.length, elapsed, [...byKind].map(([k, m]) => `${k}: ${[...m].map(([s, n]) => `${s}x${n}`).join(" ")}`).join("\n"))
    const statuses = (kind: string) => [...(byKind.get(kind)?.keys() ?? [])].sort()
    expect(statuses("bad signature")).toEqual([401])
    expect(statuses("duplicate")).toEqual([409])
    expect(statuses("replayed nonce")).toEqual([409])
    expect(statuses("unknown dependencies")).toEqual([424])
    expect(statuses("over the cap")).toEqual([413])
    expect(statuses("content type")).toContain(415)
    expect(statuses("unsupported protocol")).toContain(400)
    expect(statuses("invalid id")).toContain(400)
    expect(statuses("bad query")).toEqual([400])
    expect(statuses("bad Last-Event-ID")).toEqual([400])

    expect((await fetch(`${base}/healthz`)).status).toBe(200)
    expect(await endOffset()).toBe(before)
    const projections = (await (await fetch(`${base}/v1/projections`)).json()) as Array<{ offset: number }>
    expect(projections[0]?.offset).toBe(before)
    // the seeded messages are all still there, and nothing else
    const listed = (await (await fetch(`${base}/v1/messages?limit=1000`)).json()) as Array<{ id: string }>
    expect(listed.map((r) => r.id).sort()).toEqual(seeded.map(idOf).sort())
    expect(elapsed).toBeLessThan(60_000)
  }, 120_000)
})
