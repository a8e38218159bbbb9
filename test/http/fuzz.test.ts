/**
 * The CI-sized HTTP fuzz run: 10,000 cases of test/http/support/httpFuzz.ts (every operation of
 * the OpenAPI document with generated parameters, headers and bodies, and envelopes mutated from
 * valid signed ones; `npm run fuzz:http` runs a million against a `causeway serve` child) against
 * the in-process test server. No answer is a 5xx, every 4xx is JSON with `_tag` and `reason`, no
 * operation with `security` succeeds without a valid token, the server stays healthy, and the log
 * moved by exactly the messages answered as accepted.
 */
import { Agent } from "node:http"
import { Effect, Exit, Layer, Scope } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { idOf } from "../../src/domain/Envelope.ts"
import { describeFailure, type FuzzWorld, run, send, world } from "./support/httpFuzz.ts"
import * as Server from "./support/server.ts"

const SEED = Number(process.env["CAUSEWAY_FC_SEED"] ?? 20_260_521)
const COUNT = 10_000
const MAX_BATCH = 64

describe("HTTP fuzz", () => {
  let scope: Scope.Closeable
  let base = ""
  let w: FuzzWorld

  beforeAll(async () => {
    scope = Effect.runSync(Scope.make())
    const context = await Effect.runPromise(Layer.buildWithScope(Server.layer({ ingest: { pendingTimeoutMs: 50, maxBatch: MAX_BATCH } }), scope))
    const info = context.mapUnsafe.get(Server.TestServer.key) as Server.TestServerInfo
    base = info.base
    w = world(info.token, { maxBatch: MAX_BATCH })
    for (const e of w.seeded) {
      const r = await fetch(`${base}/v1/messages`, { method: "POST", body: JSON.stringify(e), headers: { "content-type": "application/json" } })
      if (r.status !== 201) throw new Error(`seeding failed: ${r.status} ${await r.text()}`)
    }
  }, 60_000)

  afterAll(async () => {
    await Effect.runPromise(Scope.close(scope, Exit.void))
  }, 60_000)

  const endOffset = async () => Server.sample(await (await fetch(`${base}/metrics`)).text(), "causeway_log_end_offset")

  it("an Expect header other than 100-continue is answered 417 with a reason", async () => {
    const agent = new Agent()
    const o = await send(new URL(base), agent, { kind: "expect", method: "GET", path: "/healthz", headers: { expect: "chocolate" } })
    agent.destroy()
    expect(o.status).toBe(417)
    expect(o.problem, o.text).toBeUndefined()
    expect(JSON.parse(o.text)._tag).toBe("ExpectationFailed")
  })

  it("answers 10,000 generated and mutated requests without a 5xx, each 4xx with a reason, and the log moves only by acceptances", async () => {
    const before = await endOffset()
    const started = Date.now()
    const summary = await run({ base, world: w, seed: SEED, count: COUNT, concurrency: 16 })
    const elapsed = Date.now() - started
    if (process.env["CAUSEWAY_FUZZ_REPORT"]) console.log(COUNT, elapsed, JSON.stringify(summary.statuses), JSON.stringify(summary.byKind))

    const report = summary.failures.slice(0, 10).map((f) => describeFailure(SEED, f)).join("\n")
    expect(summary.cases).toBe(COUNT)
    expect(Object.keys(summary.statuses).filter((s) => Number(s) >= 500), report).toEqual([])
    expect(summary.failureCount, report).toBe(0)
    expect(summary.unsendable).toBeLessThan(COUNT / 100)

    // every family was exercised and answered as expected
    const statuses = (kind: string) => Object.keys(summary.byKind[kind] ?? {}).map(Number).sort()
    expect(statuses("bad signature")).toContain(401)
    expect(statuses("bad signature").every((s) => s === 400 || s === 401)).toBe(true)
    expect(statuses("duplicate").every((s) => s === 400 || s === 409)).toBe(true)
    expect(statuses("replayed nonce")).toEqual([409])
    expect(statuses("unknown dependencies")).toEqual([424])
    expect(statuses("over the cap")).toEqual([413])
    expect(statuses("batch over the limit")).toEqual([413])
    expect(statuses("content type")).toContain(415)
    expect(statuses("unsupported protocol")).toContain(400)
    expect(statuses("invalid id")).toContain(400)
    expect(statuses("bad query")).toEqual([400])
    expect(statuses("bad Last-Event-ID")).toEqual([400])
    expect(statuses("huge header")).toEqual([431])
    expect(statuses("fresh valid")).toContain(201)
    // the protected operations were reached without a token (401) and with one (decoded)
    expect(statuses("POST /v1/effects/watches")).toContain(401)
    expect(statuses("POST /v1/effects/watches")).toContain(400)
    expect(statuses("POST /v1/assets/mappings")).toContain(401)

    expect((await fetch(`${base}/healthz`)).status).toBe(200)
    const after = await endOffset()
    expect(after).toBe((before ?? 0) + summary.appended)
    const projectionOffset = async () => ((await (await fetch(`${base}/v1/projections`)).json()) as Array<{ offset: number }>)[0]?.offset
    let folded = await projectionOffset()
    for (let i = 0; i < 100 && folded !== after; i++) {
      await new Promise((r) => setTimeout(r, 50))
      folded = await projectionOffset()
    }
    expect(folded).toBe(after)
    // the seeded messages are all still there
    const listed = (await (await fetch(`${base}/v1/messages?limit=1000`)).json()) as Array<{ id: string }>
    expect(listed.map((r) => r.id)).toEqual(expect.arrayContaining(w.seeded.map(idOf)))
    expect(elapsed).toBeLessThan(90_000)
  }, 150_000)
})
