/**
 * `causeway replay [--data-dir DIR] [--json] [--verify] [--verify-records] [--log embedded|kafka ...]`:
 * fold a log into every projection the server runs, from offset 0, and print the digests.
 * Because `evolve` is pure, the digests equal the live ones of a server at the same offset;
 * `--verify` checks exactly that against the snapshots the server persisted in DIR
 * (projections.sqlite): for each projection with a snapshot, the fold from 0 to the
 * snapshot's offset must reach the snapshot's record and digest. `--verify-records` first
 * checks every record from its bytes (body, encoding, id, headers, signature:
 * src/services/RecordAudit.ts), so a log file altered outside causeway is found. Exit 1 if
 * one differs or fails (or the data directory or its log is missing), 2 for flags that do not
 * add up, else 0.
 *
 * The log replayed (said on stderr when it is not the embedded one):
 * - the embedded log, DIR/log.sqlite (`--log embedded`, or the only log DIR holds);
 * - a server on Kafka's local index, DIR/kafka-index.sqlite or `--kafka-index FILE`
 *   (`--log kafka` without brokers, or the only log DIR holds): the merged log as of the
 *   server's last merge, each record checked by the server before it got its offset;
 * - the Kafka topics themselves (`--brokers`, with serve's topic and TLS/SASL flags): read
 *   from the beginning by a consumer of its own (a fresh group, no offsets committed, nothing
 *   produced, no topic created), merged by the server's merge and every event checked as the
 *   server checks it, into memory, up to the end the topics had when it connected.
 * A local file is read beside a running server if there is one (SQLite WAL: readers do not
 * block the writer); the fold covers the records present when it starts.
 *
 * The projections heed the deployment's authority: the instance key in DIR/instance.key, and
 * in a cluster its admin (--cluster-admin, else as DIR's snapshots record it); the mempool
 * drops what the server's retention dropped (--retention-ms and --max-effects, else as its snapshots record them).
 */
import { existsSync } from "node:fs"
import { Config, Console, Effect, Layer, Logger, Option, References, Result } from "effect"
import { Command, Flag } from "effect/cli"
import * as InstanceKeyFile from "../adapters/files/InstanceKeyFile.ts"
import * as KafkaCausalLog from "../adapters/kafka/KafkaCausalLog.ts"
import * as NodeCryptoSignatureVerifier from "../adapters/signatures/NodeCryptoSignatureVerifier.ts"
import * as SqliteProjectionStore from "../adapters/storage/SqliteProjectionStore.ts"
import { type LogConfig, instanceKeyPath, kafkaIndexPath, snapshotPath } from "../Config.ts"
import { kafkaLogOptions, type ProjectionContext, projections as projectionsFor } from "../main.ts"
import { MEMPOOL } from "../projections/Mempool/Mempool.ts"
import { CLUSTER } from "../projections/Cluster/Cluster.ts"
import { EFFECTS } from "../projections/Effects/Effects.ts"
import type { AnyProjection } from "../projections/Projection.ts"
import { replay } from "../projections/ProjectionRunner.ts"
import type { CausalLogError, CausalLogService } from "../ports/CausalLog.ts"
import type { Snapshot } from "../ports/ProjectionStore.ts"
import { auditRecords } from "../services/RecordAudit.ts"
import { CommandFailed, UsageError, describe } from "./CliErrors.ts"
import { type LocalLog, findLocalLog, openLocalLog, requireDir, requireIndex, requireLog } from "./DataDir.ts"
import { dataDirFlag } from "./Flags.ts"
import { formatRate, progressOn } from "./ProgressBar.ts"
import {
  kafkaBrokerFlags,
  kafkaSecurityFlags,
  kafkaSecurityOf,
  kafkaSecurityPlan,
  logConfig,
  optionalString,
  readKafkaSecurity,
  securitySettingsSet,
  serveEnv
} from "./ServeCommand.ts"

const logFailed = (e: CausalLogError) => new CommandFailed({ message: `reading the log failed: ${e.operation}: ${describe(e.cause)}` })

/** One projection's snapshot against the replay. */
export interface Verification {
  readonly name: string
  readonly status: "equal" | "differs" | "skipped"
  readonly offset?: number
  readonly snapshot?: string
  readonly replayed?: string
  readonly reason?: string
}

/** The stored snapshot of each projection, if the data directory has a snapshot store. */
const loadSnapshots = (dataDir: string, names: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    const path = snapshotPath(dataDir)
    if (!existsSync(path)) return names.map(() => Option.none<Snapshot>())
    const store = yield* SqliteProjectionStore.makeReadOnly(path)
    return yield* Effect.forEach(names, (name) => store.load(name))
  }).pipe(Effect.mapError((e) => new CommandFailed({ message: `reading snapshots failed: ${e.operation}: ${String(e.cause)}` })))

/**
 * Compare each projection's snapshot with a fold of the log up to the snapshot's offset: the
 * log's record there must be the snapshot's last one, and the digests equal. One pass over the
 * log: the fold stops at each snapshot offset in turn and goes on from there.
 */
export const verify = (log: CausalLogService, ps: ReadonlyArray<AnyProjection>, snapshots: ReadonlyArray<Option.Option<Snapshot>>) =>
  Effect.gen(function*() {
    const end = yield* log.endOffset
    const out: Array<Verification> = []
    // Projections whose snapshot can be checked, by the offset to fold to.
    const pending = new Map<number, Array<{ readonly index: number; readonly snapshot: Snapshot }>>()
    ps.forEach((p, index) => {
      const s = snapshots[index] ?? Option.none()
      if (Option.isNone(s)) {
        out[index] = { name: p.name, status: "skipped", reason: "no snapshot" }
        return
      }
      const { offset, digest, version } = s.value
      if (version !== p.version) {
        out[index] = { name: p.name, status: "skipped", offset, snapshot: digest, reason: `snapshot is of version ${version}, the projection is version ${p.version} (the server rebuilds it)` }
      } else if (offset > end) {
        out[index] = { name: p.name, status: "differs", offset, snapshot: digest, reason: `snapshot covers offset ${offset} but the log ends at ${end}` }
      } else {
        pending.set(offset, [...(pending.get(offset) ?? []), { index, snapshot: s.value }])
      }
    })
    let states: ReadonlyArray<unknown> = ps.map((p) => p.initialState)
    let cursor = 0
    for (const target of [...pending.keys()].sort((a, b) => a - b)) {
      const result = yield* replay(log, ps, { from: cursor, to: target, states })
      states = result.states
      cursor = result.offset
      // The record the snapshot ends with must be this log's: else it was made from another log.
      const last = target === 0 ? null : ((yield* log.read(target - 1, target))[0]?.id ?? null)
      for (const { index, snapshot } of pending.get(target) ?? []) {
        const name = (ps[index] as AnyProjection).name
        const replayed = result.digests[name] as string
        const base = { name, offset: target, snapshot: snapshot.digest, replayed }
        out[index] = result.offset < target
          ? { ...base, status: "differs", reason: `the log ended at ${result.offset}` }
          : snapshot.lastId !== last
          ? { ...base, status: "differs", reason: `the snapshot was made from another log: it ends with record ${snapshot.lastId}, this log's record at offset ${target - 1} is ${last}` }
          : replayed === snapshot.digest
          ? { ...base, status: "equal" }
          : { ...base, status: "differs", reason: "digests differ" }
      }
    }
    return out
  })

const short = (digest: string | undefined): string => (digest === undefined ? "-" : digest.slice(0, 16))

const describeVerification = (v: Verification): string =>
  v.status === "skipped"
    ? `${v.name}: skipped (${v.reason})`
    : `${v.name} @ offset ${v.offset}: snapshot ${short(v.snapshot)} replay ${short(v.replayed)} ${v.status === "equal" ? "EQUAL" : `DIFFERS (${v.reason})`}`

/** A Kafka log's configuration. */
type KafkaLogConfig = Extract<LogConfig, { readonly kind: "kafka" }>

/** Where a replay reads the log: a local file, or the Kafka topics. */
export type ReplaySource =
  | { readonly _tag: "Local"; readonly local: LocalLog }
  | { readonly _tag: "Topics"; readonly log: KafkaLogConfig }

const choose = "say which to replay with --log embedded or --log kafka"

/** The log-selecting flags of replay. */
interface SourceFlags {
  readonly log: Option.Option<string>
  readonly brokers: Option.Option<string>
  readonly topicPrefix: Option.Option<string>
  readonly kafkaIndex: Option.Option<string>
  readonly kafkaSslCa: Option.Option<string>
  readonly kafkaSslCert: Option.Option<string>
  readonly kafkaSslKey: Option.Option<string>
  readonly kafkaSaslMechanism: Option.Option<string>
  readonly kafkaSaslCredentialsFile: Option.Option<string>
}

const needs = (names: ReadonlyArray<string>, what: string) => `${names.join(", ")} ${names.length === 1 ? "needs" : "need"} ${what}`

/** The log the flags and the data directory `dir` (existing) select, or why they do not add up. */
export const sourceOf = Effect.fn("causeway.replay.source")(function*(flags: SourceFlags, dir: string) {
  const kind = Option.map(flags.log, (l) => l.trim().toLowerCase())
  if (Option.isSome(kind) && kind.value !== "embedded" && kind.value !== "kafka") {
    return yield* new UsageError({ message: `--log ${JSON.stringify(Option.getOrElse(flags.log, () => ""))} is not embedded or kafka` })
  }
  const security = yield* kafkaSecurityOf(flags)
  const securitySet = securitySettingsSet(security)
  if (Option.isSome(kind) && kind.value === "embedded") {
    // As serve: the brokers alone may come from the environment; the Kafka-only settings may not.
    const stray = [...(Option.isSome(flags.topicPrefix) ? ["--topic-prefix"] : []), ...(Option.isSome(flags.kafkaIndex) ? ["--kafka-index"] : []), ...securitySet]
    if (stray.length > 0) return yield* new UsageError({ message: needs(stray, "--log kafka") })
    return { _tag: "Local", local: { kind: "embedded", path: yield* requireLog(dir) } } satisfies ReplaySource
  }
  if (Option.isSome(flags.brokers)) {
    if (Option.isSome(flags.kafkaIndex)) {
      return yield* new UsageError({ message: "--kafka-index names a local index to replay and --brokers the topics to read: give one or the other" })
    }
    const log = logConfig({ log: Option.some("kafka"), brokers: flags.brokers, topicPrefix: flags.topicPrefix, index: Option.none(), disconnectGraceMs: Option.none() })
    if (Result.isFailure(log)) return yield* new UsageError({ message: log.failure })
    if (log.success.kind !== "kafka") return yield* Effect.die("logConfig chose the embedded log for --log kafka")
    const plan = kafkaSecurityPlan(security)
    if (Result.isFailure(plan)) return yield* new UsageError({ message: plan.failure })
    return { _tag: "Topics", log: { ...log.success, ...(yield* readKafkaSecurity(plan.success)) } } satisfies ReplaySource
  }
  if (securitySet.length > 0) return yield* new UsageError({ message: needs(securitySet, "--brokers: they reach the brokers, and only reading the topics does") })
  if ((Option.isSome(kind) && kind.value === "kafka") || Option.isSome(flags.kafkaIndex)) {
    const given = Option.map(flags.kafkaIndex, (i) => i.trim())
    if (Option.isSome(given) && given.value === "") return yield* new UsageError({ message: "--kafka-index needs a file path" })
    if (Option.isSome(given) && (given.value === "memory" || given.value === ":memory:")) {
      return yield* new UsageError({ message: "--kafka-index memory: such an index lives in its server's memory only; read the topics themselves with --brokers host:port" })
    }
    const path = yield* requireIndex(Option.getOrElse(given, () => kafkaIndexPath(dir)))
    return { _tag: "Local", local: { kind: "kafka-index", path } } satisfies ReplaySource
  }
  const local = yield* findLocalLog(dir, choose)
  if (local.kind === "embedded" && Option.isSome(flags.topicPrefix)) return yield* new UsageError({ message: needs(["--topic-prefix"], "--log kafka") })
  return { _tag: "Local", local } satisfies ReplaySource
})

/** Connect attempts after which reading the topics gives up. */
const CONNECT_ATTEMPTS = 4

/** Wait until the Kafka log has merged the topics as of connecting; fail once connecting has failed CONNECT_ATTEMPTS times. */
const caughtUp = (handle: KafkaCausalLog.KafkaLogHandle) => {
  const progress = progressOn(process.stderr)
  const watch = Effect.gen(function*() {
    while (true) {
      const s = yield* handle.status
      if (s._tag === "Connecting" && s.attempt >= CONNECT_ATTEMPTS) {
        return yield* new CommandFailed({ message: `cannot read the Kafka log: ${KafkaCausalLog.describeStatus(s)}` })
      }
      if (s._tag === "CatchingUp") progress.update(s.decided, s.target)
      yield* Effect.sleep("100 millis")
    }
  })
  return Effect.raceFirst(handle.ready, watch).pipe(Effect.ensuring(Effect.sync(progress.done)))
}

/** The log of `source`, open for the scope, with what to report once folded. */
const openSource = Effect.fn("causeway.replay.open")(function*(source: ReplaySource, dir: string, topicPrefix: Option.Option<string>) {
  if (source._tag === "Local") {
    const { local } = source
    if (local.kind === "kafka-index") {
      const state = yield* KafkaCausalLog.readIndexState(local.path).pipe(Effect.mapError(logFailed))
      if (state !== undefined && Option.isSome(topicPrefix) && state.topics.events !== `${topicPrefix.value}events`) {
        return yield* new CommandFailed({ message: `${local.path} mirrors the topics ${state.topics.events} and ${state.topics.sequence}, not those of --topic-prefix ${topicPrefix.value}` })
      }
      const mirrors = state === undefined ? "that does not say which topics it mirrors (new, or being rebuilt)" : `of ${state.topics.events} + ${state.topics.sequence}`
      yield* Console.error(`causeway: replaying ${local.path}, a Kafka log's local index ${mirrors}: the records its server merged (--brokers reads the topics themselves)`)
    }
    return { log: yield* openLocalLog(local), refused: Effect.succeed<Readonly<Record<string, number>>>({}) }
  }
  const options: KafkaCausalLog.KafkaLogOptions = {
    ...kafkaLogOptions(source.log, dir),
    indexPath: ":memory:",
    readOnly: true,
    clientId: "causeway-replay",
    retryInitialMs: 250,
    retryMaxMs: 2000
  }
  const handle = yield* KafkaCausalLog.start(options).pipe(Effect.mapError(logFailed))
  yield* Console.error(`causeway: reading the Kafka log ${handle.topics.events} + ${handle.topics.sequence} on ${source.log.brokers.join(",")} from the beginning`)
  yield* caughtUp(handle)
  return { log: handle.service, refused: handle.refused }
})

/** The deployment's cluster admin: the flag's, else the one DIR's snapshots were folded under; they must agree. */
const clusterAdminOf = (given: Option.Option<string>, clusterSnapshot: Option.Option<Snapshot>) =>
  Effect.gen(function*() {
    const flag = Option.map(given, (k) => k.trim().toLowerCase())
    if (Option.isSome(flag) && !/^[0-9a-f]{64}$/.test(flag.value)) {
      return yield* new UsageError({ message: "--cluster-admin needs the admin's ed25519 public key, 32 bytes in hex" })
    }
    const recorded = Option.flatMap(clusterSnapshot, (s) => {
      const authority = (JSON.parse(s.state) as { authority?: { admin?: unknown } }).authority
      return typeof authority?.admin === "string" ? Option.some(authority.admin) : authority?.admin === null ? Option.some(null) : Option.none()
    })
    if (Option.isNone(flag)) return Option.getOrUndefined(recorded) ?? undefined
    if (Option.isSome(recorded) && recorded.value !== flag.value) {
      const folded = recorded.value === null ? "as a deployment of one" : `under the cluster admin ${recorded.value}`
      return yield* new CommandFailed({ message: `the snapshots in the data directory were folded ${folded}, not under --cluster-admin ${flag.value}` })
    }
    return flag.value
  })

/**
 * A number the server folded a projection under: the flag's (`invalid` says why it cannot be
 * one, or undefined), else the one a snapshot records under `field`, else undefined (serve's default).
 */
const foldedWith = (given: Option.Option<number>, invalid: (n: number) => string | undefined, snapshot: Option.Option<Snapshot>, field: string) =>
  Effect.gen(function*() {
    if (Option.isSome(given)) {
      const why = invalid(given.value)
      return why === undefined ? given.value : yield* new UsageError({ message: why })
    }
    const recorded = Option.flatMap(snapshot, (s) => {
      const value = (JSON.parse(s.state) as Record<string, unknown>)[field]
      return typeof value === "number" ? Option.some(value) : Option.none()
    })
    return Option.getOrUndefined(recorded)
  })

/** The mempool's retention: the flag's, else the one DIR's mempool snapshot was folded with, else the default. */
const retentionOf = (given: Option.Option<number>, mempoolSnapshot: Option.Option<Snapshot>) =>
  foldedWith(given, (n) => (Number.isInteger(n) && n >= 0 ? undefined : `--retention-ms ${n} is not a whole number of milliseconds`), mempoolSnapshot, "retention")

/** The effect tracker's bound: the flag's, else the one DIR's effects snapshot was folded with, else the default. */
const maxEffectsOf = (given: Option.Option<number>, effectsSnapshot: Option.Option<Snapshot>) =>
  foldedWith(given, (n) => (Number.isInteger(n) && n >= 1 ? undefined : `--max-effects ${n} is not a whole number above 0`), effectsSnapshot, "maxEffects")

/** Warnings and errors (a Kafka log's connection trouble) as `causeway: …` lines on stderr; nothing below them. */
const stderrLogging = Layer.mergeAll(
  Logger.layer([
    Logger.make<unknown, void>(({ message }) => {
      process.stderr.write(`causeway: ${(Array.isArray(message) ? message : [message]).map(String).join(" ")}\n`)
    })
  ]),
  Layer.succeed(References.MinimumLogLevel, "Warn")
)

/** The replay command. */
export const replayCommand = Command.make(
  "replay",
  {
    dataDir: dataDirFlag,
    json: Flag.Boolean("json").pipe(Flag.withDescription("Print one JSON line: {\"offset\":N,\"digests\":{...}}"), Flag.withDefault(false)),
    verify: Flag.Boolean("verify").pipe(
      Flag.withDescription("Check each stored snapshot's digest against a replay to its offset; exit 1 if one differs"),
      Flag.withDefault(false)
    ),
    verifyRecords: Flag.Boolean("verify-records").pipe(
      Flag.withDescription(
        "First check every record of the log from its bytes: the body is an admissible envelope in its canonical encoding, its id and header fields are the body's, its signature verifies; exit 1 if one fails"
      ),
      Flag.withDefault(false)
    ),
    log: optionalString(
      "log",
      "The log to replay: embedded (the data directory's log.sqlite) or kafka: with --brokers the topics themselves, else the local index a server on Kafka keeps (env CAUSEWAY_LOG; default: the one log the data directory holds, the topics when KAFKA_BROKERS is set)"
    ),
    ...kafkaBrokerFlags,
    kafkaIndex: optionalString("kafka-index", "The Kafka log's local index to replay, when the server kept it elsewhere (env KAFKA_INDEX, default <data dir>/kafka-index.sqlite)"),
    ...kafkaSecurityFlags,
    clusterAdmin: Flag.String("cluster-admin").pipe(
      Flag.withDescription("The cluster admin's public key (hex) of a cluster member's data directory (env CLUSTER_ADMIN; default: as its snapshots record it, else a deployment of one)"),
      Flag.withFallbackConfig(Config.String(serveEnv["cluster-admin"])),
      Flag.optional
    ),
    retentionMs: Flag.Int("retention-ms").pipe(
      Flag.withDescription("The mempool's retention the server ran with, ms (env RETENTION_MS; default: as its mempool snapshot records it, else serve's default)"),
      Flag.withFallbackConfig(Config.Int(serveEnv["retention-ms"])),
      Flag.optional
    ),
    maxEffects: Flag.Int("max-effects").pipe(
      Flag.withDescription("The effect tracker's bound the server ran with (env MAX_EFFECTS; default: as its effects snapshot records it, else serve's default)"),
      Flag.withFallbackConfig(Config.Int(serveEnv["max-effects"])),
      Flag.optional
    )
  },
  Effect.fn("causeway.replay")(function*(flags) {
    const dir = yield* requireDir(flags.dataDir)
    const source = yield* sourceOf(flags, dir)
    const keyPath = instanceKeyPath(dir)
    const instanceKey = yield* InstanceKeyFile.readPublicKey(keyPath).pipe(
      Effect.mapError((e) => new CommandFailed({ message: `reading the instance key failed: ${e.message}` }))
    )
    if (instanceKey === undefined) {
      return yield* new CommandFailed({
        message: `the instance key ${keyPath} is missing: the projections heed the decisions of the instance this data directory belongs to, so its replay needs that key (restore it from a backup)`
      })
    }
    const names = projectionsFor({ instanceKey }).map((p) => p.name)
    const snapshots = yield* loadSnapshots(dir, names)
    const clusterAdmin = yield* clusterAdminOf(flags.clusterAdmin, snapshots[names.indexOf(CLUSTER)] ?? Option.none())
    const retentionMs = yield* retentionOf(flags.retentionMs, snapshots[names.indexOf(MEMPOOL)] ?? Option.none())
    const maxEffects = yield* maxEffectsOf(flags.maxEffects, snapshots[names.indexOf(EFFECTS)] ?? Option.none())
    const context: ProjectionContext = { instanceKey, ...(clusterAdmin === undefined ? {} : { clusterAdmin }), retentionMs, maxEffects }
    const projections = projectionsFor(context)
    const { log, refused } = yield* openSource(source, dir, flags.topicPrefix)
    const reportRefused = Effect.gen(function*() {
      const counts = yield* refused
      const total = Object.values(counts).reduce((a, b) => a + b, 0)
      if (total > 0) {
        yield* Console.error(`causeway: ${total} events in the topics failed the record check and got no offset, as on every server (${JSON.stringify(counts)})`)
      }
    })
    if (flags.verifyRecords) {
      const progress = progressOn(process.stderr)
      const audit = yield* auditRecords(log, NodeCryptoSignatureVerifier.make(), { onProgress: progress.update }).pipe(
        Effect.ensuring(Effect.sync(progress.done)),
        Effect.mapError(logFailed)
      )
      if (flags.json) yield* Console.log(JSON.stringify({ records: audit }))
      else {
        yield* Console.log(`records: ${audit.checked} checked, ${audit.refusedCount} refused`)
        for (const r of audit.refused) yield* Console.log(`record ${r.offset} (${r.id}) refused (${r.kind}): ${r.reason}`)
        if (audit.refusedCount > audit.refused.length) yield* Console.log(`... and ${audit.refusedCount - audit.refused.length} more`)
      }
      if (audit.refusedCount > 0) {
        return yield* new CommandFailed({ message: `${audit.refusedCount} of ${audit.checked} records fail their check: the log was altered outside causeway` })
      }
    }
    if (flags.verify) {
      const results = yield* verify(log, projections, snapshots).pipe(Effect.mapError(logFailed))
      yield* reportRefused
      const differing = results.filter((v) => v.status === "differs")
      if (flags.json) yield* Console.log(JSON.stringify({ ok: differing.length === 0, projections: results }))
      else for (const v of results) yield* Console.log(describeVerification(v))
      if (differing.length > 0) {
        return yield* new CommandFailed({ message: `${differing.map((v) => v.name).join(", ")}: the replay does not reach the snapshot's digest` })
      }
      if (results.every((v) => v.status === "skipped")) yield* Console.error("causeway: no snapshot to verify")
      return
    }
    const progress = progressOn(process.stderr)
    const started = performance.now()
    const result = yield* replay(log, projections, { onProgress: progress.update, pageSize: 16_384 }).pipe(
      Effect.ensuring(Effect.sync(progress.done)),
      Effect.mapError(logFailed)
    )
    yield* reportRefused
    if (flags.json) {
      yield* Console.log(JSON.stringify({ offset: result.offset, digests: result.digests }))
      return
    }
    const seconds = (performance.now() - started) / 1000
    yield* Console.log(`replayed ${result.offset} records in ${seconds.toFixed(2)} s (${formatRate(seconds > 0 ? result.offset / seconds : 0)} records/s)`)
    for (const [name, digest] of Object.entries(result.digests)) yield* Console.log(`${name}  ${digest}`)
  }, Effect.scoped, Effect.provide(stderrLogging))
).pipe(Command.withDescription("Rebuild every projection from the log (embedded, a Kafka log's local index, or the Kafka topics) and print their digests; --verify checks the stored snapshots."))
