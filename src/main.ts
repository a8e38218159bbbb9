/**
 * The composition root: the only place adapters are chosen and layers wired. The CLI's
 * `serve` (src/cli/causeway.ts, what `npm start` runs) launches `appLayer`.
 */
import { resolve } from "node:path"
import { Effect, Layer, Redacted } from "effect"
import * as DrandHttpBeacon from "./adapters/beacon/DrandHttpBeacon.ts"
import * as LocalBeaconFile from "./adapters/beacon/LocalBeaconFile.ts"
import * as CosmjsCosmosObserver from "./adapters/cosmos/CosmjsCosmosObserver.ts"
import * as NodeCryptoCommitVerifier from "./adapters/cosmos/NodeCryptoCommitVerifier.ts"
import * as DataDirectory from "./adapters/files/DataDirectory.ts"
import * as DataDirectoryLock from "./adapters/files/DataDirectoryLock.ts"
import * as ViemEvmObserver from "./adapters/evm/ViemEvmObserver.ts"
import * as ApiTokenFile from "./adapters/files/ApiTokenFile.ts"
import * as HttpService from "./adapters/http/HttpService.ts"
import * as InstanceKeyFile from "./adapters/files/InstanceKeyFile.ts"
import * as OtlpHttpExport from "./adapters/observability/OtlpHttpExport.ts"
import * as ConnectingProbeServer from "./adapters/kafka/ConnectingProbeServer.ts"
import * as KafkaCausalLog from "./adapters/kafka/KafkaCausalLog.ts"
import * as KafkaLeaderElection from "./adapters/kafka/KafkaLeaderElection.ts"
import * as SodiumSignatureVerifier from "./adapters/signatures/SodiumSignatureVerifier.ts"
import * as SqliteCausalLog from "./adapters/storage/SqliteCausalLog.ts"
import * as SqliteProjectionStore from "./adapters/storage/SqliteProjectionStore.ts"
import * as WorkerRswModulusChecker from "./adapters/timelock/WorkerRswModulusChecker.ts"
import * as WorkerRswSolver from "./adapters/timelock/WorkerRswSolver.ts"
import * as WorkerTlockDecrypter from "./adapters/timelock/WorkerTlockDecrypter.ts"
import * as WorkerProofVerifier from "./adapters/proofs/WorkerProofVerifier.ts"
import { type LogConfig, type OtlpConfig, type SealerConfig, type ServeConfig, beaconKeyPath, instanceKeyPath, kafkaIndexPath, logPath, serviceName, serviceVersion, snapshotPath } from "./Config.ts"
import { ChainObservers, type ChainObserverService } from "./ports/ChainObserver.ts"
import { Deployment, type DeploymentInfo } from "./ports/Deployment.ts"
import type { SignatureVerifier } from "./ports/SignatureVerifier.ts"
import { authorityConfig, AuthorityView, ClusterAdmin, InstanceKey } from "./ports/InstanceKey.ts"
import { OperatorRoster } from "./ports/OperatorRoster.ts"
import { SenderScores } from "./ports/SenderScores.ts"
import { isOperator } from "./domain/operators/OperatorRegistry.ts"
import { openIntentsOf } from "./domain/operators/Intents.ts"
import { type AuthorityConfig, clusterViewOf, initialAuthority } from "./domain/cluster/Authority.ts"
import { makeCluster } from "./projections/Cluster/Cluster.ts"
import { makeChainState } from "./projections/ChainState/ChainState.ts"
import { makeChainWatches } from "./projections/ChainWatches/ChainWatches.ts"
import { makeEffects } from "./projections/Effects/Effects.ts"
import { makeAssets } from "./projections/Assets/Assets.ts"
import { LogIndex } from "./projections/LogIndex/LogIndex.ts"
import { makeMempool } from "./projections/Mempool/Mempool.ts"
import { makeOperators } from "./projections/Operators/Operators.ts"
import { makeRegisters } from "./projections/Registers/Registers.ts"
import { makeSequences } from "./projections/Sequences/Sequences.ts"
import { makeProofs } from "./projections/Proofs/Proofs.ts"
import type { AnyProjection } from "./projections/Projection.ts"
import * as ProjectionRunner from "./projections/ProjectionRunner.ts"
import * as Views from "./projections/Views.ts"
import * as Author from "./services/Author.ts"
import * as ChainFeed from "./services/ChainFeed.ts"
import * as EffectTracker from "./services/EffectTracker.ts"
import * as Ingest from "./services/Ingest.ts"
import * as Leadership from "./services/Leadership.ts"
import * as ProofVerdicts from "./services/ProofVerdicts.ts"
import * as AdmissionGuards from "./services/AdmissionGuards.ts"
import * as Sealer from "./services/Sealer.ts"
import * as SequenceCoordinator from "./services/SequenceCoordinator.ts"
import * as Settlement from "./services/Settlement.ts"

/**
 * What projections are built with: facts of the deployment, fixed for its whole log (the
 * instance key, and the cluster admin when the deployment is a cluster), the retention window
 * and the effect tracker's bound (absent: their defaults).
 */
export type ProjectionContext = AuthorityConfig & { readonly retentionMs?: number | undefined; readonly maxEffects?: number | undefined }

/** Every projection the service runs, in the order they are listed over HTTP. */
export const projections = (context: ProjectionContext): ReadonlyArray<AnyProjection> => [
  LogIndex,
  makeMempool(context, context.retentionMs === undefined ? {} : { retentionMs: context.retentionMs }),
  makeOperators(context),
  makeChainState(context),
  makeChainWatches(context),
  makeEffects(context),
  makeCluster(context),
  makeAssets(context),
  makeRegisters(context),
  makeSequences(context),
  makeProofs(context)
]

/** The authority in force as the cluster projection last folded it (what ingest checks decisions against). */
const authorityViewLayer = Layer.effect(
  AuthorityView,
  Effect.gen(function*() {
    const cluster = yield* Views.ClusterStateView
    return { current: Effect.map(cluster.state, (s) => s.authority) }
  })
)

/** The operator registry as the operators projection last folded it (what ingest checks operators' messages against). */
export const operatorRosterLayer = Layer.effect(
  OperatorRoster,
  Effect.gen(function*() {
    const operators = yield* Views.OperatorsView
    return {
      current: Effect.map(operators.current, ({ offset, state }) => ({
        offset,
        isOperator: (sender: string) => isOperator(state.registry, state.authority, sender),
        openIntents: (sender: string) => openIntentsOf(state.intents, sender)
      }))
    }
  })
)

/** Senders' standings as the projections last folded them (what ingest bans and slows senders by). */
export const senderScoresLayer = Layer.effect(
  SenderScores,
  Effect.gen(function*() {
    const view = yield* Views.SenderScoresView
    return { current: view.current }
  })
)

/**
 * Ingest, projections and the instance as author, over a log, verifier, snapshot store and
 * instance key in context. The instance's own key is never rate limited.
 */
export const servicesLayer = (
  ingest: Ingest.IngestOptions,
  runner: ProjectionRunner.RunnerOptions = ProjectionRunner.defaultRunnerOptions,
  retentionMs?: number,
  maxEffects?: number
) =>
  Layer.unwrap(Effect.gen(function*() {
    const key = yield* InstanceKey
    const context: ProjectionContext = { ...(yield* authorityConfig), retentionMs, maxEffects }
    // The runner and the typed views over its projections.
    const runnerLayer = Views.layer.pipe(Layer.provideMerge(ProjectionRunner.layer(projections(context), runner)))
    // Ingest reads the authority from the runner's cluster projection (one runner for both)
    // and asks the guards (over the same runner's mempool and proofs) before a reveal or a
    // proof-sharing message is written.
    const core = Ingest.layer({ ...ingest, exemptSenders: [...ingest.exemptSenders, key.publicKey] }).pipe(
      Layer.provide(Layer.mergeAll(authorityViewLayer, operatorRosterLayer, senderScoresLayer, AdmissionGuards.layer)),
      Layer.provideMerge(runnerLayer)
    )
    return Layer.provideMerge(Author.layer, core)
  }))

/** The chain observers the configuration turns on, by chain name (none by default); a Cosmos one checks signatures with the SignatureVerifier in context. */
export const chainObservers = (config: ServeConfig): Effect.Effect<ReadonlyMap<string, ChainObserverService>, never, SignatureVerifier> =>
  Effect.gen(function*() {
    const observers = new Map<string, ChainObserverService>()
    for (const cosmos of [...(config.cosmos === undefined ? [] : [config.cosmos]), ...(config.cosmosChains ?? [])]) {
      const { chainId, rpc, witnesses, trustedHeight, trustedHash, pollIntervalMs } = cosmos
      observers.set(chainId, yield* CosmjsCosmosObserver.make({
        chain: chainId,
        rpc,
        witnesses,
        trustedHeight,
        trustedHash,
        ...(pollIntervalMs === undefined ? {} : { pollIntervalMs })
      }))
    }
    for (const evm of [...(config.evm === undefined ? [] : [config.evm]), ...(config.evmChains ?? [])]) {
      const { chainId, rpcUrls, confirmations, pollIntervalMs } = evm
      observers.set(chainId, ViemEvmObserver.make({
        chain: chainId,
        urls: rpcUrls,
        ...(confirmations === undefined ? {} : { confirmations }),
        ...(pollIntervalMs === undefined ? {} : { pollIntervalMs })
      }))
    }
    return observers
  })

/** A Kafka log's configuration. */
type KafkaLogConfig = Extract<LogConfig, { readonly kind: "kafka" }>

/**
 * The Kafka adapter's options for a Kafka log; its index goes to the data directory unless
 * set. The secrets (TLS key, SASL password) leave their `Redacted` wrapper only here.
 */
export const kafkaLogOptions = (log: KafkaLogConfig, dataDir: string): KafkaCausalLog.KafkaLogOptions => ({
  brokers: log.brokers,
  topicPrefix: log.topicPrefix,
  indexPath: log.index ?? kafkaIndexPath(dataDir),
  ...(log.disconnectGraceMs === undefined ? {} : { disconnectGraceMs: log.disconnectGraceMs }),
  ...(log.tls === undefined ? {} : {
    ssl: {
      ...(log.tls.ca === undefined ? {} : { ca: log.tls.ca.pem }),
      ...(log.tls.cert === undefined ? {} : { cert: log.tls.cert.pem }),
      ...(log.tls.key === undefined ? {} : { key: Redacted.value(log.tls.key.pem) })
    }
  }),
  ...(log.sasl === undefined ? {} : {
    sasl: { mechanism: log.sasl.mechanism, username: log.sasl.username, password: Redacted.value(log.sasl.password) }
  })
})

/**
 * How a Kafka log reaches its brokers, for the log: the security protocol as Kafka names it,
 * the files and where the credentials come from; never a key or a password.
 */
export const kafkaTransport = (log: KafkaLogConfig): Record<string, string> => ({
  brokers: log.brokers.join(","),
  protocol: `${log.sasl === undefined ? "" : "SASL_"}${log.tls === undefined ? "PLAINTEXT" : "SSL"}`,
  ...(log.tls?.ca === undefined ? {} : { sslCa: log.tls.ca.path }),
  ...(log.tls?.cert === undefined ? {} : { sslCert: log.tls.cert.path }),
  ...(log.tls?.key === undefined ? {} : { sslKey: log.tls.key.path }),
  ...(log.sasl === undefined ? {} : { saslMechanism: log.sasl.mechanism, saslUsername: log.sasl.username, saslCredentials: log.sasl.source })
})

/**
 * The causal log the configuration picks: the embedded SQLite store, or Kafka. Kafka is
 * waited for (retrying) before the rest starts; meanwhile a stand-in on the service's
 * address answers /healthz 200 and /readyz 503.
 */
export const logLayer = (config: ServeConfig) => {
  const log = config.log
  if (log?.kind !== "kafka") return SqliteCausalLog.layer({ path: logPath(config.dataDir), synchronous: config.synchronous })
  return Layer.unwrap(Effect.gen(function*() {
    // How the brokers are reached, and a warning when SASL would cross the network in clear.
    yield* Effect.logInfo("kafka log transport").pipe(Effect.annotateLogs(kafkaTransport(log)))
    if (log.sasl !== undefined && log.tls === undefined) {
      const exposed = log.sasl.mechanism === "plain" ? "the password" : "the SCRAM exchange (open to offline guessing of the password)"
      yield* Effect.logWarning(`kafka log: SASL without TLS (SASL_PLAINTEXT): ${exposed} and every record travel in clear; use TLS (--kafka-ssl-ca)`)
    }
    // Who this instance is, for /v1/cluster while the log connects (nothing folded yet).
    const key = yield* InstanceKey
    const waiting = clusterViewOf(initialAuthority({ instanceKey: key.publicKey, clusterAdmin: config.clusterAdmin }), key.publicKey, 0)
    return KafkaCausalLog.layer(
      kafkaLogOptions(log, config.dataDir),
      (status) => ConnectingProbeServer.serve({ host: config.host, port: config.port, cluster: waiting }, status)
    )
  }))
}

/**
 * The database files the service may keep: the embedded log, the Kafka log's index (the
 * default one, and the configured file), the snapshots. Data signed by the instance key is
 * in them (or in their write-ahead logs, `-wal`).
 */
export const databaseFiles = (config: ServeConfig): ReadonlyArray<string> => {
  const index = config.log?.kind === "kafka" ? kafkaLogOptions(config.log, config.dataDir).indexPath : undefined
  const files = [logPath(config.dataDir), kafkaIndexPath(config.dataDir), snapshotPath(config.dataDir)]
  return index === undefined || index === ":memory:" || files.some((f) => resolve(f) === resolve(index)) ? files : [...files, index]
}

/**
 * The data directory made private (0700, database files 0600) and locked for this server
 * (a second server on it is refused), then the instance key read or created in it, before
 * any database is opened: so a key is created only where nothing was written yet, and a
 * missing key beside data it signed stops the start. The lock is released last, after the
 * databases are closed.
 */
export const instanceKeyLayer = (config: ServeConfig) => {
  const files = databaseFiles(config)
  return InstanceKeyFile.layerWith({ path: instanceKeyPath(config.dataDir), dataFiles: files.flatMap((f) => [f, `${f}-wal`]) }).pipe(
    Layer.provide(DataDirectoryLock.layer(config.dataDir)),
    Layer.provide(DataDirectory.layer(config.dataDir, files.flatMap((f) => [f, `${f}-wal`, `${f}-shm`])))
  )
}

/**
 * A cluster member's leadership loop over the Kafka election (its control topic beside the
 * log's topics); nothing for a deployment of one.
 */
export const leadershipLayer = (config: ServeConfig) => {
  if (config.clusterAdmin === undefined || config.log?.kind !== "kafka") return Layer.empty
  const log = kafkaLogOptions(config.log, config.dataDir)
  const election = Layer.unwrap(Effect.map(InstanceKey, (key) => KafkaLeaderElection.layer({
    instanceKey: key.publicKey,
    brokers: log.brokers,
    ...(log.topicPrefix === undefined ? {} : { topicPrefix: log.topicPrefix }),
    ...(log.ssl === undefined ? {} : { ssl: log.ssl }),
    ...(log.sasl === undefined ? {} : { sasl: log.sasl }),
    ...(config.clusterSessionTimeoutMs === undefined ? {} : { sessionTimeoutMs: config.clusterSessionTimeoutMs })
  })))
  return Layer.effectDiscard(Leadership.make).pipe(Layer.provide(election))
}

/**
 * The core services (log, ingest, projections, author) over the log the configuration picks;
 * `instanceKey` is the layer of `instanceKeyLayer(config)`, passed in when another layer of the
 * same build needs the key too (a layer is built once per build: one lock, one key).
 */
export const coreLayer = (
  config: ServeConfig,
  runner: ProjectionRunner.RunnerOptions = ProjectionRunner.defaultRunnerOptions,
  instanceKey: ReturnType<typeof instanceKeyLayer> = instanceKeyLayer(config)
) => {
  // Built after the instance key (Layer.provideMerge builds its argument first).
  const storage = Layer.mergeAll(
    logLayer(config),
    SqliteProjectionStore.layer(snapshotPath(config.dataDir)),
    SodiumSignatureVerifier.layer,
    // The Cosmos light client's verifier: node:crypto Ed25519, each commit's selected signatures
    // checked on the calling thread and helper threads at once (the same verdicts as libsodium's,
    // pinned by test/adapters/Ed25519Conformance.test.ts).
    Layer.effect(ChainObservers, chainObservers(config)).pipe(Layer.provide(NodeCryptoCommitVerifier.layer)),
    Layer.succeed(ClusterAdmin, config.clusterAdmin)
  ).pipe(Layer.provideMerge(instanceKey))
  // The chain feed publishes what the observers report (nothing when no chain is configured);
  // in a cluster, the leadership loop claims terms when the election gives this member the lease;
  // the leader's proof verdicts, over the worker-thread verifier (also an output: POST
  // /v1/proofs/verify uses it), whose thread stops with the layer.
  const proofs = ProofVerdicts.layer({ ...ProofVerdicts.defaultProofVerdictOptions, ...(config.proofDeadlineMs === undefined ? {} : { deadlineMs: config.proofDeadlineMs }) }).pipe(
    Layer.provideMerge(WorkerProofVerifier.layer)
  )
  const perToken = config.watchesPerToken
  const feed = ChainFeed.layer(perToken?.chain === undefined ? {} : { watchesPerToken: perToken.chain })
  const tracker = EffectTracker.layer(perToken?.effect === undefined ? {} : { watchesPerToken: perToken.effect })
  return Layer.mergeAll(feed, tracker, leadershipLayer(config), proofs).pipe(Layer.provideMerge(servicesLayer(config.ingest, runner, config.retentionMs, config.maxEffects)), Layer.provideMerge(storage))
}

/**
 * The sealer over a core (Author, Projections, CausalLog): its beacon (the local one from its
 * key file in the data directory, or drand over HTTP), the worker-thread tlock decrypter and
 * the worker-thread RSW solver; and settlement beside it (src/services/Settlement.ts). The
 * beacon is an output too, for the HTTP adapter to publish.
 */
export const sealerLayer = (config: SealerConfig, dataDir: string) => {
  const beacon = config.beacon.kind === "drand"
    ? DrandHttpBeacon.layerWith({ baseUrl: config.beacon.url, chainHash: config.beacon.chainHash })
    : LocalBeaconFile.layer(config.beacon.keyPath ?? beaconKeyPath(dataDir))
  // A tick per tenth of the window (at most a second), so a seal is late by at most that.
  const tickMs = Math.min(1000, Math.max(10, Math.floor(config.batchWindowMs / 10)))
  // The beacon stays in the output: GET /v1/beacon/... serves it to clients.
  const sealer = Sealer.layer({
    windowMs: config.batchWindowMs,
    tickMs,
    ...(config.orderLifetimeMs === undefined ? {} : { maxOrderLifetimeMs: config.orderLifetimeMs }),
    ...(config.maxOpenOrders === undefined ? {} : { maxOpenOrders: config.maxOpenOrders })
  }).pipe(
    Layer.provide(Layer.mergeAll(WorkerTlockDecrypter.layer, WorkerRswSolver.layer, WorkerRswModulusChecker.layer)),
    Layer.provideMerge(beacon)
  )
  // Settlement decides operators' match proposals and fill reports beside the sealer; the
  // sequence coordinator expires claims' leases and completes or fails execution sequences.
  return Layer.mergeAll(sealer, Settlement.layer, SequenceCoordinator.layer())
}

/** What GET /v1/instance reports of the configuration. */
export const deploymentOf = (config: ServeConfig): DeploymentInfo => ({
  log: config.log?.kind === "kafka" ? "kafka" : "sqlite",
  maxMessageBytes: config.ingest.maxMessageBytes,
  maxBatch: config.ingest.maxBatch,
  batchWindowMs: config.sealer?.batchWindowMs ?? null,
  revealWindowMs: config.sealer === undefined ? null : Sealer.defaultSealerOptions.revealWindowMs,
  beacon: config.sealer?.beacon.kind ?? null
})

/**
 * Traces and metrics exported over OTLP to the configured collector, as service `causeway`
 * with the instance's public key as `service.instance.id`; over the instance key layer.
 */
export const telemetryLayer = (otlp: OtlpConfig) =>
  Layer.unwrap(Effect.map(InstanceKey, (key) =>
    OtlpHttpExport.layer({ url: otlp.url, serviceName, serviceVersion, instanceId: key.publicKey })))

/**
 * The whole service: the HTTP adapter over the core and, when configured, the sealer; logging
 * JSON to stdout and, with `otlp`, exporting traces and metrics. Logging, the tracer and the
 * exporters are outputs too, so whatever runs beside the service (the CLI's announcement) logs
 * and traces the same way. Without `otlp` no span is made per HTTP request.
 */
export const appLayer = (config: ServeConfig) => {
  const instanceKey = instanceKeyLayer(config)
  const core = coreLayer(config, ProjectionRunner.defaultRunnerOptions, instanceKey)
  const telemetry = config.otlp === undefined ? Layer.empty : telemetryLayer(config.otlp).pipe(Layer.provide(instanceKey))
  return HttpService.layer({
    host: config.host,
    port: config.port,
    maxBatch: config.ingest.maxBatch,
    traceRequests: config.otlp !== undefined,
    dashboard: true,
    ...(config.clientBudgets === undefined ? {} : { clientBudgets: config.clientBudgets }),
    ...(config.streams === undefined ? {} : { streams: config.streams })
  }).pipe(
    // Read (or created) once the core holds the data directory: it exists, is private and is this instance's.
    Layer.provide(ApiTokenFile.layer({ dataDir: config.dataDir, tokensFile: config.apiTokensFile, privateReads: config.privateReads ?? false })),
    Layer.provide(config.sealer === undefined ? core : sealerLayer(config.sealer, config.dataDir).pipe(Layer.provideMerge(core))),
    Layer.provide(Layer.succeed(Deployment, deploymentOf(config))),
    // Built before the rest and closed after it: the last spans and metrics are flushed at shutdown.
    Layer.provideMerge(telemetry),
    Layer.provideMerge(HttpService.logging(config.logLevel))
  )
}
