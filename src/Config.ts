/** Service configuration: flags override environment variables, which override defaults. */
import { join } from "node:path"
import type { Redacted } from "effect"
import type * as ClientBudgets from "./services/ClientBudgets.ts"
import * as Ingest from "./services/Ingest.ts"

/** Everything `causeway serve` is configured by. */
export interface ServeConfig {
  readonly host: string
  readonly port: number
  readonly dataDir: string
  readonly logLevel: "Trace" | "Debug" | "Info" | "Warn" | "Error"
  /** fsync policy of the embedded log. */
  readonly synchronous: "FULL" | "NORMAL"
  readonly ingest: Ingest.IngestOptions
  /** Clients' admission budgets for POST /v1/messages (src/services/ClientBudgets.ts); absent parts: its defaults. */
  readonly clientBudgets?: Partial<ClientBudgets.ClientBudgetOptions>
  /** Bounds on open event streams, in all and per client address (src/adapters/http/StreamSlots.ts). */
  readonly streams?: { readonly total: number; readonly perAddress: number }
  /** Where the causal log lives; absent: the embedded SQLite store in the data directory. */
  readonly log?: LogConfig
  /** A CometBFT chain to observe through the light client; absent: off. */
  readonly cosmos?: CosmosChainConfig
  /** Further CometBFT chains to observe (IBC counterparties); no flags yet, set by embedders and tests. */
  readonly cosmosChains?: ReadonlyArray<CosmosChainConfig>
  /** An EVM chain to observe through viem; absent: off. */
  readonly evm?: EvmChainConfig
  /** Further EVM chains to observe (the other side of a bridge); no flags yet, set by embedders and tests. */
  readonly evmChains?: ReadonlyArray<EvmChainConfig>
  /** The mempool's sealer (batches, expiries, decryptions); absent: no sealer (`appLayer` adds it when set). */
  readonly sealer?: SealerConfig
  /**
   * Retention (ms of the instance's seal times): settled, expired, cancelled and refused orders
   * and recorded outcomes leave memory this long after their batch's seal and are served from
   * disk; absent: the mempool's default (30 s). Every instance of a deployment must use one.
   */
  readonly retentionMs?: number
  /**
   * The effect tracker's bound: most EVM effects, and most IBC packets, kept in memory; past it
   * the oldest leave for the archive on disk. Absent: 50,000. Every instance of a deployment must use one.
   */
  readonly maxEffects?: number
  /** The cluster admin's ed25519 public key (hex); absent: a deployment of this one instance. */
  readonly clusterAdmin?: string
  /** The leader election's group session timeout (ms; default 6,000): a dead leader's lease moves after about this long. */
  readonly clusterSessionTimeoutMs?: number
  /** Traces and metrics exported over OTLP/HTTP to this collector; absent: nothing is exported. */
  readonly otlp?: OtlpConfig
  /** The API token file (named, scoped token hashes); absent: the data directory's admin token (docs/security.md). */
  readonly apiTokensFile?: string
  /** Every read but the probes needs a token too. */
  readonly privateReads?: boolean
  /** How long (ms) an announced proof may gather its shares before the leader declares it incomplete; absent: 60,000. */
  readonly proofDeadlineMs?: number
  /**
   * Most watches one API token owns: chain watches on all chains together (absent: 64) and
   * active effect watches (absent: 256); no flags yet, set by embedders and tests (docs/security.md).
   */
  readonly watchesPerToken?: { readonly chain?: number; readonly effect?: number }
}

/** Where traces and metrics are exported (src/adapters/observability/OtlpHttpExport.ts). */
export interface OtlpConfig {
  /** The collector's OTLP/HTTP base URL (http or https); `/v1/traces` and `/v1/metrics` are appended. */
  readonly url: string
}

/** The service's name and version, as `causeway --version` and exported telemetry report them. */
export const serviceName = "causeway"
export const serviceVersion = "0.1.0"

/** The sealer's settings (src/services/Sealer.ts): its batch window and the beacon time-locked orders are locked to. */
export interface SealerConfig {
  /** A batch is sealed this long after the previous seal, if it holds anything (ms). */
  readonly batchWindowMs: number
  readonly beacon: BeaconConfig
  /** A disclosed order still open this long after its seal is expired (ms; 0: never); absent: the sealer's default. */
  readonly orderLifetimeMs?: number
  /** Most open orders at once, the oldest sealed ones beyond it expired (0: no bound); absent: the sealer's default. */
  readonly maxOpenOrders?: number
}

/** The local beacon (its key in the data directory, `beacon.key`) or a drand network over HTTP. */
export type BeaconConfig =
  | { readonly kind: "local"; readonly keyPath?: string }
  | { readonly kind: "drand"; readonly url: string; readonly chainHash: string }

/** An EVM chain observed through viem (src/adapters/evm): heads, finality, reorgs and EIP-1186 proofs. */
export interface EvmChainConfig {
  /** The chain's name in causeway (messages, /v1/chains). */
  readonly chainId: string
  /** JSON-RPC URLs; with several, they must agree on every header (quorum). */
  readonly rpcUrls: ReadonlyArray<string>
  /** Finality by this many confirmations; absent: the node's `safe` / `finalized` tags. */
  readonly confirmations?: number
  /** Between polls of the head, ms (default 2,000). */
  readonly pollIntervalMs?: number
}

/** A CometBFT (Cosmos) chain observed through cosmjs and the light client (src/adapters/cosmos). */
export interface CosmosChainConfig {
  /** The primary full node's RPC URL. */
  readonly rpc: string
  /** The CometBFT chain ID (also the chain's name in causeway). */
  readonly chainId: string
  /** The root of trust, obtained out of band: a height and its header hash (hex). */
  readonly trustedHeight: number
  readonly trustedHash: string
  /** Witness full nodes' RPC URLs, cross-checked for conflicting headers. */
  readonly witnesses: ReadonlyArray<string>
  /** Between polls of the node's height, ms (default 1,000). */
  readonly pollIntervalMs?: number
}

/** The causal log: the embedded store (default) or Kafka (docs/adr/0001-kafka-total-order.md). */
export type LogConfig =
  | { readonly kind: "embedded" }
  | {
    readonly kind: "kafka"
    readonly brokers: ReadonlyArray<string>
    /** Prefix of the topic names (default "causeway."). */
    readonly topicPrefix: string
    /** How long produce and fetch may fail without a break before /readyz says 503 (default 5 s). */
    readonly disconnectGraceMs?: number
    /**
     * The local index of the Kafka log (materialized log and merge position): a file, or
     * ":memory:" (rebuilt from the topics at every start); absent: `kafkaIndexPath(dataDir)`.
     */
    readonly index?: string
    /** TLS to the brokers; absent: plaintext. */
    readonly tls?: KafkaTlsConfig
    /** SASL authentication to the brokers; absent: none. */
    readonly sasl?: KafkaSaslConfig
  }

/** A PEM file read at startup: its path (what logs show) and its text. */
export interface PemFile<T = string> {
  readonly path: string
  readonly pem: T
}

/**
 * TLS to the brokers, from PEM files read at startup. The brokers' certificate is always
 * verified: against `ca`, else Node's root certificates. `cert` and `key` (both or neither)
 * are this client's, for brokers that authenticate clients by certificate.
 */
export interface KafkaTlsConfig {
  readonly ca?: PemFile
  readonly cert?: PemFile
  readonly key?: PemFile<Redacted.Redacted<string>>
}

/** The SASL mechanisms causeway offers the brokers. */
export const kafkaSaslMechanisms = ["plain", "scram-sha-256", "scram-sha-512"] as const

/** A SASL mechanism, as kafkajs names it. */
export type KafkaSaslMechanism = (typeof kafkaSaslMechanisms)[number]

/** SASL credentials for the brokers (never from the command line, never logged). */
export interface KafkaSaslConfig {
  readonly mechanism: KafkaSaslMechanism
  readonly username: string
  readonly password: Redacted.Redacted<string>
  /** Where they came from, for the log: "environment" or the credentials file's path. */
  readonly source: string
}

/** Defaults: 127.0.0.1:8080, data in ./data. */
export const defaultServeConfig: ServeConfig = {
  host: "127.0.0.1",
  port: 8080,
  dataDir: "data",
  logLevel: "Info",
  synchronous: "FULL",
  ingest: Ingest.defaultOptions,
  sealer: { batchWindowMs: 12_000, beacon: { kind: "local" } }
}

/** The embedded log's file in a data directory. */
export const logPath = (dataDir: string): string => join(dataDir, "log.sqlite")

/** The Kafka log's local index (materialized log and merge position) in a data directory. */
export const kafkaIndexPath = (dataDir: string): string => join(dataDir, "kafka-index.sqlite")

/** The projection snapshots' file in a data directory. */
export const snapshotPath = (dataDir: string): string => join(dataDir, "projections.sqlite")

/** The instance's signing key in a data directory (created on first start). */
export const instanceKeyPath = (dataDir: string): string => join(dataDir, "instance.key")

/** The local beacon's key in a data directory (created on first start). */
export const beaconKeyPath = (dataDir: string): string => join(dataDir, "beacon.key")
