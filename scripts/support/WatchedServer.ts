/**
 * A `causeway serve` child for long runs (the fuzz run, the soak): started on a fresh temporary
 * data directory, its request log dropped (millions of lines), the tail of its stderr kept, and a
 * crash noticed and reported as it happens; `stop` ends it and removes the directory.
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { type Server, startServer } from "../../test/cli/support/cli.ts"

/** The running child. */
export interface WatchedServer {
  readonly server: Server
  readonly dataDir: string
  /** Whether the child exited before `stop`. */
  readonly crashed: () => boolean
  /** Stop the child and remove its data directory. */
  readonly stop: () => Promise<void>
}

/**
 * Start the child; `log` reports a crash with the tail of its stderr. `nodeOptions` become the
 * child's NODE_OPTIONS (the CLI harness clears the caller's), e.g. `--heapsnapshot-signal=SIGUSR2`.
 */
export const startWatchedServer = async (prefix: string, timeoutMs: number, log: (line: string) => void, nodeOptions?: string): Promise<WatchedServer> => {
  const dataDir = mkdtempSync(join(tmpdir(), prefix))
  const server = await startServer(dataDir, { timeoutMs, ...(nodeOptions === undefined ? {} : { env: { NODE_OPTIONS: nodeOptions } }) })
  server.child.stdout?.removeAllListeners("data").resume()
  let stderrTail = ""
  server.child.stderr?.removeAllListeners("data").on("data", (d: string) => (stderrTail = (stderrTail + d).slice(-8000)))
  let crashed = false
  let stopping = false
  void server.exited.then((r) => {
    if (stopping) return
    crashed = true
    log(`causeway serve exited during the run: code ${r.code}, signal ${r.signal}\n${stderrTail}`)
  })
  return {
    server,
    dataDir,
    crashed: () => crashed,
    stop: async () => {
      stopping = true
      await server.stop()
      rmSync(dataDir, { recursive: true, force: true })
    }
  }
}
