/**
 * The capture machinery of the leak tests (test/mempool/Leak.test.ts, LeakRsw.test.ts): a real
 * server (HTTP over the core, the sealer running on its window, a local beacon, the worker RSW
 * solver and modulus checker, every log line captured at Trace level), a client that signs
 * and posts as a sender would, taps that keep everything an SSE stream sent, and the list of
 * reads a searcher makes before a seal.
 */
import { expect } from "@effect/vitest"
import { Effect, Layer, Logger, References } from "effect"
import * as LocalBeacon from "../../src/adapters/beacon/LocalBeacon.ts"
import * as ApiAuth from "../../src/adapters/http/ApiAuth.ts"
import * as HttpService from "../../src/adapters/http/HttpService.ts"
import * as InstanceKeyFile from "../../src/adapters/files/InstanceKeyFile.ts"
import * as MemoryCausalLog from "../../src/adapters/storage/MemoryCausalLog.ts"
import * as NodeCryptoSignatureVerifier from "../../src/adapters/signatures/NodeCryptoSignatureVerifier.ts"
import * as SqliteProjectionStore from "../../src/adapters/storage/SqliteProjectionStore.ts"
import * as InlineTlockDecrypter from "../../src/adapters/timelock/InlineTlockDecrypter.ts"
import * as WorkerRswModulusChecker from "../../src/adapters/timelock/WorkerRswModulusChecker.ts"
import * as WorkerRswSolver from "../../src/adapters/timelock/WorkerRswSolver.ts"
import { idOf } from "../../src/domain/Envelope.ts"
import type { KeyFile } from "../../src/domain/Keys.ts"
import type { MessageType } from "../../src/domain/MessageTypes.ts"
import type { MessageId } from "../../src/domain/Primitives.ts"
import { servicesLayer } from "../../src/main.ts"
import * as Ingest from "../../src/services/Ingest.ts"
import * as Sealer from "../../src/services/Sealer.ts"
import { envelope } from "../support/fixtures.ts"

/** The markers of `markers` that `text` carries. */
export const leaksOf = (markers: ReadonlyArray<string>) => (text: string): Array<string> => markers.filter((m) => text.includes(m))

/** A local beacon whose genesis was 100 s ago, a round a second. */
export const leakBeacon = (secretByte: number): LocalBeacon.LocalBeaconOptions => ({
  secretKey: new Uint8Array(32).fill(secretByte),
  genesisTime: Math.floor(Date.now() / 1000) - 100,
  period: 1
})

/**
 * The server under test with the production mempool rules (2,048-bit RSW moduli, 2¹⁶
 * squarings at least), the sealer on a 2.5 s window; its log lines go to `lines`.
 */
export const leakServer = (options: {
  readonly instance: KeyFile
  readonly beacon: LocalBeacon.LocalBeaconOptions
  readonly lines: Array<string>
}) => {
  const storage = Layer.mergeAll(
    MemoryCausalLog.layerMemory,
    SqliteProjectionStore.layerMemory,
    NodeCryptoSignatureVerifier.layer,
    InstanceKeyFile.layerKey(options.instance),
    LocalBeacon.layerWith(options.beacon),
    InlineTlockDecrypter.layerNoble,
    WorkerRswSolver.layer,
    WorkerRswModulusChecker.layer
  )
  const core = Sealer.layer({ windowMs: 2500, tickMs: 50, revealWindowMs: 60_000 }).pipe(
    Layer.provideMerge(servicesLayer(Ingest.defaultOptions)),
    Layer.provideMerge(storage)
  )
  const logging = Layer.mergeAll(
    Logger.layer([Logger.map(Logger.formatJson, (line) => void options.lines.push(line))]),
    Layer.succeed(References.MinimumLogLevel, "Trace")
  )
  return HttpService.layer({ host: "127.0.0.1", port: 0, heartbeatMs: 200 }).pipe(Layer.provide(core), Layer.provide(ApiAuth.layerClosed), Layer.provide(logging))
}

/**
 * Start the server (in the caller's scope) and a client of it: `call` reads a path as text,
 * `send` signs a message as `key` (its next nonce; a message with deps takes a Lamport time
 * above the server's) and posts it, `post` also expects it admitted, `until` polls, `readAll` reads a list of paths.
 */
export const startLeakServer = (options: Parameters<typeof leakServer>[0]) =>
  Effect.gen(function*() {
    const context = yield* Layer.build(leakServer(options))
    const port = yield* HttpService.boundPort.pipe(Effect.provideContext(context))
    const base = `http://127.0.0.1:${port}`
    const call = (path: string, init: RequestInit = {}) =>
      Effect.promise(async () => {
        const r = await fetch(base + path, init)
        return { status: r.status, text: await r.text() }
      })
    let lamport = 0
    const nonces = new Map<string, number>()
    /** Sign and post; the answer and the message's id, whatever the status. */
    const send = (key: KeyFile, type: MessageType, payload: unknown, deps: ReadonlyArray<string> = []) =>
      Effect.gen(function*() {
        const nonce = (nonces.get(key.publicKey) ?? 0) + 1
        nonces.set(key.publicKey, nonce)
        lamport = Math.max(lamport + 1, deps.length > 0 ? 500_000 : 0)
        const env = envelope(key, { type, payload, nonce, lamport, deps: [...deps].sort() as Array<MessageId> })
        const r = yield* call("/v1/messages", { method: "POST", body: JSON.stringify(env), headers: { "content-type": "application/json" } })
        return { ...r, id: idOf(env) }
      })
    const post = (key: KeyFile, type: MessageType, payload: unknown, deps: ReadonlyArray<string> = []) =>
      send(key, type, payload, deps).pipe(Effect.map((r) => {
        expect(r.status, r.text).toBe(201)
        return r.id
      }))
    /** Poll `path` every 50 ms (at most `tries` times) until `done` holds of its answer; the last answer. */
    const until = (path: string, done: (r: { status: number; text: string }) => boolean, tries = 200) =>
      Effect.gen(function*() {
        let r = yield* call(path)
        for (let i = 0; i < tries && !done(r); i++) {
          yield* Effect.sleep("50 millis")
          r = yield* call(path)
        }
        return r
      })
    /** Read every path; each answer prefixed by its path, with `hidden` (a marker a query names) masked in the path. */
    const readAll = (paths: ReadonlyArray<string>, hidden: string) =>
      Effect.gen(function*() {
        const out: Array<string> = []
        for (const p of paths) out.push(`${p.replaceAll(hidden, "<guessed market>")} ${(yield* call(p)).text}`)
        return out
      })
    return { base, call, send, post, until, readAll }
  })

/** Everything a stream sent, kept as raw text, until closed. */
export const tap = (url: string) => {
  const abort = new AbortController()
  let text = ""
  const done = fetch(url, { headers: { accept: "text/event-stream" }, signal: abort.signal }).then(async (r) => {
    const reader = (r.body as ReadableStream<Uint8Array>).getReader()
    const decoder = new TextDecoder()
    for (;;) {
      const chunk = await reader.read()
      if (chunk.done) return
      text += decoder.decode(chunk.value, { stream: true })
    }
  }).catch(() => undefined)
  return { text: () => text, close: () => (abort.abort(), done) }
}

/** The events of a raw SSE text (comments dropped). */
export const events = (text: string): Array<{ event?: string; data?: string }> =>
  text.split("\n\n").filter((b) => b.trim() !== "" && !b.startsWith(":")).map((block) => {
    const out: Record<string, string> = {}
    for (const line of block.split("\n")) {
      const colon = line.indexOf(":")
      if (colon > 0) out[line.slice(0, colon)] = line.slice(colon + 1).trim()
    }
    return out
  })

/**
 * What a searcher reads before a seal: the log, every mempool view (with a guessed market
 * filter), each protected message's status, receipt and log record, the first batch, the
 * processing order, the projections and the metrics.
 */
export const searcherPaths = (ids: { readonly plain: string; readonly protected: ReadonlyArray<string> }, guessedMarket: string) => [
  "/v1/messages?limit=1000",
  ...ids.protected.map((id) => `/v1/messages/${id}`),
  `/v1/messages/${ids.plain}/dependents`,
  "/v1/mempool/orders",
  "/v1/mempool/orders?revealedOnly=true",
  `/v1/mempool/orders?market=${guessedMarket}`,
  "/v1/mempool/orders?chain=eth&limit=1000",
  ...ids.protected.map((id) => `/v1/mempool/orders/${id}`),
  `/v1/mempool/orders/${ids.plain}`,
  ...ids.protected.map((id) => `/v1/mempool/orders/${id}/receipt`),
  "/v1/mempool/batches/0",
  "/v1/mempool/batches/0/receipts",
  "/v1/mempool/processing",
  "/v1/projections",
  "/v1/projections/log-index",
  "/metrics"
]
