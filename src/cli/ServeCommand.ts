/**
 * `causeway serve`: run the service (src/main.ts `appLayer`) until SIGINT/SIGTERM, then shut
 * down gracefully (the server drains, the projections write their last snapshot) and exit 0.
 * Each setting comes from its flag, else its environment variable, else src/Config.ts.
 * Logs are JSON lines on stdout; one line, `causeway serving`, says where it listens (and its pid).
 */
import { X509Certificate, createPrivateKey } from "node:crypto"
import { existsSync } from "node:fs"
import { resolve } from "node:path"
import { Config, Effect, FileSystem, Layer, Option, Redacted, Result } from "effect"
import * as Scheduler from "effect/Scheduler"
import { Command, Flag } from "effect/cli"
import * as StreamSlots from "../adapters/http/StreamSlots.ts"
import * as HttpService from "../adapters/http/HttpService.ts"
import {
  type CosmosChainConfig,
  type EvmChainConfig,
  type KafkaSaslConfig,
  type KafkaSaslMechanism,
  type KafkaTlsConfig,
  type LogConfig,
  type SealerConfig,
  type ServeConfig,
  defaultServeConfig,
  kafkaSaslMechanisms
} from "../Config.ts"
import { TurnBudgetScheduler } from "../adapters/runtime/TurnBudgetScheduler.ts"
import { appLayer } from "../main.ts"
import * as ClientBudgets from "../services/ClientBudgets.ts"
import * as Sealer from "../services/Sealer.ts"
import { DEFAULT_RETENTION_MS } from "../domain/mempool/MempoolFold.ts"
import { MAX_EFFECTS } from "../domain/effects/EffectFold.ts"
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
  /** The TLS and SASL settings, only to name them with the embedded log (`kafkaSecurityPlan` checks them); absent: none set. */
  readonly security?: KafkaSecurityFlags
}): Result.Result<LogConfig, string> => {
  // KAFKA_BROKERS alone selects Kafka; the embedded store stays the default otherwise.
  const kind = Option.getOrElse(flags.log, () => (Option.isSome(flags.brokers) ? "kafka" : "embedded")).trim().toLowerCase()
  if (kind === "embedded") {
    const stray = [
      ...([["--topic-prefix", flags.topicPrefix], ["--kafka-index", flags.index], ["--kafka-disconnect-grace-ms", flags.disconnectGraceMs]] as const)
        .filter(([, o]) => Option.isSome(o as Option.Option<unknown>))
        .map(([name]) => name),
      ...(flags.security === undefined ? [] : securitySettingsSet(flags.security))
    ]
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
 * The environment variables the SASL credentials come from, besides a credentials file. No
 * flag takes them: a process's arguments are visible to every user of the machine.
 */
export const kafkaSaslEnv = { username: "KAFKA_SASL_USERNAME", password: "KAFKA_SASL_PASSWORD" } as const

/** The --kafka-ssl-* and --kafka-sasl-* flags (or their variables), and the KAFKA_SASL_USERNAME / KAFKA_SASL_PASSWORD variables. */
export interface KafkaSecurityFlags {
  readonly sslCa: Option.Option<string>
  readonly sslCert: Option.Option<string>
  readonly sslKey: Option.Option<string>
  readonly saslMechanism: Option.Option<string>
  readonly saslCredentialsFile: Option.Option<string>
  readonly saslUsername: Option.Option<string>
  readonly saslPassword: Option.Option<Redacted.Redacted<string>>
}

/** Which of the security settings are set: flags by their name, the credential variables by theirs. */
export const securitySettingsSet = (s: KafkaSecurityFlags): Array<string> =>
  ([
    ["--kafka-ssl-ca", s.sslCa],
    ["--kafka-ssl-cert", s.sslCert],
    ["--kafka-ssl-key", s.sslKey],
    ["--kafka-sasl-mechanism", s.saslMechanism],
    ["--kafka-sasl-credentials-file", s.saslCredentialsFile],
    [kafkaSaslEnv.username, s.saslUsername],
    [kafkaSaslEnv.password, s.saslPassword]
  ] as const).filter(([, o]) => Option.isSome(o as Option.Option<unknown>)).map(([name]) => name)

/** What the security settings ask for, before any file is read: the PEM files, the mechanism, where the credentials are. */
export interface KafkaSecurityPlan {
  readonly tls?: { readonly ca?: string; readonly cert?: string; readonly key?: string }
  readonly sasl?: {
    readonly mechanism: KafkaSaslMechanism
    readonly credentials:
      | { readonly _tag: "File"; readonly path: string }
      | { readonly _tag: "Environment"; readonly username: string; readonly password: Redacted.Redacted<string> }
  }
}

const isSaslMechanism = (text: string): text is KafkaSaslMechanism => (kafkaSaslMechanisms as ReadonlyArray<string>).includes(text)

/**
 * The TLS and SASL settings of a Kafka log, or why they do not add up: any --kafka-ssl-* file
 * turns TLS on (--kafka-ssl-cert and --kafka-ssl-key go together); --kafka-sasl-mechanism needs
 * credentials, from KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD or from
 * --kafka-sasl-credentials-file (one of the two), and credentials need a mechanism.
 */
export const kafkaSecurityPlan = (s: KafkaSecurityFlags): Result.Result<KafkaSecurityPlan, string> => {
  const path = (name: string, o: Option.Option<string>): Result.Result<string | undefined, string> => {
    if (Option.isNone(o)) return Result.succeed(undefined)
    const text = o.value.trim()
    return text === "" ? Result.fail(`${name} needs a file path`) : Result.succeed(text)
  }
  const ca = path("--kafka-ssl-ca", s.sslCa)
  const cert = path("--kafka-ssl-cert", s.sslCert)
  const key = path("--kafka-ssl-key", s.sslKey)
  const credentialsFile = path("--kafka-sasl-credentials-file", s.saslCredentialsFile)
  for (const r of [ca, cert, key, credentialsFile]) if (Result.isFailure(r)) return Result.fail(r.failure)
  const [caPath, certPath, keyPath, filePath] = [ca, cert, key, credentialsFile].map(Result.getOrUndefined)
  if (certPath !== undefined && keyPath === undefined) return Result.fail("--kafka-ssl-cert needs --kafka-ssl-key (the client certificate's private key)")
  if (keyPath !== undefined && certPath === undefined) return Result.fail("--kafka-ssl-key needs --kafka-ssl-cert (the certificate of the client key)")
  const tls = caPath === undefined && certPath === undefined
    ? undefined
    : { ...(caPath === undefined ? {} : { ca: caPath }), ...(certPath === undefined ? {} : { cert: certPath, key: keyPath }) }

  const fromEnv = Option.isSome(s.saslUsername) || Option.isSome(s.saslPassword)
  if (Option.isNone(s.saslMechanism)) {
    const stray = [...(filePath === undefined ? [] : ["--kafka-sasl-credentials-file"]), ...securitySettingsSet(s).filter((n) => n.startsWith("KAFKA_SASL_"))]
    return stray.length === 0
      ? Result.succeed(tls === undefined ? {} : { tls })
      : Result.fail(`${stray.join(", ")} ${stray.length === 1 ? "needs" : "need"} --kafka-sasl-mechanism (${kafkaSaslMechanisms.join(", ")})`)
  }
  const mechanism = s.saslMechanism.value.trim().toLowerCase()
  if (!isSaslMechanism(mechanism)) {
    return Result.fail(`--kafka-sasl-mechanism ${JSON.stringify(s.saslMechanism.value)} is not one of ${kafkaSaslMechanisms.join(", ")}`)
  }
  if (filePath !== undefined && fromEnv) return Result.fail(`--kafka-sasl-credentials-file and ${kafkaSaslEnv.username}/${kafkaSaslEnv.password}: give the credentials one way, not both`)
  let credentials: NonNullable<KafkaSecurityPlan["sasl"]>["credentials"]
  if (filePath !== undefined) credentials = { _tag: "File", path: filePath }
  else if (Option.isSome(s.saslUsername) && Option.isSome(s.saslPassword)) {
    if (s.saslUsername.value === "") return Result.fail(`${kafkaSaslEnv.username} is empty`)
    if (Redacted.value(s.saslPassword.value) === "") return Result.fail(`${kafkaSaslEnv.password} is empty`)
    credentials = { _tag: "Environment", username: s.saslUsername.value, password: s.saslPassword.value }
  } else if (fromEnv) {
    return Result.fail(Option.isSome(s.saslUsername) ? `${kafkaSaslEnv.username} needs ${kafkaSaslEnv.password}` : `${kafkaSaslEnv.password} needs ${kafkaSaslEnv.username}`)
  } else {
    return Result.fail(`--kafka-sasl-mechanism ${mechanism} needs credentials: ${kafkaSaslEnv.username} and ${kafkaSaslEnv.password} in the environment, or --kafka-sasl-credentials-file`)
  }
  return Result.succeed({ ...(tls === undefined ? {} : { tls }), sasl: { mechanism, credentials } })
}

/** The credentials file's content: JSON with a non-empty username and password. */
const parseCredentials = (text: string): { readonly username: string; readonly password: string } | undefined => {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    return undefined
  }
  if (typeof value !== "object" || value === null) return undefined
  const { username, password } = value as { username?: unknown; password?: unknown }
  return typeof username === "string" && username !== "" && typeof password === "string" && password !== ""
    ? { username, password }
    : undefined
}

/**
 * Read the files a security plan names, once, at startup. The certificates and the key must
 * parse (the key unencrypted, and the client certificate's); the credentials file must be its
 * owner's alone (as ssh wants of a private key) and hold JSON
 * `{"username": "…", "password": "…"}`. Any failure is a usage error naming the flag; no
 * message quotes a file's content.
 */
export const readKafkaSecurity = Effect.fn("causeway.serve.readKafkaSecurity")(function*(plan: KafkaSecurityPlan) {
  const fs = yield* FileSystem.FileSystem
  const read = (flag: string, path: string) =>
    fs.readFileString(path).pipe(Effect.mapError((e) => new UsageError({ message: `${flag} ${path}: cannot read it (${e.message})` })))
  const certificate = Effect.fnUntraced(function*(flag: string, path: string) {
    const pem = yield* read(flag, path)
    const parsed = yield* Effect.try({
      try: () => new X509Certificate(pem),
      catch: () => new UsageError({ message: `${flag} ${path} holds no PEM certificate` })
    })
    return { file: { path, pem }, parsed }
  })
  let tls: KafkaTlsConfig | undefined
  if (plan.tls !== undefined) {
    const ca = plan.tls.ca === undefined ? undefined : yield* certificate("--kafka-ssl-ca", plan.tls.ca)
    let client: Pick<KafkaTlsConfig, "cert" | "key"> = {}
    if (plan.tls.cert !== undefined && plan.tls.key !== undefined) {
      const cert = yield* certificate("--kafka-ssl-cert", plan.tls.cert)
      const keyPath = plan.tls.key
      const keyPem = yield* read("--kafka-ssl-key", keyPath)
      const key = yield* Effect.try({
        try: () => createPrivateKey(keyPem),
        catch: () => new UsageError({ message: `--kafka-ssl-key ${keyPath} holds no unencrypted PEM private key` })
      })
      if (!cert.parsed.checkPrivateKey(key)) {
        return yield* new UsageError({ message: `--kafka-ssl-key ${keyPath} is not the private key of --kafka-ssl-cert ${plan.tls.cert}` })
      }
      client = { cert: cert.file, key: { path: keyPath, pem: Redacted.make(keyPem) } }
    }
    tls = { ...(ca === undefined ? {} : { ca: ca.file }), ...client }
  }
  let sasl: KafkaSaslConfig | undefined
  if (plan.sasl !== undefined) {
    const { mechanism, credentials } = plan.sasl
    if (credentials._tag === "Environment") {
      sasl = { mechanism, username: credentials.username, password: credentials.password, source: "environment" }
    } else {
      const { path } = credentials
      const info = yield* fs.stat(path).pipe(
        Effect.mapError((e) => new UsageError({ message: `--kafka-sasl-credentials-file ${path}: cannot read it (${e.message})` }))
      )
      if ((info.mode & 0o077) !== 0) {
        const mode = (info.mode & 0o777).toString(8).padStart(4, "0")
        return yield* new UsageError({ message: `--kafka-sasl-credentials-file ${path} may be read by group or others (mode ${mode}); it must be its owner's alone: chmod 600 ${path}` })
      }
      const parsed = parseCredentials(yield* read("--kafka-sasl-credentials-file", path))
      if (parsed === undefined) {
        return yield* new UsageError({ message: `--kafka-sasl-credentials-file ${path} is not JSON {"username": "…", "password": "…"} with non-empty strings` })
      }
      sasl = { mechanism, username: parsed.username, password: Redacted.make(parsed.password), source: path }
    }
  }
  return { ...(tls === undefined ? {} : { tls }), ...(sasl === undefined ? {} : { sasl }) }
})

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
  "kafka-ssl-ca": "KAFKA_SSL_CA",
  "kafka-ssl-cert": "KAFKA_SSL_CERT",
  "kafka-ssl-key": "KAFKA_SSL_KEY",
  "kafka-sasl-mechanism": "KAFKA_SASL_MECHANISM",
  "kafka-sasl-credentials-file": "KAFKA_SASL_CREDENTIALS_FILE",
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
  "cluster-admin": "CLUSTER_ADMIN",
  "cluster-session-timeout-ms": "CLUSTER_SESSION_TIMEOUT_MS",
  "otlp-url": "OTEL_EXPORTER_OTLP_ENDPOINT",
  "api-tokens": "API_TOKENS_FILE",
  "private-reads": "PRIVATE_READS",
  "proof-deadline-ms": "PROOF_DEADLINE_MS",
  "address-rate": "ADDRESS_RATE",
  "address-burst": "ADDRESS_BURST",
  "ingest-queue": "INGEST_QUEUE",
  "max-streams": "MAX_STREAMS",
  "max-streams-per-address": "MAX_STREAMS_PER_ADDRESS",
  "retention-ms": "RETENTION_MS",
  "max-effects": "MAX_EFFECTS",
  "order-lifetime-ms": "ORDER_LIFETIME_MS",
  "max-open-orders": "MAX_OPEN_ORDERS"
} as const satisfies Record<string, string>

/** A serve flag's name. */
type ServeFlag = keyof typeof serveEnv

/** An optional string flag that falls back to its environment variable. */
export const optionalString = (name: ServeFlag, description: string) =>
  Flag.String(name).pipe(Flag.withDescription(description), Flag.withFallbackConfig(Config.String(serveEnv[name])), Flag.optional)

/** An optional integer flag that falls back to its environment variable. */
const optionalInt = (name: ServeFlag, description: string) =>
  Flag.Int(name).pipe(Flag.withDescription(description), Flag.withFallbackConfig(Config.Int(serveEnv[name])), Flag.optional)

/** The brokers and topics of a Kafka log, for serve and replay. */
export const kafkaBrokerFlags = {
  brokers: optionalString("brokers", "Kafka bootstrap brokers, host:port comma-separated, for --log kafka (env KAFKA_BROKERS)"),
  topicPrefix: optionalString("topic-prefix", `Prefix of the Kafka topic names, for --log kafka (env KAFKA_TOPIC_PREFIX, default ${defaultTopicPrefix})`)
}

/** TLS and SASL to the brokers, for serve and replay (the SASL credentials' variables are read by `kafkaSecurityOf`). */
export const kafkaSecurityFlags = {
  kafkaSslCa: optionalString(
    "kafka-ssl-ca",
    "TLS to the brokers, verified against the CA certificates in this PEM file (else Node's root CAs), for --log kafka (env KAFKA_SSL_CA)"
  ),
  kafkaSslCert: optionalString("kafka-ssl-cert", "TLS client certificate (PEM file) for brokers that authenticate clients by certificate; needs --kafka-ssl-key (env KAFKA_SSL_CERT)"),
  kafkaSslKey: optionalString("kafka-ssl-key", "The TLS client certificate's private key, an unencrypted PEM file; needs --kafka-ssl-cert (env KAFKA_SSL_KEY)"),
  kafkaSaslMechanism: optionalString(
    "kafka-sasl-mechanism",
    `SASL to the brokers: ${kafkaSaslMechanisms.join(", ")}, with the credentials in ${kafkaSaslEnv.username} and ${kafkaSaslEnv.password} or --kafka-sasl-credentials-file (env KAFKA_SASL_MECHANISM)`
  ),
  kafkaSaslCredentialsFile: optionalString(
    "kafka-sasl-credentials-file",
    "The SASL credentials: a file holding JSON {\"username\": ..., \"password\": ...}, readable by its owner only (env KAFKA_SASL_CREDENTIALS_FILE)"
  )
}

/** The security settings the flags and the SASL credentials' variables give. */
export const kafkaSecurityOf = (flags: {
  readonly kafkaSslCa: Option.Option<string>
  readonly kafkaSslCert: Option.Option<string>
  readonly kafkaSslKey: Option.Option<string>
  readonly kafkaSaslMechanism: Option.Option<string>
  readonly kafkaSaslCredentialsFile: Option.Option<string>
}): Effect.Effect<KafkaSecurityFlags> =>
  Effect.gen(function*() {
    return {
      sslCa: flags.kafkaSslCa,
      sslCert: flags.kafkaSslCert,
      sslKey: flags.kafkaSslKey,
      saslMechanism: flags.kafkaSaslMechanism,
      saslCredentialsFile: flags.kafkaSaslCredentialsFile,
      saslUsername: yield* Config.option(Config.String(kafkaSaslEnv.username)).pipe(Effect.orDie),
      saslPassword: yield* Config.option(Config.Redacted(kafkaSaslEnv.password)).pipe(Effect.orDie)
    }
  })

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
    ...kafkaBrokerFlags,
    kafkaIndex: optionalString(
      "kafka-index",
      "Where the Kafka log's local index (materialized log and merge position) is kept, for --log kafka: a file, so a restart reads only the topics' tail, or memory, rebuilt from the topics at every start (env KAFKA_INDEX, default <data dir>/kafka-index.sqlite)"
    ),
    kafkaDisconnectGraceMs: optionalInt(
      "kafka-disconnect-grace-ms",
      "How long produce and fetch may fail without a break before /readyz answers 503, ms, for --log kafka (env KAFKA_DISCONNECT_GRACE_MS, default 5000)"
    ),
    ...kafkaSecurityFlags,
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
    ),
    clusterSessionTimeoutMs: optionalInt(
      "cluster-session-timeout-ms",
      "With --cluster-admin: the leader election's group session timeout, ms; a dead leader's lease moves after about this long (env CLUSTER_SESSION_TIMEOUT_MS, default 6000, the brokers' usual group.min.session.timeout.ms)"
    ),
    otlpUrl: optionalString(
      "otlp-url",
      "Export traces and metrics over OTLP/HTTP (JSON) to this collector URL, e.g. http://127.0.0.1:4318 (env OTEL_EXPORTER_OTLP_ENDPOINT; default off)"
    ),
    apiTokens: optionalString(
      "api-tokens",
      "The API token file: named, scoped token hashes written by `causeway token create` (env API_TOKENS_FILE; default: one admin token in <data dir>/api-token, created at first start)"
    ),
    proofDeadlineMs: optionalInt(
      "proof-deadline-ms",
      "How long an announced proof may gather its shares, ms, before the leader publishes it incomplete (env PROOF_DEADLINE_MS, default 60000)"
    ),
    privateReads: Flag.Boolean("private-reads").pipe(
      Flag.withDescription("Every read but /healthz and /readyz needs a token too (env PRIVATE_READS=true; default: reads are public)"),
      Flag.withFallbackConfig(Config.Boolean(serveEnv["private-reads"])),
      Flag.withDefault(false)
    ),
    addressRate: optionalInt(
      "address-rate",
      `POST /v1/messages: messages per second the anonymous clients of one address (an IPv4 address, an IPv6 /64) share; a token with a budget has its own (env ADDRESS_RATE, default ${ClientBudgets.defaultOptions.address.ratePerSec})`
    ),
    addressBurst: optionalInt(
      "address-burst",
      `POST /v1/messages: messages at once the clients of one address may send (env ADDRESS_BURST, default ${ClientBudgets.defaultOptions.address.burst})`
    ),
    ingestQueue: optionalInt(
      "ingest-queue",
      `Most clients' messages queued for the ingest writer; beyond it POST /v1/messages answers 503 IngestBusy with Retry-After (env INGEST_QUEUE, default ${defaultServeConfig.ingest.maxQueued})`
    ),
    maxStreams: optionalInt(
      "max-streams",
      `Most open event streams on the server; beyond it a stream answers 503 StreamsFull (env MAX_STREAMS, default ${StreamSlots.defaultStreamSlotOptions.total})`
    ),
    maxStreamsPerAddress: optionalInt(
      "max-streams-per-address",
      `Most open event streams per client address (an IPv4 address, an IPv6 /64); beyond it 429 TooManyStreams (env MAX_STREAMS_PER_ADDRESS, default ${StreamSlots.defaultStreamSlotOptions.perAddress})`
    ),
    retentionMs: optionalInt(
      "retention-ms",
      `Retention: settled, expired, cancelled and refused orders and recorded outcomes leave memory this long after their batch's seal (in the instance's seal times) and are served from disk; every member of a cluster must use the same, and replay needs it too (env RETENTION_MS, default ${DEFAULT_RETENTION_MS})`
    ),
    maxEffects: optionalInt(
      "max-effects",
      `The effect tracker's bound: most EVM effects, and most IBC packets, kept in memory; past it the oldest leave for disk, still served by GET /v1/effects/{id}; every member of a cluster must use the same, and replay needs it too (env MAX_EFFECTS, default ${MAX_EFFECTS})`
    ),
    orderLifetimeMs: optionalInt(
      "order-lifetime-ms",
      `A disclosed order still open this long after its batch's seal is expired by the sealer; 0: never (env ORDER_LIFETIME_MS, default ${Sealer.defaultSealerOptions.maxOrderLifetimeMs})`
    ),
    maxOpenOrders: optionalInt(
      "max-open-orders",
      `Most open orders at once: the sealer expires the oldest sealed ones beyond it; 0: no bound (env MAX_OPEN_ORDERS, default ${Sealer.defaultSealerOptions.maxOpenOrders})`
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
    const security = yield* kafkaSecurityOf(flags)
    const log = logConfig({
      log: flags.log,
      brokers: flags.brokers,
      topicPrefix: flags.topicPrefix,
      index: flags.kafkaIndex,
      disconnectGraceMs: flags.kafkaDisconnectGraceMs,
      security
    })
    if (Result.isFailure(log)) return yield* new UsageError({ message: log.failure })
    if (Option.isSome(clusterAdmin) && log.success.kind !== "kafka") {
      return yield* new UsageError({ message: "--cluster-admin needs --log kafka: a cluster's members share one Kafka log (and elect their leader on it)" })
    }
    if (Option.isSome(flags.clusterSessionTimeoutMs)) {
      const ms = flags.clusterSessionTimeoutMs.value
      if (Option.isNone(clusterAdmin)) return yield* new UsageError({ message: "--cluster-session-timeout-ms needs --cluster-admin" })
      if (!Number.isInteger(ms) || ms < 1000 || ms > 300_000) {
        return yield* new UsageError({ message: `--cluster-session-timeout-ms ${ms} is not a whole number of milliseconds in 1000..300000` })
      }
    }
    for (
      const [flag, value] of [
        ["--address-rate", flags.addressRate],
        ["--address-burst", flags.addressBurst],
        ["--ingest-queue", flags.ingestQueue],
        ["--max-streams", flags.maxStreams],
        ["--max-streams-per-address", flags.maxStreamsPerAddress],
        ["--max-effects", flags.maxEffects]
      ] as const
    ) {
      if (Option.isSome(value) && (!Number.isInteger(value.value) || value.value < 1 || value.value > 1_000_000_000)) {
        return yield* new UsageError({ message: `${flag} ${value.value} is not a whole number in 1..1000000000` })
      }
    }
    for (
      const [flag, value, most] of [
        ["--retention-ms", flags.retentionMs, 30 * 86_400_000],
        ["--order-lifetime-ms", flags.orderLifetimeMs, 30 * 86_400_000],
        ["--max-open-orders", flags.maxOpenOrders, 100_000_000]
      ] as const
    ) {
      if (Option.isSome(value) && (!Number.isInteger(value.value) || value.value < 0 || value.value > most)) {
        return yield* new UsageError({ message: `${flag} ${value.value} is not a whole number in 0..${most}` })
      }
    }
    const address = {
      ratePerSec: Option.getOrElse(flags.addressRate, () => ClientBudgets.defaultOptions.address.ratePerSec),
      burst: Option.getOrElse(flags.addressBurst, () => ClientBudgets.defaultOptions.address.burst)
    }
    if (Option.isSome(flags.otlpUrl) && !isHttpUrl(flags.otlpUrl.value)) {
      return yield* new UsageError({ message: `--otlp-url ${JSON.stringify(flags.otlpUrl.value)} is not an http(s) URL` })
    }
    let logSettings = log.success
    if (logSettings.kind === "kafka") {
      const plan = kafkaSecurityPlan(security)
      if (Result.isFailure(plan)) return yield* new UsageError({ message: plan.failure })
      logSettings = { ...logSettings, ...(yield* readKafkaSecurity(plan.success)) }
    }
    const config: ServeConfig = {
      ...defaultServeConfig,
      log: logSettings,
      host: flags.host,
      port: flags.port,
      dataDir: flags.dataDir,
      logLevel: flags.logLevel,
      ingest: { ...defaultServeConfig.ingest, ...(Option.isSome(flags.ingestQueue) ? { maxQueued: flags.ingestQueue.value } : {}) },
      clientBudgets: { address },
      streams: {
        total: Option.getOrElse(flags.maxStreams, () => StreamSlots.defaultStreamSlotOptions.total),
        perAddress: Option.getOrElse(flags.maxStreamsPerAddress, () => StreamSlots.defaultStreamSlotOptions.perAddress)
      },
      ...(cosmos.success === undefined ? {} : { cosmos: cosmos.success }),
      ...(evm.success === undefined ? {} : { evm: evm.success }),
      sealer: {
        ...sealer.success,
        ...(Option.isSome(flags.orderLifetimeMs) ? { orderLifetimeMs: flags.orderLifetimeMs.value } : {}),
        ...(Option.isSome(flags.maxOpenOrders) ? { maxOpenOrders: flags.maxOpenOrders.value } : {})
      },
      ...(Option.isSome(flags.retentionMs) ? { retentionMs: flags.retentionMs.value } : {}),
      ...(Option.isSome(flags.maxEffects) ? { maxEffects: flags.maxEffects.value } : {}),
      ...(Option.isSome(clusterAdmin) ? { clusterAdmin: clusterAdmin.value } : {}),
      ...(Option.isSome(flags.clusterSessionTimeoutMs) ? { clusterSessionTimeoutMs: flags.clusterSessionTimeoutMs.value } : {}),
      ...(Option.isSome(flags.otlpUrl) ? { otlp: { url: flags.otlpUrl.value } } : {}),
      ...(Option.isSome(flags.apiTokens) ? { apiTokensFile: flags.apiTokens.value } : {}),
      privateReads: flags.privateReads,
      ...(Option.isSome(flags.proofDeadlineMs) ? { proofDeadlineMs: flags.proofDeadlineMs.value } : {})
    }
    // Built after the server is listening, so the line tells the bound port (also for --port 0);
    // its finalizer runs first on shutdown.
    const announce = Layer.effectDiscard(
      Effect.gen(function*() {
        const port = yield* HttpService.boundPort
        yield* Effect.logInfo("causeway serving").pipe(
          Effect.annotateLogs({
            url: `http://${config.host.includes(":") ? `[${config.host}]` : config.host}:${port}`,
            host: config.host,
            port,
            dataDir: resolve(config.dataDir),
            pid: process.pid
          })
        )
        yield* Effect.addFinalizer(() => Effect.logInfo("causeway shutting down"))
      })
    )
    yield* runsUntilStopped
    // appLayer provides the logging (and tracing) the announcement uses too.
    return yield* Layer.launch(announce.pipe(Layer.provide(appLayer(config)))).pipe(
      Effect.mapError((e) => new CommandFailed({ message: `the server failed: ${describe(e)}` })),
      // Every fiber of the server shares one dispatcher that bounds a turn of the event loop.
      Effect.provideService(Scheduler.Scheduler, new TurnBudgetScheduler())
    )
  })
).pipe(Command.withDescription("Run the causeway server until SIGINT/SIGTERM."))
