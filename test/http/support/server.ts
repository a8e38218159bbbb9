/**
 * A real causeway server for HTTP tests: the HTTP layer over the core on SQLite in a fresh
 * temporary directory, listening on 127.0.0.1 port 0; and a small fetch client.
 */
import { randomBytes } from "node:crypto"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Context, Effect, Layer } from "effect"
import * as ApiAuth from "../../../src/adapters/http/ApiAuth.ts"
import * as HttpService from "../../../src/adapters/http/HttpService.ts"
import { hashToken, type Scope, type TokenBudget, tokenStore, tokenText } from "../../../src/domain/auth/ApiTokens.ts"
import { type ServeConfig, defaultServeConfig } from "../../../src/Config.ts"
import { coreLayer } from "../../../src/main.ts"
import type { Envelope } from "../../../src/domain/Envelope.ts"
import * as ProjectionRunner from "../../../src/projections/ProjectionRunner.ts"
import type * as Views from "../../../src/projections/Views.ts"
import type { CausalLog } from "../../../src/ports/CausalLog.ts"
import type { InstanceKey } from "../../../src/ports/InstanceKey.ts"
import type * as Ingest from "../../../src/services/Ingest.ts"

/** Where the test server listens and keeps its data. */
export interface TestServerInfo {
  readonly base: string
  readonly port: number
  readonly dataDir: string
  /** An admin API token: `request` sends it unless told otherwise. */
  readonly token: string
  /** A token of each extra scope set asked for in `options.tokens`, by name. */
  readonly tokens: Readonly<Record<string, string>>
}

/** The running test server. */
export class TestServer extends Context.Service<TestServer, TestServerInfo>()("test/http/TestServer") {}

/** Knobs of a test server. */
export interface TestServerOptions {
  readonly ingest?: Partial<Ingest.IngestOptions>
  readonly runner?: Partial<ProjectionRunner.RunnerOptions>
  readonly http?: Partial<HttpService.HttpConfig>
  /** Extra API tokens, by name, with their scopes. */
  readonly tokens?: Readonly<Record<string, ReadonlyArray<Scope>>>
  /** Admission budgets of some of those tokens, by name. */
  readonly budgets?: Readonly<Record<string, TokenBudget>>
  /** Every read but the probes needs a token. */
  readonly privateReads?: boolean
  /** How long an announced proof may gather its shares (ms). */
  readonly proofDeadlineMs?: number
  /** Use this data directory (kept) instead of a fresh temporary one (removed). */
  readonly dataDir?: string
  /** Replace the core (ingest, projections, log) the composition root would build. */
  readonly core?: (config: ServeConfig, runner: ProjectionRunner.RunnerOptions) => Layer.Layer<Ingest.Ingest | ProjectionRunner.Projections | Views.Views | CausalLog | InstanceKey, unknown>
}

/** The serve configuration of a test server over `dataDir`. */
export const testConfig = (dataDir: string, options: TestServerOptions = {}): ServeConfig => ({
  ...defaultServeConfig,
  port: 0,
  dataDir,
  logLevel: "Warn",
  synchronous: "NORMAL",
  ingest: { ...defaultServeConfig.ingest, ...options.ingest },
  ...(options.proofDeadlineMs === undefined ? {} : { proofDeadlineMs: options.proofDeadlineMs })
})

/** A server as the composition root wires it, with test knobs; released with the scope. */
export const layer = (options: TestServerOptions = {}) =>
  Layer.effect(
    TestServer,
    Effect.gen(function*() {
      const dataDir = options.dataDir ?? (yield* Effect.acquireRelease(
        Effect.sync(() => mkdtempSync(join(tmpdir(), "causeway-http-"))),
        (dir) => Effect.sync(() => rmSync(dir, { recursive: true, force: true }))
      ))
      const config = testConfig(dataDir, options)
      const newToken = () => tokenText(new Uint8Array(randomBytes(32)))
      const token = newToken()
      const tokens = Object.fromEntries(Object.keys(options.tokens ?? {}).map((name) => [name, newToken()]))
      const store = tokenStore({
        tokens: [
          { name: "test-admin", sha256: hashToken(token), scopes: ["admin"] },
          ...Object.entries(options.tokens ?? {}).map(([name, scopes]) => {
            const budget = options.budgets?.[name]
            return { name, sha256: hashToken(tokens[name] as string), scopes, ...(budget === undefined ? {} : { budget }) }
          })
        ]
      })
      const app = HttpService.layer({ host: "127.0.0.1", port: 0, maxBatch: config.ingest.maxBatch, ...options.http }).pipe(
        Layer.provide((options.core ?? coreLayer)(config, { ...ProjectionRunner.defaultRunnerOptions, ...options.runner })),
        Layer.provide(Layer.succeed(ApiAuth.ApiAuth, { store, privateReads: options.privateReads ?? false })),
        Layer.provide(HttpService.logging("Warn"))
      )
      const context = yield* Layer.build(app)
      const port = yield* HttpService.boundPort.pipe(Effect.provideContext(context))
      return { base: `http://127.0.0.1:${port}`, port, dataDir, token, tokens }
    })
  )

/** A response, read whole. */
export interface Reply {
  readonly status: number
  readonly headers: Headers
  readonly text: string
  /** The body parsed as JSON (undefined when it is not JSON). */
  readonly json: any
}

const parse = (text: string): unknown => {
  try {
    return JSON.parse(text)
  } catch {
    return undefined
  }
}

/**
 * Send a request to the test server and read the whole answer: with the admin token, unless
 * `token` says which (null: none) or the headers carry an authorization of their own.
 */
export const request = (
  method: string,
  path: string,
  init: { readonly body?: string | Uint8Array; readonly headers?: Record<string, string>; readonly token?: string | null } = {}
) =>
  Effect.gen(function*() {
    const server = yield* TestServer
    const token = init.token === undefined ? server.token : init.token
    const headers = token === null || init.headers?.authorization !== undefined ? init.headers : { authorization: `Bearer ${token}`, ...init.headers }
    return yield* Effect.tryPromise(async (): Promise<Reply> => {
      const response = await fetch(server.base + path, { method, body: init.body, headers })
      const text = await response.text()
      return { status: response.status, headers: response.headers, text, json: parse(text) }
    }).pipe(Effect.orDie)
  })

/** GET a path. */
export const get = (path: string, headers?: Record<string, string>) => request("GET", path, { headers })

/** POST a JSON value (or raw text) to /v1/messages. */
export const post = (body: unknown, contentType = "application/json") =>
  request("POST", "/v1/messages", {
    body: typeof body === "string" ? body : JSON.stringify(body),
    headers: { "content-type": contentType }
  })

/** Submit envelopes one by one, expecting each accepted; their receipts. */
export const seed = (envelopes: ReadonlyArray<Envelope>) =>
  Effect.forEach(envelopes, (e) =>
    post(e).pipe(
      Effect.flatMap((r) =>
        r.status === 201 ? Effect.succeed(r.json as Ingest.Appended) : Effect.die(new Error(`seeding failed: ${r.status} ${r.text}`))
      )
    ))

/** Poll `f` until it holds (every 20 ms, for at most `ms`). */
export const eventually = <A, E, R>(f: Effect.Effect<A, E, R>, holds: (a: A) => boolean, ms = 5000) =>
  Effect.gen(function*() {
    const deadline = Date.now() + ms
    while (true) {
      const a = yield* f
      if (holds(a) || Date.now() > deadline) return a
      yield* Effect.sleep("20 millis")
    }
  })

/** The value of an exposition sample (name with its labels, exactly as rendered), or undefined. */
export const sample = (metrics: string, series: string): number | undefined => {
  const line = metrics.split("\n").find((l) => l.startsWith(`${series} `))
  return line === undefined ? undefined : Number(line.slice(series.length + 1))
}
