/**
 * The composition root: the only place adapters are chosen and layers wired. The CLI's
 * `serve` (src/cli/causeway.ts, what `npm start` runs) launches `appLayer`.
 */
import { Layer } from "effect"
import * as HttpService from "./adapters/http/HttpService.ts"
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
export const coreLayer = (
  config: ServeConfig,
  runner: ProjectionRunner.RunnerOptions = ProjectionRunner.defaultRunnerOptions
) => {
  const storage = Layer.mergeAll(
    SqliteCausalLog.layer({ path: logPath(config.dataDir), synchronous: config.synchronous }),
    SqliteProjectionStore.layer(snapshotPath(config.dataDir)),
    NodeCryptoSignatureVerifier.layer
  )
  return Layer.mergeAll(Ingest.layer(config.ingest), ProjectionRunner.layer(projections, runner)).pipe(
    Layer.provideMerge(storage)
  )
}

/** The whole service: the HTTP adapter over the core, logging JSON to stdout. */
export const appLayer = (config: ServeConfig) =>
  HttpService.layer({ host: config.host, port: config.port, maxBatch: config.ingest.maxBatch }).pipe(
    Layer.provide(coreLayer(config)),
    Layer.provide(HttpService.logging(config.logLevel))
  )
