/**
 * `causeway serve` as a child process for shutdown tests: the composition root's appLayer,
 * launched with NodeRuntime.runMain (which interrupts it on SIGTERM).
 * Usage: node serveProcess.ts <dataDir> <pendingTimeoutMs>
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { Layer } from "effect"
import { defaultServeConfig } from "../../../src/Config.ts"
import { appLayer } from "../../../src/main.ts"

const [dataDir = "data", pendingTimeoutMs = "5000"] = process.argv.slice(2)

Layer.launch(appLayer({
  ...defaultServeConfig,
  port: 0,
  dataDir,
  ingest: { ...defaultServeConfig.ingest, pendingTimeoutMs: Number(pendingTimeoutMs) }
})).pipe(NodeRuntime.runMain)
