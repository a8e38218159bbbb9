/**
 * Clients that leave mid-response: with the server's TurnBudgetScheduler, each response's
 * early `close` (whose listener interrupts the request's fiber, inline) goes through the
 * scheduler's budgeted queue instead of running in the poll phase that saw the socket close,
 * so a thousand clients leaving at once no longer stall the event loop (bench:attack's streams
 * scenario measures the delay). Responses that ended close as before, and the streams of the
 * clients that left are still ended (their gauge back at 0).
 */
import { describe, expect, layer } from "@effect/vitest"
import { Effect, Layer } from "effect"
import * as Scheduler from "effect/Scheduler"
import { TurnBudgetScheduler } from "../../src/adapters/runtime/TurnBudgetScheduler.ts"
import * as Server from "./support/server.ts"
import { connect } from "./support/sse.ts"

/** The server's scheduler, noting what is deferred through it. */
class NotingScheduler extends TurnBudgetScheduler {
  deferred = 0
  constructor() {
    super(1)
    const defer = this.defer
    ;(this as { defer: (run: () => void) => void }).defer = (run) => {
      this.deferred++
      defer(run)
    }
  }
}

const scheduler = new NotingScheduler()
const STREAMS = 40

const sseClients = Server.get("/metrics").pipe(Effect.map((r) => Server.sample(r.text, "causeway_http_sse_clients") ?? 0))

describe("clients leaving mid-response", () => {
  layer(
    Server.layer({ http: { streams: { total: 100, perAddress: 100 } } }).pipe(Layer.provide(Layer.succeed(Scheduler.Scheduler, scheduler))),
    { excludeTestServices: true, timeout: "60 seconds" }
  )((it) => {
    it.effect("each stream's close is deferred through the scheduler's turn budget, and every stream still ends", () =>
      Effect.gen(function*() {
        const { base } = yield* Server.TestServer
        // Plain requests end their responses: nothing deferred.
        for (let i = 0; i < 5; i++) expect((yield* Server.get("/v1/projections")).status).toBe(200)
        expect(scheduler.deferred).toBe(0)

        const open = yield* Effect.promise(() => Promise.all(Array.from({ length: STREAMS }, () => connect(`${base}/v1/stream`))))
        expect(open.map((c) => c.status)).toEqual(Array(STREAMS).fill(200))
        expect(yield* Server.eventually(sseClients, (n) => n === STREAMS)).toBe(STREAMS)

        for (const c of open) c.close()
        // Every stream ended (its fiber interrupted, its gauge decremented) ...
        expect(yield* Server.eventually(sseClients, (n) => n === 0)).toBe(0)
        // ... each through the queue.
        expect(scheduler.deferred).toBe(STREAMS)

        // The server still answers, and its streams open again.
        const again = yield* Effect.promise(() => connect(`${base}/v1/stream`))
        expect(again.status).toBe(200)
        again.close()
      }))
  })
})
