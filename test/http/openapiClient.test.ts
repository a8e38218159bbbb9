/**
 * A client generated from the served document works, and is typed. The test fetches
 * /openapi.json from a real server, generates TypeScript types from it with openapi-typescript,
 * writes them beside a small client (CLIENT below, on openapi-fetch) into a temporary project,
 * type-checks that project with tsc, then runs the client against the server: health and
 * readiness, a signed UserOrder submitted and read back by id with its typed payload, the
 * listing, the mempool's views, the chains, projections and cluster, and errors with their
 * typed bodies. The client's type-level checks fail the tsc run, and so the test, when the
 * document loses the typed payloads or an error status.
 */
import { spawnSync } from "node:child_process"
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs"
import { createRequire } from "node:module"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { pathToFileURL } from "node:url"
import { describe, expect, layer } from "@effect/vitest"
import { Effect } from "effect"
import openapiTS, { astToString } from "openapi-typescript"
import { type Envelope, idOf } from "../../src/domain/Envelope.ts"
import { envelope, testKey } from "../support/fixtures.ts"
import * as Server from "./support/server.ts"

const require = createRequire(import.meta.url)
const repoModules = join(require.resolve("openapi-fetch/package.json"), "..", "..")
const tsc = require.resolve("typescript/bin/tsc")

/** The client, compiled against the generated types (schema.ts) and run against the server. */
const CLIENT = `
import createClient from "openapi-fetch"
import type { components, paths } from "./schema.ts"

type Schemas = components["schemas"]

// Type-level checks: tsc fails on them if the document loses typed payloads or statuses.
type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends (<T>() => T extends B ? 1 : 2) ? true : false
const assertType = <T extends true>(): void => {}

/** What the flows saw, for the test to check. */
export interface Report {
  readonly health: string
  readonly ready: boolean
  readonly receipt: { readonly id: string; readonly offset: number; readonly lamport: number }
  readonly market: string
  readonly side: string
  readonly listed: ReadonlyArray<string>
  readonly orderKind: string
  readonly pending: number
  readonly batchError: { readonly tag: string; readonly batch: number }
  readonly chains: number
  readonly projections: ReadonlyArray<string>
  readonly clusterMode: string
  readonly missing: { readonly status: number; readonly tag: string; readonly id: string }
  readonly duplicate: { readonly status: number; readonly tag: string }
  readonly invalid: { readonly status: number; readonly tag: string }
}

const fail = (what: string, reply: { readonly response: Response; readonly error?: unknown }): never => {
  throw new Error(\`\${what}: \${reply.response.status} \${JSON.stringify(reply.error)}\`)
}

export const flows = async (baseUrl: string, order: Schemas["UserOrderEnvelope"]): Promise<Report> => {
  const client = createClient<paths>({ baseUrl })

  const health = await client.GET("/healthz")
  if (health.data === undefined) return fail("healthz", health)
  const ready = await client.GET("/readyz")
  assertType<Equal<NonNullable<typeof ready.error>["_tag"], "NotReady" | "StorageUnavailable" | "InternalError">>()
  if (ready.data === undefined) return fail("readyz", ready)

  // A typed request body: the envelope of a UserOrder, and one missing its payload's fields is refused by the types.
  const submitted = await client.POST("/v1/messages", { body: order })
  // Every status POST /v1/messages declares, by its body's tag (checked before narrowing to the success).
  assertType<Equal<NonNullable<typeof submitted.error>["_tag"],
    | "MessageTooLarge" | "MalformedMessage" | "UnsupportedProtocol" | "UnknownMessageType" | "InvalidSignature" | "DuplicateMessage"
    | "NonceReplayed" | "MessageExpired" | "InvalidLamport" | "RateLimited" | "UnknownDependencies" | "NotAuthorized" | "SealedContent" | "OperatorNotRegistered" | "TooManyOpenIntents" | "ProofRefused" | "TooManyPendingProofs" | "SenderBanned"
    | "BodyTooLarge" | "BatchTooLarge" | "UnsupportedMediaType" | "Unauthorized" | "IngestBusy" | "StorageUnavailable" | "InternalError">>()
  if (submitted.data === undefined || !("id" in submitted.data)) return fail("submit", submitted)
  const receipt = submitted.data
  // @ts-expect-error a UserOrder's payload needs market, side, amounts and price
  const incomplete: Schemas["Envelope"] = { ...order, payload: { chain: order.payload.chain } }
  void incomplete

  // Read back by id: the envelope is discriminated by its type, its payload typed.
  const read = await client.GET("/v1/messages/{id}", { params: { path: { id: receipt.id } } })
  if (read.data === undefined) return fail("getMessage", read)
  const stored = read.data.envelope
  if (stored.type !== "UserOrder") throw new Error(\`read back a \${stored.type}\`)
  const market: string = stored.payload.market
  const side: "buy" | "sell" = stored.payload.side
  const health_ = (h: Schemas["NetworkHealthEnvelope"]): void => {
    // @ts-expect-error a NetworkHealth payload has no market
    void h.payload.market
  }
  void health_

  const listed = await client.GET("/v1/messages", { params: { query: { limit: "100" } } })
  if (listed.data === undefined) return fail("listMessages", listed)

  // The mempool folds the order shortly after it lands.
  let status = await client.GET("/v1/mempool/orders/{id}", { params: { path: { id: receipt.id } } })
  for (let i = 0; i < 250 && status.data === undefined; i++) {
    await new Promise((resolve) => setTimeout(resolve, 20))
    status = await client.GET("/v1/mempool/orders/{id}", { params: { path: { id: receipt.id } } })
  }
  if (status.data === undefined) return fail("getOrderStatus", status)
  const view = status.data
  const orderKind = view.kind === "order" ? \`order in batch \${view.batch}\` : \`message \${view.type}\`
  const pending = await client.GET("/v1/mempool/orders", { params: { query: { limit: "10" } } })
  if (pending.data === undefined) return fail("listPendingOrders", pending)
  const batch = await client.GET("/v1/mempool/batches/{batch}", { params: { path: { batch: "999999" } } })
  if (batch.error === undefined || batch.error._tag !== "BatchNotFound") return fail("getBatch", batch)
  const batchError = { tag: batch.error._tag, batch: batch.error.batch }

  const chains = await client.GET("/v1/chains")
  if (chains.data === undefined) return fail("listChains", chains)
  const projections = await client.GET("/v1/projections")
  if (projections.data === undefined) return fail("listProjections", projections)
  const cluster = await client.GET("/v1/cluster")
  if (cluster.data === undefined) return fail("getCluster", cluster)

  // Errors, with their typed bodies.
  const absent = "00".repeat(32)
  const missing = await client.GET("/v1/messages/{id}", { params: { path: { id: absent } } })
  if (missing.error === undefined) return fail("getMessage of an absent id", missing)
  assertType<Equal<typeof missing.error._tag, "InvalidRequest" | "MessageNotFound" | "InternalError" | "StorageUnavailable">>()
  if (missing.error._tag !== "MessageNotFound") return fail("getMessage of an absent id", missing)
  const again = await client.POST("/v1/messages", { body: order })
  if (again.error === undefined) return fail("a duplicate", again)
  const invalid = await client.GET("/v1/messages/{id}", { params: { path: { id: "not-an-id" } } })
  if (invalid.error === undefined) return fail("an invalid id", invalid)

  return {
    health: health.data.status,
    ready: ready.data.ready,
    receipt: { id: receipt.id, offset: receipt.offset, lamport: receipt.lamport },
    market,
    side,
    listed: listed.data.map((r) => r.id),
    orderKind,
    pending: pending.data.orders.length,
    batchError,
    chains: chains.data.length,
    projections: projections.data.map((p) => p.name),
    clusterMode: cluster.data.mode,
    missing: { status: missing.response.status, tag: missing.error._tag, id: missing.error.id },
    duplicate: { status: again.response.status, tag: again.error._tag },
    invalid: { status: invalid.response.status, tag: invalid.error._tag }
  }
}
`

const TSCONFIG = {
  compilerOptions: {
    target: "ES2024",
    lib: ["ES2024", "DOM"],
    module: "NodeNext",
    moduleResolution: "NodeNext",
    types: ["node"],
    strict: true,
    noUncheckedIndexedAccess: true,
    noEmit: true,
    allowImportingTsExtensions: true,
    verbatimModuleSyntax: true,
    skipLibCheck: true
  },
  files: ["client.ts"]
}

const timeout = { timeout: "120 seconds" } as const

describe("a client generated from /openapi.json", () => {
  layer(Server.layer(), { excludeTestServices: true, ...timeout })((it) => {
    it.effect("type-checks against the generated types and drives the main flows", () =>
      Effect.gen(function*() {
        const { base } = yield* Server.TestServer
        const dir = yield* Effect.acquireRelease(
          Effect.sync(() => mkdtempSync(join(tmpdir(), "causeway-client-"))),
          (d) => Effect.sync(() => rmSync(d, { recursive: true, force: true }))
        )
        const document = (yield* Server.get("/openapi.json")).json
        const types = yield* Effect.promise(async () => astToString(await openapiTS(document)))
        writeFileSync(join(dir, "schema.ts"), types)
        writeFileSync(join(dir, "client.ts"), CLIENT)
        writeFileSync(join(dir, "tsconfig.json"), JSON.stringify(TSCONFIG))
        writeFileSync(join(dir, "package.json"), JSON.stringify({ type: "module", private: true }))
        symlinkSync(repoModules, join(dir, "node_modules"), "dir")

        const checked = spawnSync(process.execPath, [tsc, "-p", dir], { encoding: "utf8", timeout: 110_000 })
        expect(checked.status, `tsc on the generated client:\n${checked.stdout}${checked.stderr}`).toBe(0)

        yield* Server.eventually(Server.get("/readyz"), (r) => r.status === 200)
        const order = envelope(testKey("generated-client"), {
          type: "UserOrder",
          payload: { chain: "eth", market: "ETH-USDC", side: "buy", amountIn: "1000", minAmountOut: "990", limitPrice: "2" }
        })
        const client = (yield* Effect.promise(() => import(pathToFileURL(join(dir, "client.ts")).href))) as {
          readonly flows: (baseUrl: string, order: Envelope) => Promise<Record<string, unknown>>
        }
        const report = yield* Effect.promise(() => client.flows(base, order))
        expect(report).toEqual({
          health: "ok",
          ready: true,
          receipt: { id: idOf(order), offset: expect.any(Number), lamport: 1 },
          market: "ETH-USDC",
          side: "buy",
          listed: expect.arrayContaining([idOf(order)]),
          orderKind: expect.stringMatching(/^order in batch \d+$/),
          pending: expect.any(Number),
          batchError: { tag: "BatchNotFound", batch: 999999 },
          chains: 0,
          projections: expect.arrayContaining(["log-index"]),
          clusterMode: "single",
          missing: { status: 404, tag: "MessageNotFound", id: "00".repeat(32) },
          duplicate: { status: 409, tag: "DuplicateMessage" },
          invalid: { status: 400, tag: "InvalidRequest" }
        })
      }))
  })
})
