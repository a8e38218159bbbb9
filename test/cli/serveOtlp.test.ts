// `causeway serve --otlp-url`: a real server in a child process exports its traces and metrics
// over OTLP/HTTP to a collector played by an in-process node:http server (Effect's exporter
// POSTs JSON to /v1/traces and /v1/metrics); the environment variable does the same; a URL that
// is not http(s) is a usage error; and without the setting the service has no exporter at all.
import { createServer, type Server as HttpServer } from "node:http"
import { join } from "node:path"
import { Effect, Layer, ManagedRuntime, Option, Tracer } from "effect"
import { OtlpExporter } from "effect/observability"
import { afterAll, describe, expect, it } from "vitest"
import { defaultServeConfig } from "../../src/Config.ts"
import { appLayer } from "../../src/main.ts"
import { cleanup, cli, getJson, startServer, tempDir } from "./support/cli.ts"

afterAll(cleanup)

interface Post {
  readonly path: string
  readonly contentType: string
  readonly body: any
}

/** An OTLP/HTTP collector that keeps every POST it receives (JSON bodies parsed). */
const collector = async (): Promise<{ readonly url: string; readonly posts: Array<Post>; readonly close: () => Promise<void> }> => {
  const posts: Array<Post> = []
  const server: HttpServer = createServer((request, response) => {
    const chunks: Array<Buffer> = []
    request.on("data", (c: Buffer) => chunks.push(c))
    request.on("end", () => {
      const text = Buffer.concat(chunks).toString("utf8")
      const contentType = request.headers["content-type"] ?? ""
      posts.push({ path: request.url ?? "", contentType, body: contentType.startsWith("application/json") ? JSON.parse(text) : text })
      response.writeHead(200, { "content-type": "application/json" }).end("{}")
    })
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  const address = server.address()
  const port = typeof address === "object" && address !== null ? address.port : 0
  return { url: `http://127.0.0.1:${port}`, posts, close: () => new Promise((resolve) => server.close(() => resolve())) }
}

const attributesOf = (list: ReadonlyArray<{ readonly key: string; readonly value: Record<string, unknown> }>): Record<string, unknown> =>
  Object.fromEntries(list.map((a) => [a.key, Object.values(a.value)[0]]))

const spanNames = (posts: ReadonlyArray<Post>): Set<string> =>
  new Set(posts.filter((p) => p.path === "/v1/traces").flatMap((p) =>
    p.body.resourceSpans.flatMap((r: any) => r.scopeSpans.flatMap((s: any) => s.spans.map((span: any) => span.name as string)))
  ))

/** The last value of a cumulative OTLP sum the collector received. */
const lastSum = (posts: ReadonlyArray<Post>, name: string): number | undefined => {
  let last: number | undefined
  for (const p of posts.filter((p) => p.path === "/v1/metrics")) {
    for (const r of p.body.resourceMetrics) {
      for (const s of r.scopeMetrics) {
        for (const m of s.metrics) {
          if (m.name === name) last = m.sum.dataPoints.reduce((n: number, d: any) => n + Number(d.asInt ?? d.asDouble), 0)
        }
      }
    }
  }
  return last
}

/** Submit one signed message with the CLI; its receipt's id. */
const submitOne = async (dir: string, url: string): Promise<string> => {
  const key = join(dir, "sender.json")
  expect((await cli(["keygen", "--out", key])).code).toBe(0)
  const payload = JSON.stringify({ component: "otlp", status: "ok", latencyMs: 1 })
  const submitted = await cli(["submit", "--key", key, "--type", "NetworkHealth", "--payload", payload, "--url", url])
  expect(submitted.stderr).toBe("")
  expect(submitted.code).toBe(0)
  return JSON.parse(submitted.stdout).id as string
}

describe("causeway serve --otlp-url", () => {
  it("exports ingest's spans and metrics, as service causeway with the instance key as its instance id, flushed at shutdown", async () => {
    const otlp = await collector()
    try {
      const dir = tempDir()
      const server = await startServer(join(dir, "data"), { args: ["--port", "0", "--data-dir", join(dir, "data"), "--otlp-url", otlp.url] })
      const instance = await getJson(`${server.url}/v1/instance`)
      await submitOne(dir, server.url)
      const run = await server.stop()
      expect(run.code).toBe(0)

      expect(new Set(otlp.posts.map((p) => p.path))).toEqual(new Set(["/v1/traces", "/v1/metrics"]))
      for (const p of otlp.posts) expect(p.contentType).toMatch(/^application\/json/)
      // Effect.fn names: the submit the HTTP handler calls and the batch the ingest worker writes;
      // the request itself as a server span named after its route.
      const names = spanNames(otlp.posts)
      expect(names).toContain("Ingest.submit")
      expect(names).toContain("Ingest.processJobs")
      expect(names).toContain("POST /v1/messages")
      expect(lastSum(otlp.posts, "causeway_ingest_accepted_total")).toBe(1)

      const resource = attributesOf(otlp.posts[0]?.body.resourceSpans?.[0]?.resource.attributes ?? otlp.posts[0]?.body.resourceMetrics[0].resource.attributes)
      expect(resource["service.name"]).toBe("causeway")
      expect(resource["service.version"]).toBe("0.1.0")
      expect(resource["service.instance.id"]).toBe(instance.body.publicKey)
    } finally {
      await otlp.close()
    }
  }, 90_000)

  it("reads the collector from OTEL_EXPORTER_OTLP_ENDPOINT when the flag is absent", async () => {
    const otlp = await collector()
    try {
      const dir = tempDir()
      const server = await startServer(join(dir, "data"), { env: { OTEL_EXPORTER_OTLP_ENDPOINT: otlp.url } })
      await submitOne(dir, server.url)
      expect((await server.stop()).code).toBe(0)
      expect(lastSum(otlp.posts, "causeway_ingest_accepted_total")).toBe(1)
      expect(spanNames(otlp.posts).size).toBeGreaterThan(0)
    } finally {
      await otlp.close()
    }
  }, 90_000)

  it("refuses a URL that is not http(s) as a usage error", async () => {
    const dir = tempDir()
    const [flag, env] = await Promise.all([
      cli(["serve", "--port", "0", "--data-dir", join(dir, "a"), "--otlp-url", "grpc://127.0.0.1:4317"]),
      cli(["serve", "--port", "0", "--data-dir", join(dir, "b")], { env: { OTEL_EXPORTER_OTLP_ENDPOINT: "not a url" } })
    ])
    expect(flag.code).toBe(2)
    expect(flag.stderr).toMatch(/--otlp-url "grpc:\/\/127\.0\.0\.1:4317" is not an http\(s\) URL/)
    expect(env.code).toBe(2)
    expect(env.stderr).toMatch(/--otlp-url "not a url" is not an http\(s\) URL/)
  }, 60_000)

  it("without it, the service runs no exporter and keeps Effect's native tracer", async () => {
    const dir = tempDir()
    const config = { ...defaultServeConfig, port: 0, dataDir: join(dir, "data"), logLevel: "Error" as const }
    const probe = Effect.gen(function*() {
      return { flusher: yield* Effect.serviceOption(OtlpExporter.Flusher), tracer: yield* Tracer.Tracer }
    })
    const without = ManagedRuntime.make(appLayer(config))
    const found = await without.runPromise(probe).finally(() => without.dispose())
    expect(Option.isNone(found.flusher)).toBe(true)
    expect(found.tracer).toBe(Tracer.nativeTracer)
    // The same probe sees the exporter when the setting is there (the collector need not answer).
    const withOtlp = ManagedRuntime.make(appLayer({ ...config, otlp: { url: "http://127.0.0.1:9" } }).pipe(Layer.orDie))
    const on = await withOtlp.runPromise(probe).finally(() => withOtlp.dispose())
    expect(Option.isSome(on.flusher)).toBe(true)
    expect(on.tracer).not.toBe(Tracer.nativeTracer)
  }, 60_000)
})
