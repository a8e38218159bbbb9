/** A TCP forwarder: a broker address that is unreachable until the test decides otherwise. */
import { createServer, type Server, type Socket, connect } from "node:net"
import { Effect } from "effect"

/** A free local port (nothing listens on it once this returns). */
export const freePort = () =>
  Effect.promise(() =>
    new Promise<number>((resolve) => {
      const s = createServer()
      s.listen(0, "127.0.0.1", () => {
        const address = s.address()
        s.close(() => resolve(typeof address === "object" && address !== null ? address.port : 0))
      })
    })
  )

/** Forward connections on `port` to `target` ("host:port"), for the life of the scope. */
export const forward = (port: number, target: string) =>
  Effect.acquireRelease(
    Effect.promise(() =>
      new Promise<{ server: Server; sockets: Set<Socket> }>((resolve) => {
        const [host, targetPort] = target.split(":") as [string, string]
        const sockets = new Set<Socket>()
        const server = createServer((client) => {
          const upstream = connect(Number(targetPort), host)
          for (const s of [client, upstream]) {
            sockets.add(s)
            s.on("error", () => undefined)
            s.on("close", () => sockets.delete(s))
          }
          client.pipe(upstream).pipe(client)
        })
        server.listen(port, "127.0.0.1", () => resolve({ server, sockets }))
      })
    ),
    // close() waits for open connections: cut them first.
    ({ server, sockets }) =>
      Effect.promise(() => new Promise<void>((r) => {
        server.close(() => r())
        for (const s of sockets) s.destroy()
      }))
  )

