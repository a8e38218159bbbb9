// The HTTP server's span per request: made (named `METHOD /route/template`) when the server
// traces requests, and not made at all when it does not (src/main.ts turns it off unless
// --otlp-url exports spans), seen through a tracer that records every span it is asked for.
import { Effect, Layer, ManagedRuntime, Tracer } from "effect"
import { describe, expect, it } from "vitest"
import * as TestServer from "./support/server.ts"

/** The spans a server asked for while answering two requests. */
const spansOf = async (traceRequests: boolean): Promise<ReadonlyArray<{ readonly name: string; readonly kind: string }>> => {
  const spans: Array<{ readonly name: string; readonly kind: string }> = []
  const recording = Tracer.make({
    span(options) {
      spans.push({ name: options.name, kind: options.kind })
      return Tracer.nativeTracer.span(options)
    }
  })
  const runtime = ManagedRuntime.make(
    TestServer.layer({ http: { traceRequests } }).pipe(Layer.provide(Layer.succeed(Tracer.Tracer, recording)))
  )
  try {
    const { base } = await runtime.runPromise(Effect.service(TestServer.TestServer))
    expect((await fetch(`${base}/healthz`)).status).toBe(200)
    expect((await fetch(`${base}/v1/messages/${"ab".repeat(32)}`)).status).toBe(404)
    return spans
  } finally {
    await runtime.dispose()
  }
}

describe("HTTP request spans", () => {
  it("are made per request, named after the route, when the server traces requests", async () => {
    const server = (await spansOf(true)).filter((s) => s.kind === "server").map((s) => s.name)
    expect(server).toEqual(["GET /healthz", "GET /v1/messages/:id"])
  }, 60_000)

  it("are not made at all when it does not", async () => {
    const spans = await spansOf(false)
    expect(spans.filter((s) => s.kind === "server")).toEqual([])
    // The tracer is in place: the services below still make their own spans.
    expect(spans.length).toBeGreaterThan(0)
  }, 60_000)
})
