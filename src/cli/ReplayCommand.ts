/**
 * `causeway replay [--data-dir DIR] [--json] [--verify] [--verify-records]`: fold a data directory's log into
 * every projection the server runs, from offset 0, and print the digests. Because `evolve`
 * is pure, the digests equal the live ones of a server at the same offset; `--verify` checks
 * exactly that against the snapshots the server persisted (projections.sqlite): for each
 * projection with a snapshot, the fold from 0 to the snapshot's offset must reach the
 * snapshot's digest. `--verify-records` first checks every record from its bytes (body,
 * encoding, id, headers, signature: src/services/RecordAudit.ts), so a log file altered
 * outside causeway is found. Exit 1 if one differs or fails (or the data directory is
 * missing), else 0.
 *
 * The log is opened beside a running server if there is one (SQLite WAL: readers do not block
 * the writer); the fold covers the records present when it starts.
 */
import { existsSync } from "node:fs"
import { Console, Effect, Option } from "effect"
import { Command, Flag } from "effect/cli"
import * as InstanceKeyFile from "../adapters/InstanceKeyFile.ts"
import * as NodeCryptoSignatureVerifier from "../adapters/NodeCryptoSignatureVerifier.ts"
import * as SqliteProjectionStore from "../adapters/SqliteProjectionStore.ts"
import { instanceKeyPath, snapshotPath } from "../Config.ts"
import { projections as projectionsFor } from "../main.ts"
import type { AnyProjection } from "../projections/Projection.ts"
import { replay } from "../projections/ProjectionRunner.ts"
import type { CausalLogError, CausalLogService } from "../ports/CausalLog.ts"
import type { Snapshot } from "../ports/ProjectionStore.ts"
import { auditRecords } from "../services/RecordAudit.ts"
import { CommandFailed } from "./CliErrors.ts"
import { openLog } from "./DataDir.ts"
import { dataDirFlag } from "./Flags.ts"
import { formatRate, progressOn } from "./ProgressBar.ts"

const logFailed = (e: CausalLogError) => new CommandFailed({ message: `reading the log failed: ${e.operation}: ${String(e.cause)}` })

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
const loadSnapshots = (dataDir: string, ps: ReadonlyArray<AnyProjection>) =>
  Effect.gen(function*() {
    const path = snapshotPath(dataDir)
    if (!existsSync(path)) return ps.map(() => Option.none<Snapshot>())
    const store = yield* SqliteProjectionStore.make(path)
    return yield* Effect.forEach(ps, (p) => store.load(p.name))
  }).pipe(Effect.mapError((e) => new CommandFailed({ message: `reading snapshots failed: ${e.operation}: ${String(e.cause)}` })))

/**
 * Compare each projection's snapshot with a fold of the log up to the snapshot's offset.
 * One pass over the log: the fold stops at each snapshot offset in turn and goes on from there.
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
      for (const { index, snapshot } of pending.get(target) ?? []) {
        const name = (ps[index] as AnyProjection).name
        const replayed = result.digests[name] as string
        const base = { name, offset: target, snapshot: snapshot.digest, replayed }
        out[index] = result.offset < target
          ? { ...base, status: "differs", reason: `the log ended at ${result.offset}` }
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
    )
  },
  Effect.fn("causeway.replay")(function*(flags) {
    const log = yield* openLog(flags.dataDir, { readOnly: true })
    const instanceKey = yield* InstanceKeyFile.readPublicKey(instanceKeyPath(flags.dataDir)).pipe(
      Effect.mapError((e) => new CommandFailed({ message: `reading the instance key failed: ${e.message}` }))
    )
    const projections = projectionsFor({ instanceKey: instanceKey ?? "" })
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
      const snapshots = yield* loadSnapshots(flags.dataDir, projections)
      const results = yield* verify(log, projections, snapshots).pipe(Effect.mapError(logFailed))
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
    if (flags.json) {
      yield* Console.log(JSON.stringify({ offset: result.offset, digests: result.digests }))
      return
    }
    const seconds = (performance.now() - started) / 1000
    yield* Console.log(`replayed ${result.offset} records in ${seconds.toFixed(2)} s (${formatRate(seconds > 0 ? result.offset / seconds : 0)} records/s)`)
    for (const [name, digest] of Object.entries(result.digests)) yield* Console.log(`${name}  ${digest}`)
  }, Effect.scoped)
).pipe(Command.withDescription("Rebuild every projection from the log and print their digests; --verify checks the stored snapshots."))

