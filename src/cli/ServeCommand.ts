/**
 * `causeway serve`: run the service (src/main.ts `appLayer`) until SIGINT/SIGTERM, then shut
 * down gracefully (the server drains, the projections write their last snapshot) and exit 0.
 * Each setting comes from its flag, else its environment variable, else src/Config.ts.
 * Logs are JSON lines on stdout; one line, `causeway serving`, says where it listens.
 */
import { existsSync } from "node:fs"
import { resolve } from "node:path"
import { Config, Effect, Layer, Option, Result } from "effect"
import { Command, Flag } from "effect/cli"
import * as HttpService from "../adapters/http/HttpService.ts"
import { type CosmosChainConfig, type EvmChainConfig, type LogConfig, type SealerConfig, type ServeConfig, defaultServeConfig } from "../Config.ts"
import { appLayer } from "../main.ts"
import { CommandFailed, UsageError, describe } from "./CliErrors.ts"
import { dataDirEnv, dataDirFlag } from "./Flags.ts"
import { runsUntilStopped } from "./Signals.ts"

const logLevels = { trace: "Trace", debug: "Debug", info: "Info", warn: "Warn", error: "Error" } as const satisfies Record<string, ServeConfig["logLevel"]>

/** A log level name, any case. */
export const parseLogLevel = (text: string): Option.Option<ServeConfig["logLevel"]> => {
  const key = text.trim().toLowerCase()
  return Object.hasOwn(logLevels, key) ? Option.some(logLevels[key as keyof typeof logLevels]) : Option.none()
}

const isHttpUrl = (text: string): boolean => {
  try {
    const url = new URL(text)
    return url.protocol === "http:" || url.protocol === "https:"
  } catch {
    return false
  }
}

/** The Cosmos chain the --cosmos-* flags describe: none without --cosmos-rpc, or why they do not add up. */
export const cosmosConfig = (flags: {
  readonly rpc: Option.Option<string>
  readonly chainId: Option.Option<string>
  readonly trustedHeight: Option.Option<number>
  readonly trustedHash: Option.Option<string>
  readonly witnesses: Option.Option<string>
}): Result.Result<CosmosChainConfig | undefined, string> => {
  if (Option.isNone(flags.rpc)) {
    const stray = [flags.chainId, flags.trustedHeight, flags.trustedHash, flags.witnesses].some((o: Option.Option<unknown>) => Option.isSome(o))
    return stray ? Result.fail("--cosmos-chain-id, --cosmos-trusted-height, --cosmos-trusted-hash and --cosmos-witness need --cosmos-rpc") : Result.succeed(undefined)
  }
  const rpc = flags.rpc.value
  if (!isHttpUrl(rpc)) return Result.fail(`--cosmos-rpc ${JSON.stringify(rpc)} is not an http(s) URL`)
  if (Option.isNone(flags.chainId) || !/^[\x21-\x7e]{1,50}$/.test(flags.chainId.value)) return Result.fail("--cosmos-chain-id is required with --cosmos-rpc (1..50 printable characters)")
  if (Option.isNone(flags.trustedHeight) || flags.trustedHeight.value < 1) return Result.fail("--cosmos-trusted-height is required with --cosmos-rpc (a positive height)")
  if (Option.isNone(flags.trustedHash) || !/^(?:0x)?[0-9a-fA-F]{64}$/.test(flags.trustedHash.value)) {
    return Result.fail("--cosmos-trusted-hash is required with --cosmos-rpc (the 32-byte header hash at the trusted height, hex)")
  }
  const witnesses = Option.isNone(flags.witnesses) ? [] : flags.witnesses.value.split(",").map((w) => w.trim()).filter((w) => w !== "")
  const bad = witnesses.find((w) => !isHttpUrl(w))
  if (bad !== undefined) return Result.fail(`--cosmos-witness ${JSON.stringify(bad)} is not an http(s) URL`)
  return Result.succeed({
    rpc,
    chainId: flags.chainId.value,
    trustedHeight: flags.trustedHeight.value,
    trustedHash: flags.trustedHash.value.replace(/^0x/, "").toUpperCase(),
    witnesses
  })
}

/** The EVM chain the --evm-* flags describe: none without --evm-rpc, or why they do not add up. */
export const evmConfig = (flags: {
  readonly rpc: Option.Option<string>
  readonly chainId: Option.Option<string>
  readonly confirmations: Option.Option<number>
}): Result.Result<EvmChainConfig | undefined, string> => {
  if (Option.isNone(flags.rpc)) {
    return Option.isSome(flags.chainId) || Option.isSome(flags.confirmations)
      ? Result.fail("--evm-chain-id and --evm-confirmations need --evm-rpc")
      : Result.succeed(undefined)
  }
  const rpcUrls = flags.rpc.value.split(",").map((u) => u.trim()).filter((u) => u !== "")
  if (rpcUrls.length === 0) return Result.fail("--evm-rpc needs at least one URL")
  const bad = rpcUrls.find((u) => !isHttpUrl(u))
  if (bad !== undefined) return Result.fail(`--evm-rpc ${JSON.stringify(bad)} is not an http(s) URL`)
  const chainId = Option.getOrElse(flags.chainId, () => "evm")
  if (!/^[\x21-\x7e]{1,64}$/.test(chainId)) return Result.fail(`--evm-chain-id ${JSON.stringify(chainId)} is not 1..64 printable characters`)
  if (Option.isSome(flags.confirmations) && !(flags.confirmations.value >= 0 && flags.confirmations.value <= 255)) {
    return Result.fail(`--evm-confirmations ${flags.confirmations.value} is not in 0..255`)
  }
  return Result.succeed({ chainId, rpcUrls, ...(Option.isSome(flags.confirmations) ? { confirmations: flags.confirmations.value } : {}) })
}

/** The sealer the --batch-window-ms / --beacon / --drand-* flags describe, or why they do not add up. */
export const sealerConfig = (flags: {
  readonly batchWindowMs: number
  readonly beacon: string
  readonly drandUrl: Option.Option<string>
  readonly drandChainHash: Option.Option<string>
  /** The local beacon's key file, given (shared by a cluster's members). */
  readonly beaconKey?: Option.Option<string>
  /** The deployment is a cluster: every member must serve the same beacon. */
  readonly cluster?: boolean
}): Result.Result<SealerConfig, string> => {
  if (!Number.isInteger(flags.batchWindowMs) || flags.batchWindowMs < 10 || flags.batchWindowMs > 3_600_000) {
    return Result.fail(`--batch-window-ms ${flags.batchWindowMs} is not in 10..3600000`)
  }
  const beacon = flags.beacon.trim().toLowerCase()
  const beaconKey = flags.beaconKey ?? Option.none()
  if (beacon === "local") {
    if (Option.isSome(flags.drandUrl) || Option.isSome(flags.drandChainHash)) return Result.fail("--drand-url and --drand-chain-hash need --beacon drand")
    if (Option.isNone(beaconKey)) {
      // A time-locked order sealed under one leader is opened by whichever member leads when
      // its round comes: each member's own beacon would lock orders no other member can open.
      return flags.cluster === true
        ? Result.fail("a cluster (--cluster-admin) needs a beacon every member can serve: --beacon drand, or --beacon-key FILE with one beacon key file copied to every member")
        : Result.succeed({ batchWindowMs: flags.batchWindowMs, beacon: { kind: "local" } })
    }
    const path = resolve(beaconKey.value)
    if (!existsSync(path)) return Result.fail(`--beacon-key ${path} does not exist (start one member without --cluster-admin to create DATA_DIR/beacon.key, then copy it to every member)`)
    return Result.succeed({ batchWindowMs: flags.batchWindowMs, beacon: { kind: "local", keyPath: path } })
  }
  if (Option.isSome(beaconKey)) return Result.fail("--beacon-key is the local beacon's key file: it needs --beacon local")
  if (beacon !== "drand") return Result.fail(`--beacon ${JSON.stringify(flags.beacon)} is not local or drand`)
  if (Option.isNone(flags.drandUrl) || !isHttpUrl(flags.drandUrl.value)) return Result.fail("--beacon drand needs --drand-url, an http(s) URL (e.g. https://api.drand.sh)")
  if (Option.isNone(flags.drandChainHash) || !/^[0-9a-fA-F]{64}$/.test(flags.drandChainHash.value)) {
    return Result.fail("--beacon drand needs --drand-chain-hash, the chain's 32-byte hash in hex")
  }
  return Result.succeed({
    batchWindowMs: flags.batchWindowMs,
    beacon: { kind: "drand", url: flags.drandUrl.value.replace(/\/+$/, ""), chainHash: flags.drandChainHash.value.toLowerCase() }
  })
}

/** Default prefix of the Kafka topic names. */
export const defaultTopicPrefix = "causeway."

/** Longest --kafka-disconnect-grace-ms (an hour). */
const maxDisconnectGraceMs = 3_600_000

/**
 * The causal log the --log / --brokers / --topic-prefix / --kafka-index /
 * --kafka-disconnect-grace-ms flags describe, or why they do not add up. The Kafka-only flags
 * are a usage error with the embedded log (as the --cosmos-* flags without --cosmos-rpc).
 * --kafka-index `memory` is ":memory:"; absent, the index goes to the data directory
 * (`kafkaIndexPath`, resolved in src/main.ts).
 */
export const logConfig = (flags: {
  readonly log: Option.Option<string>
  readonly brokers: Option.Option<string>
  readonly topicPrefix: Option.Option<string>
  readonly index: Option.Option<string>
  readonly disconnectGraceMs: Option.Option<number>
}): Result.Result<LogConfig, string> => {
  // KAFKA_BROKERS alone selects Kafka; the embedded store stays the default otherwise.
  const kind = Option.getOrElse(flags.log, () => (Option.isSome(flags.brokers) ? "kafka" : "embedded")).trim().toLowerCase()
  if (kind === "embedded") {
    const stray = ([["--topic-prefix", flags.topicPrefix], ["--kafka-index", flags.index], ["--kafka-disconnect-grace-ms", flags.disconnectGraceMs]] as const)
      .filter(([, o]) => Option.isSome(o as Option.Option<unknown>))
      .map(([name]) => name)
    return stray.length === 0
      ? Result.succeed({ kind: "embedded" })
      : Result.fail(`${stray.join(", ")} ${stray.length === 1 ? "needs" : "need"} --log kafka`)
  }
  if (kind !== "kafka") return Result.fail(`--log ${JSON.stringify(Option.getOrElse(flags.log, () => ""))} is not embedded or kafka`)
  if (Option.isNone(flags.brokers)) return Result.fail("--log kafka needs --brokers host:port,... (or env KAFKA_BROKERS)")
  const brokers = flags.brokers.value.split(",").map((b) => b.trim()).filter((b) => b !== "")
  const bad = brokers.find((b) => {
    const m = /^(?:\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(b)
    return m === null || Number(m[1]) < 1 || Number(m[1]) > 65535
  })
  if (brokers.length === 0 || bad !== undefined) return Result.fail(`--brokers ${JSON.stringify(bad ?? flags.brokers.value)} is not host:port`)
  const topicPrefix = Option.getOrElse(flags.topicPrefix, () => defaultTopicPrefix)
  if (!/^[A-Za-z0-9._-]{0,200}$/.test(topicPrefix)) {
    return Result.fail(`--topic-prefix ${JSON.stringify(topicPrefix)} may hold only letters, digits, '.', '_' and '-' (at most 200)`)
  }
  let index: string | undefined
  if (Option.isSome(flags.index)) {
    const text = flags.index.value.trim()
    if (text === "") return Result.fail("--kafka-index needs a file path or memory")
    index = text === "memory" || text === ":memory:" ? ":memory:" : text
  }
  if (Option.isSome(flags.disconnectGraceMs)) {
    const ms = flags.disconnectGraceMs.value
    if (!Number.isInteger(ms) || ms < 1 || ms > maxDisconnectGraceMs) {
      return Result.fail(`--kafka-disconnect-grace-ms ${ms} is not a whole number of milliseconds in 1..${maxDisconnectGraceMs}`)
    }
  }
  return Result.succeed({
    kind: "kafka",
    brokers,
    topicPrefix,
    ...(index === undefined ? {} : { index }),
    ...(Option.isSome(flags.disconnectGraceMs) ? { disconnectGraceMs: flags.disconnectGraceMs.value } : {})
  })
}

/**
 * The environment variable each serve flag falls back to, by flag name: the flags below read
 * exactly these (test/infra/Deployment.test.ts checks the deployment files against them).
 */
export const serveEnv = {
  host: "HOST",
  port: "PORT",
  "data-dir": dataDirEnv,
  log: "CAUSEWAY_LOG",
  brokers: "KAFKA_BROKERS",
  "topic-prefix": "KAFKA_TOPIC_PREFIX",
  "kafka-index": "KAFKA_INDEX",
  "kafka-disconnect-grace-ms": "KAFKA_DISCONNECT_GRACE_MS",
  "log-level": "LOG_LEVEL",
  "cosmos-rpc": "COSMOS_RPC",
  "cosmos-chain-id": "COSMOS_CHAIN_ID",
  "cosmos-trusted-height": "COSMOS_TRUSTED_HEIGHT",
  "cosmos-trusted-hash": "COSMOS_TRUSTED_HASH",
  "cosmos-witness": "COSMOS_WITNESS",
  "evm-rpc": "EVM_RPC_URLS",
  "evm-chain-id": "EVM_CHAIN_ID",
  "evm-confirmations": "EVM_CONFIRMATIONS",
  "batch-window-ms": "BATCH_WINDOW_MS",
  beacon: "BEACON",
  "drand-url": "DRAND_URL",
  "drand-chain-hash": "DRAND_CHAIN_HASH",
  "beacon-key": "BEACON_KEY",
  "cluster-admin": "CLUSTER_ADMIN"
} as const satisfies Record<string, string>

/** A serve flag's name. */
type ServeFlag = keyof typeof serveEnv

/** An optional string flag that falls back to its environment variable. */
const optionalString = (name: ServeFlag, description: string) =>
  Flag.String(name).pipe(Flag.withDescription(description), Flag.withFallbackConfig(Config.String(serveEnv[name])), Flag.optional)

/** An optional integer flag that falls back to its environment variable. */
const optionalInt = (name: ServeFlag, description: string) =>
  Flag.Int(name).pipe(Flag.withDescription(description), Flag.withFallbackConfig(Config.Int(serveEnv[name])), Flag.optional)

/** The serve command. */
export const serveCommand = Command.make(
  "serve",
  {
    host: Flag.String("host").pipe(
      Flag.withDescription(`Interface to listen on (env HOST, default ${defaultServeConfig.host})`),
      Flag.withFallbackConfig(Config.String(serveEnv.host)),
      Flag.withDefault(defaultServeConfig.host)
    ),
    port: Flag.Int("port").pipe(
      Flag.withDescription(`Port to listen on, 0 for any free one (env PORT, default ${defaultServeConfig.port})`),
      Flag.withFallbackConfig(Config.Int(serveEnv.port)),
      Flag.withDefault(defaultServeConfig.port),
      Flag.filter((p) => Number.isInteger(p) && p >= 0 && p <= 65535, (p) => `port ${p} is not in 0..65535`)
    ),
    dataDir: dataDirFlag,
    log: optionalString("log", "The causal log: embedded (SQLite in the data directory) or kafka (env CAUSEWAY_LOG; default embedded, kafka when KAFKA_BROKERS is set)"),
    brokers: optionalString("brokers", "Kafka bootstrap brokers, host:port comma-separated, for --log kafka (env KAFKA_BROKERS)"),
    topicPrefix: optionalString("topic-prefix", `Prefix of the Kafka topic names, for --log kafka (env KAFKA_TOPIC_PREFIX, default ${defaultTopicPrefix})`),
    kafkaIndex: optionalString(
      "kafka-index",
      "Where the Kafka log's local index (materialized log and merge position) is kept, for --log kafka: a file, so a restart reads only the topics' tail, or memory, rebuilt from the topics at every start (env KAFKA_INDEX, default <data dir>/kafka-index.sqlite)"
    ),
    kafkaDisconnectGraceMs: optionalInt(
      "kafka-disconnect-grace-ms",
      "How long produce and fetch may fail without a break before /readyz answers 503, ms, for --log kafka (env KAFKA_DISCONNECT_GRACE_MS, default 5000)"
    ),
    logLevel: Flag.String("log-level").pipe(
      Flag.withDescription(`trace, debug, info, warn or error (env LOG_LEVEL, default ${defaultServeConfig.logLevel.toLowerCase()})`),
      Flag.withFallbackConfig(Config.String(serveEnv["log-level"])),
      Flag.withDefault(defaultServeConfig.logLevel),
      Flag.filterMap(parseLogLevel, (s) => `log level ${JSON.stringify(s)} is not one of trace, debug, info, warn, error`)
    ),
    cosmosRpc: optionalString("cosmos-rpc", "Observe a CometBFT chain through this full node's RPC URL, verified by the light client (env COSMOS_RPC; default off)"),
    cosmosChainId: optionalString("cosmos-chain-id", "The chain's CometBFT chain ID (env COSMOS_CHAIN_ID)"),
    cosmosTrustedHeight: optionalInt("cosmos-trusted-height", "Height of the light client's root of trust (env COSMOS_TRUSTED_HEIGHT)"),
    cosmosTrustedHash: optionalString("cosmos-trusted-hash", "Header hash at the trusted height, hex (env COSMOS_TRUSTED_HASH)"),
    cosmosWitness: optionalString("cosmos-witness", "Witness RPC URLs, comma-separated, cross-checked for conflicting headers (env COSMOS_WITNESS)"),
    evmRpc: optionalString("evm-rpc", "Observe an EVM chain through these JSON-RPC URLs, comma-separated; several must agree on every header (env EVM_RPC_URLS; default off)"),
    evmChainId: optionalString("evm-chain-id", "The EVM chain's name in causeway (env EVM_CHAIN_ID, default evm)"),
    evmConfirmations: optionalInt("evm-confirmations", "Finality by this many confirmations instead of the node's safe/finalized tags (env EVM_CONFIRMATIONS)"),
    batchWindowMs: Flag.Int("batch-window-ms").pipe(
      Flag.withDescription(`The mempool's batch window: a batch is sealed this long after the previous one, ms (env BATCH_WINDOW_MS, default ${defaultServeConfig.sealer?.batchWindowMs})`),
      Flag.withFallbackConfig(Config.Int(serveEnv["batch-window-ms"])),
      Flag.withDefault(defaultServeConfig.sealer?.batchWindowMs ?? 12_000)
    ),
    beacon: Flag.String("beacon").pipe(
      Flag.withDescription("Beacon for time-locked orders: local (own BLS key in the data directory) or drand (env BEACON, default local)"),
      Flag.withFallbackConfig(Config.String(serveEnv.beacon)),
      Flag.withDefault("local")
    ),
    drandUrl: optionalString("drand-url", "drand HTTP API root with --beacon drand, e.g. https://api.drand.sh (env DRAND_URL)"),
    drandChainHash: optionalString("drand-chain-hash", "The drand chain's hash (hex) with --beacon drand; its info must hash to it (env DRAND_CHAIN_HASH)"),
    beaconKey: optionalString(
      "beacon-key",
      "The local beacon's key file, which must exist (env BEACON_KEY; default <data dir>/beacon.key, created on first start); a cluster's members share one"
    ),
    clusterAdmin: optionalString(
      "cluster-admin",
      "The cluster admin's ed25519 public key (hex): its ClusterMembersSet names the members, and decisions count from the members' elected leader (env CLUSTER_ADMIN; default: a deployment of this one instance)"
    )
  },
  Effect.fn("causeway.serve")(function*(flags) {
    const cosmos = cosmosConfig({
      rpc: flags.cosmosRpc,
      chainId: flags.cosmosChainId,
      trustedHeight: flags.cosmosTrustedHeight,
      trustedHash: flags.cosmosTrustedHash,
      witnesses: flags.cosmosWitness
    })
    if (Result.isFailure(cosmos)) return yield* new UsageError({ message: cosmos.failure })
    const evm = evmConfig({ rpc: flags.evmRpc, chainId: flags.evmChainId, confirmations: flags.evmConfirmations })
    if (Result.isFailure(evm)) return yield* new UsageError({ message: evm.failure })
    const clusterAdmin = Option.map(flags.clusterAdmin, (k) => k.trim().toLowerCase())
    if (Option.isSome(clusterAdmin) && !/^[0-9a-f]{64}$/.test(clusterAdmin.value)) {
      return yield* new UsageError({ message: "--cluster-admin needs the admin's ed25519 public key, 32 bytes in hex (causeway keygen prints it)" })
    }
    const sealer = sealerConfig({
      batchWindowMs: flags.batchWindowMs,
      beacon: flags.beacon,
      drandUrl: flags.drandUrl,
      drandChainHash: flags.drandChainHash,
      beaconKey: flags.beaconKey,
      cluster: Option.isSome(clusterAdmin)
    })
    if (Result.isFailure(sealer)) return yield* new UsageError({ message: sealer.failure })
    const log = logConfig({
      log: flags.log,
      brokers: flags.brokers,
      topicPrefix: flags.topicPrefix,
      index: flags.kafkaIndex,
      disconnectGraceMs: flags.kafkaDisconnectGraceMs
    })
    if (Result.isFailure(log)) return yield* new UsageError({ message: log.failure })
    const config: ServeConfig = {
      ...defaultServeConfig,
      log: log.success,
      host: flags.host,
      port: flags.port,
      dataDir: flags.dataDir,
      logLevel: flags.logLevel,
      ...(cosmos.success === undefined ? {} : { cosmos: cosmos.success }),
      ...(evm.success === undefined ? {} : { evm: evm.success }),
      sealer: sealer.success,
      ...(Option.isSome(clusterAdmin) ? { clusterAdmin: clusterAdmin.value } : {})
    }
    // Built after the server is listening, so the line tells the bound port (also for --port 0);
    // its finalizer runs first on shutdown.
    const announce = Layer.effectDiscard(
      Effect.gen(function*() {
        const port = yield* HttpService.boundPort
        yield* Effect.logInfo("causeway serving").pipe(
          Effect.annotateLogs({ url: `http://${config.host.includes(":") ? `[${config.host}]` : config.host}:${port}`, host: config.host, port, dataDir: resolve(config.dataDir) })
        )
        yield* Effect.addFinalizer(() => Effect.logInfo("causeway shutting down"))
      })
    )
    yield* runsUntilStopped
    return yield* Layer.launch(announce.pipe(Layer.provide(appLayer(config)), Layer.provide(HttpService.logging(config.logLevel)))).pipe(
      Effect.mapError((e) => new CommandFailed({ message: `the server failed: ${describe(e)}` }))
    )
  })
).pipe(Command.withDescription("Run the causeway server until SIGINT/SIGTERM."))
