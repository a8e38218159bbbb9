/**
 * GET /v1/metrics/recent and /v1/metrics/events on a real server sampling every 50 ms and
 * keeping 200 ms (a ring of 4): the samples' shape, the ring's bound once more samples were
 * taken than it holds, one SSE event per sample, the ingest rates and rejections by reason
 * following messages submitted, /metrics' event-loop window left to its scrapers, and both
 * needing a token when reads are private.
 */
import { describe, expect, it, layer } from "@effect/vitest"
import { Effect } from "effect"
import { envelope, testKey } from "../support/fixtures.ts"
import * as Server from "./support/server.ts"
import { connect, type SseEvent } from "./support/sse.ts"

const timeout = { timeout: "60 seconds" } as const

/** Open /v1/metrics/events, closed with the test's scope. */
const open = Effect.gen(function*() {
  const { base, token } = yield* Server.TestServer
  return yield* Effect.acquireRelease(
    Effect.tryPromise(() => connect(`${base}/v1/metrics/events`, { authorization: `Bearer ${token}` })).pipe(Effect.orDie),
    (c) => Effect.sync(() => c.close())
  )
})

/** The next `n` sample events of a stream (comments skipped). */
const samples = (next: () => Promise<SseEvent | null>, n: number) =>
  Effect.tryPromise(async () => {
    const out: Array<SseEvent> = []
    while (out.length < n) {
      const e = await next()
      if (e === null) throw new Error(`stream ended after ${out.length} samples`)
      if (e.event === "sample") out.push(e)
    }
    return out
  }).pipe(Effect.orDie)

const isSample = (s: any) => {
  expect(Object.keys(s).sort()).toEqual(["acceptedPerSecond", "at", "eventLoopDelayMaxMs", "eventLoopDelayP99Ms", "intervalMs", "logEnd", "projectionLag", "rejectedPerSecond"])
  for (const k of ["at", "intervalMs", "acceptedPerSecond", "eventLoopDelayMaxMs", "eventLoopDelayP99Ms"]) {
    expect(Number.isFinite(s[k]) && s[k] >= 0, k).toBe(true)
  }
  expect(s.eventLoopDelayMaxMs).toBeGreaterThanOrEqual(s.eventLoopDelayP99Ms)
  expect(Number.isInteger(s.logEnd)).toBe(true)
  expect(Number.isInteger(s.projectionLag) && s.projectionLag >= 0 && s.projectionLag <= s.logEnd).toBe(true)
}

describe("recent metrics", () => {
  layer(Server.layer({ http: { heartbeatMs: 1000, recentMetrics: { intervalMs: 50, windowMs: 200 } } }), { excludeTestServices: true, ...timeout })((it) => {
    it.effect("SSE: one `sample` event per sample, `id` its time; the ring keeps the last `capacity`, oldest first", () =>
      Effect.gen(function*() {
        const c = yield* open
        expect(c.status).toBe(200)
        expect(c.contentType).toMatch(/^text\/event-stream/)
        // More samples than the ring holds.
        const events = yield* samples(c.next, 6)
        const data = events.map((e) => JSON.parse(e.data as string))
        for (const [i, s] of data.entries()) {
          isSample(s)
          expect(events[i]?.id).toBe(String(s.at))
          if (i > 0) expect(s.at).toBeGreaterThan(data[i - 1].at)
        }
        const recent = yield* Server.get("/v1/metrics/recent")
        expect(recent.status).toBe(200)
        expect(recent.json).toMatchObject({ intervalMs: 50, windowMs: 200, capacity: 4 })
        expect(recent.json.samples).toHaveLength(4)
        const ats = recent.json.samples.map((s: any) => s.at)
        expect([...ats].sort((a: number, b: number) => a - b)).toEqual(ats)
        for (const s of recent.json.samples) isSample(s)
        // The ring holds the latest: the last event seen is in it, or a newer sample replaced it.
        expect(ats.at(-1)).toBeGreaterThanOrEqual(data.at(-1).at)
      }))

    it.effect("rates follow what was submitted: accepted per second, and rejections by reason", () =>
      Effect.gen(function*() {
        const k = testKey("recent-metrics")
        yield* Server.seed(Array.from({ length: 5 }, (_, i) => envelope(k, { nonce: i + 1 })))
        // A message signed by someone else than it claims: refused (BadSignature).
        const forged = { ...envelope(k, { nonce: 99 }), sig: "00".repeat(64) }
        const refused = yield* Server.post(forged)
        expect(refused.status).toBeGreaterThanOrEqual(400)
        const reason = refused.json._tag as string
        const c = yield* open
        // Samples until one that covers the submissions has been taken: the ring's sum of rates × intervals counts them.
        const seen = yield* Server.eventually(Server.get("/v1/metrics/recent"), (r) => {
          const total = (pick: (s: any) => number) => r.json.samples.reduce((n: number, s: any) => n + pick(s) * s.intervalMs / 1000, 0)
          return Math.round(total((s) => s.acceptedPerSecond)) >= 5 &&
            Math.round(total((s) => s.rejectedPerSecond.find((x: any) => x.reason === reason)?.perSecond ?? 0)) >= 1
        }, 10_000)
        expect(seen.status).toBe(200)
        // Every later sample names the reason (0 when none this interval).
        const [later] = yield* samples(c.next, 1)
        expect(JSON.parse(later?.data as string).rejectedPerSecond.map((x: any) => x.reason)).toContain(reason)
      }))

    it.effect("sampling leaves /metrics' event-loop window to its scrapers: a stall shows in both", () =>
      Effect.gen(function*() {
        const c = yield* open
        // /metrics opens a window, then the loop stalls ~150 ms (the server runs in this process).
        yield* Server.get("/metrics")
        // (The monitor's first interval after a reset is not measured: EventLoopDelay.ts.)
        // A stall right after one of the sampler's resets falls in its monitor's unmeasured first
        // interval: three stalls at other phases of its 50 ms period, so one at least is measured.
        for (const pause of [30, 45, 65]) {
          yield* Effect.sleep(pause)
          yield* Effect.sync(() => {
            const until = performance.now() + 150
            while (performance.now() < until) { /* busy */ }
          })
        }
        // Samples taken after the stall reset the sampler's monitor, not /metrics' one (the stall
        // shows in the first sample taken after the monitor's timer fired: within a few).
        const events = (yield* samples(c.next, 12)).map((e) => JSON.parse(e.data as string))
        expect(Math.max(...events.map((s) => s.eventLoopDelayMaxMs))).toBeGreaterThanOrEqual(100)
        const scrape = yield* Server.get("/metrics")
        expect(Server.sample(scrape.text, "causeway_event_loop_delay_max_seconds")).toBeGreaterThanOrEqual(0.1)
        // Reads are public on this server.
        expect((yield* Server.request("GET", "/v1/metrics/recent", { token: null })).status).toBe(200)
      }))
  })

  layer(Server.layer({ privateReads: true, http: { recentMetrics: { intervalMs: 50, windowMs: 200 } } }), { excludeTestServices: true, ...timeout })((it) => {
    it.effect("with private reads, both need a token", () =>
      Effect.gen(function*() {
        expect((yield* Server.request("GET", "/v1/metrics/recent", { token: null })).status).toBe(401)
        expect((yield* Server.request("GET", "/v1/metrics/events", { token: null })).status).toBe(401)
        expect((yield* Server.get("/v1/metrics/recent")).status).toBe(200)
      }))
  })
})
