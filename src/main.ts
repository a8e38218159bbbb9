/**
 * The composition root: the only place adapters are chosen and layers wired. Run directly
 * (`node src/main.ts`) it serves with configuration from the environment; the CLI's `serve`
 * uses the same `appLayer`.
 */
import { Layer } from "effect"
import * as NodeCryptoSignatureVerifier from "./adapters/NodeCryptoSignatureVerifier.ts"
import * as SqliteCausalLog from "./adapters/SqliteCausalLog.ts"
import * as SqliteProjectionStore from "./adapters/SqliteProjectionStore.ts"
import { type ServeConfig, logPath, snapshotPath } from "./Config.ts"
import { LogIndex } from "./projections/LogIndex/LogIndex.ts"
import * as ProjectionRunner from "./projections/ProjectionRunner.ts"
import * as Ingest from "./services/Ingest.ts"

/** Every projection the service runs. */
export const projections = [LogIndex]

/** The core services (log, ingest, projections) over the embedded store. */
export const coreLayer = (config: ServeConfig) => {
  const storage = Layer.mergeAll(
    SqliteCausalLog.layer({ path: logPath(config.dataDir), synchronous: config.synchronous }),
    SqliteProjectionStore.layer(snapshotPath(config.dataDir)),
    NodeCryptoSignatureVerifier.layer
  )
  return Layer.mergeAll(Ingest.layer(config.ingest), ProjectionRunner.layer(projections)).pipe(
    Layer.provideMerge(storage)
  )
}

/** The whole service: core plus the HTTP adapter. */
export const appLayer = (config: ServeConfig) => coreLayer(config)
