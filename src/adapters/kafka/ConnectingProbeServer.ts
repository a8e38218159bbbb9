/**
 * While the Kafka log connects and catches up, the full HTTP service cannot run yet (ingest
 * and the projections need the log's state). This stand-in answers on the service's address
 * meanwhile, so orchestrators see a live process that is not ready instead of a crash loop:
 * `/healthz` 200, `/readyz` 503 `NotReady` with where the connection stands, `/v1/cluster` 200
 * with who this instance is (nothing of the log folded yet), anything else 503
 * `StorageUnavailable`. The bodies are those of the HTTP contract (src/adapters/http/Api.ts and
 * EdgeApi.ts, whose NeedsLog middleware declares this 503 on the endpoints).
 */
import { createServer, type Server } from "node:http"
import type { Socket } from "node:net"
import { Effect, type Scope } from "effect"
import { type ConnectionStatus, describeStatus } from "./KafkaConnectionStatus.ts"

/** Re-exported: the stand-in's `reason`. */
export { describeStatus }

/** Serve the stand-in on host:port for the life of the scope (then it stops and frees the port). */
export const serve = (
  options: { readonly host: string; readonly port: number; readonly cluster?: unknown },
  status: Effect.Effect<ConnectionStatus>
): Effect.Effect<void, Error, Scope.Scope> =>
  Effect.gen(function*() {
    // Read as an effect that may wait (the status is a SubscriptionRef, whose writer can hold
    // it across a yield of the scheduler), never with runSync: a run that cannot finish at once
    // would throw inside the request handler and leave the request unanswered.
    const reason = (): Promise<string> =>
      Effect.runPromise(status).then(describeStatus, (e: unknown) => `connection status unreadable: ${String(e)}`)
    const sockets = new Set<Socket>()
    const server: Server = createServer((req, res) => {
      const path = (req.url ?? "/").split("?")[0]
      const answer = (code: number, body: unknown) => {
        res.writeHead(code, { "content-type": "application/json", connection: "close" })
        res.end(JSON.stringify(body))
      }
      if (path === "/healthz" && req.method === "GET") return answer(200, { status: "ok" })
      if (path === "/v1/cluster" && req.method === "GET" && options.cluster !== undefined) return answer(200, options.cluster)
      const readyz = path === "/readyz" && req.method === "GET"
      void reason().then((r) =>
        readyz ? answer(503, { _tag: "NotReady", ready: false, reason: r }) : answer(503, { _tag: "StorageUnavailable", reason: `not serving yet: ${r}` })
      )
    })
    server.on("connection", (s: Socket) => {
      sockets.add(s)
      s.on("close", () => sockets.delete(s))
    })
    yield* Effect.acquireRelease(
      Effect.callback<void, Error>((resume) => {
        server.once("error", (e) => resume(Effect.fail(e)))
        server.listen(options.port, options.host, () => resume(Effect.void))
      }),
      () =>
        Effect.callback<void>((resume) => {
          server.close(() => resume(Effect.void))
          for (const s of sockets) s.destroy()
        })
    )
    const address = server.address()
    yield* Effect.logInfo("causeway waiting for Kafka; /readyz answers 503 until the log is ready").pipe(
      Effect.annotateLogs({ host: options.host, port: typeof address === "object" && address !== null ? address.port : options.port })
    )
  })
