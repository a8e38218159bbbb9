/**
 * The Kafka log's local index: the SQLite copy of the log every read is answered from, and,
 * kept in a file, the merge's position written in the same transaction as each decision. At
 * every connect `restore` sets up the merge: resumed from the saved position when the file
 * mirrors these topics (same names, cluster and partitions, and the topics reach as far),
 * else from the beginning into an emptied index. No connection here: the adapter passes in
 * what the brokers said.
 */
import { DatabaseSync } from "node:sqlite"
import { Effect, Result, Schema, type Scope } from "effect"
import { NonNegativeInt } from "../../domain/Primitives.ts"
import { type Appended, CausalLogError, type CausalLogService, type NewRecord } from "../../ports/CausalLog.ts"
import * as SqliteCausalLog from "../storage/SqliteCausalLog.ts"
import type { TopicEnds, TopicNames } from "./KafkaTopics.ts"
import { type MergePosition, SequenceMerger } from "./SequenceMerger.ts"

/** How the local index started at the last connect that set up the merge. */
export type IndexStart =
  | { readonly _tag: "Resumed"; readonly records: number; readonly sequence: number }
  | { readonly _tag: "Rebuilt"; readonly reason: string }

/** What the index file keeps besides the records: which topics it mirrors and the merge's position. */
const SavedState = Schema.Struct({
  v: Schema.Literal(1),
  topics: Schema.Struct({ events: Schema.String, sequence: Schema.String }),
  cluster: Schema.NullOr(Schema.String),
  partitions: NonNegativeInt,
  position: Schema.Struct({
    sequence: NonNegativeInt,
    last: Schema.NullOr(Schema.Struct({ offset: NonNegativeInt, key: Schema.String })),
    resume: Schema.Array(NonNegativeInt),
    seen: Schema.Array(NonNegativeInt)
  })
})
type SavedState = typeof SavedState.Type
const decodeSavedState = Schema.decodeUnknownResult(Schema.fromJsonString(SavedState))

const STATE_TABLE = "CREATE TABLE IF NOT EXISTS kafka_index (k TEXT PRIMARY KEY, v TEXT NOT NULL) STRICT, WITHOUT ROWID"

const writeState = (db: DatabaseSync, json: string | undefined) => {
  if (json === undefined) db.prepare("DELETE FROM kafka_index WHERE k = 'state'").run()
  else db.prepare("INSERT INTO kafka_index (k, v) VALUES ('state', ?) ON CONFLICT (k) DO UPDATE SET v = excluded.v").run(json)
}

/**
 * Why an index holding `records` with `saved` cannot resume on these topics (none: it can, or
 * it has nothing to resume). Records deleted below the position are not a mismatch:
 * `checkReadable` reports them.
 */
const mismatch = (
  saved: SavedState | undefined,
  records: number,
  topics: TopicNames,
  partitions: number,
  cluster: string | null,
  ends: TopicEnds
): string | undefined => {
  if (saved === undefined) return records > 0 ? "it holds records but no readable merge position" : undefined
  if (saved.topics.events !== topics.events || saved.topics.sequence !== topics.sequence) {
    return `it mirrors the topics ${saved.topics.events} and ${saved.topics.sequence}`
  }
  if (saved.cluster !== null && cluster !== null && saved.cluster !== cluster) {
    return `it mirrors the cluster ${saved.cluster}, and the brokers are the cluster ${cluster}`
  }
  if (saved.partitions !== partitions) return `it mirrors ${saved.partitions} events partitions, and ${topics.events} has ${partitions}`
  const at = saved.position
  if (ends.sequence.high < at.sequence) return `${topics.sequence} ends at ${ends.sequence.high}, before the index's position ${at.sequence}`
  for (const e of ends.events) {
    const seen = at.seen[e.partition] ?? 0
    if (e.high < seen) return `${topics.events}[${e.partition}] ends at ${e.high}, before the index's position ${seen}`
  }
  return undefined
}

/** The local index of one Kafka log (one per `start`). */
export class KafkaLocalIndex {
  /** The index as a log: every read of the Kafka log is answered from it. */
  readonly service: CausalLogService
  /** Whether it is kept in a file (else in memory, rebuilt at every start). */
  readonly persist: boolean
  private readonly handle: SqliteCausalLog.SqliteLogHandle
  private readonly path: string
  private readonly topics: TopicNames
  // What the file says it mirrors and where its merge stood (nothing for a new or in-memory index).
  private saved: SavedState | undefined
  private cluster: string | null = null
  private startedAs: IndexStart | undefined = undefined
  // Why the index must be rebuilt from the topics (it does not match them, or a write failed):
  // set when the merge is thrown away, reported by the next `restore`.
  private rebuildReason: string | undefined = undefined

  private constructor(handle: SqliteCausalLog.SqliteLogHandle, path: string, topics: TopicNames, saved: SavedState | undefined) {
    this.handle = handle
    this.service = handle.service
    this.path = path
    this.persist = path !== ":memory:"
    this.topics = topics
    this.saved = saved
  }

  /** Open the index at `path` (":memory:" or a file) for the log of `topics`, closed with the scope. */
  static open(path: string, topics: TopicNames): Effect.Effect<KafkaLocalIndex, CausalLogError, Scope.Scope> {
    return Effect.gen(function*() {
      const handle = yield* SqliteCausalLog.open({ path, synchronous: "NORMAL" })
      const saved = yield* handle.transact("read the index state", (db) => {
        db.exec(STATE_TABLE)
        const row = db.prepare("SELECT v FROM kafka_index WHERE k = 'state'").get() as { v: string } | undefined
        return row === undefined ? undefined : Result.getOrUndefined(decodeSavedState(row.v))
      })
      return new KafkaLocalIndex(handle, path, topics, saved)
    })
  }

  /** How the index started at the last `restore`. */
  get started(): IndexStart | undefined {
    return this.startedAs
  }

  /** Why the index is to be rebuilt at the next connect (none: it is not). */
  get rebuilding(): string | undefined {
    return this.rebuildReason
  }

  /** The merge is thrown away: the index is to be cleared and rebuilt from the topics, for `reason`. */
  requestRebuild(reason: string): void {
    this.rebuildReason = reason
  }

  /**
   * The merge for these topics as the brokers hold them now: resumed from the saved position
   * if the file mirrors them, else new, over an emptied index (saying why, once).
   */
  restore(partitions: number, cluster: string | null, ends: TopicEnds): Effect.Effect<SequenceMerger, CausalLogError> {
    return Effect.gen({ self: this }, function*() {
      const records = yield* this.service.endOffset
      const saved = this.saved
      const why = mismatch(saved, records, this.topics, partitions, cluster, ends)
      if (saved !== undefined && why === undefined) {
        const position: MergePosition = { ...saved.position, last: saved.position.last ?? undefined }
        this.startedAs = { _tag: "Resumed", records, sequence: saved.position.sequence }
        this.cluster = saved.cluster ?? cluster
        yield* Effect.logInfo(`kafka log: resuming the local index ${this.path}: ${records} records, sequence record ${saved.position.sequence} next`)
        return new SequenceMerger(partitions, position)
      }
      if (why !== undefined) {
        yield* Effect.logWarning(`kafka log: rebuilding the local index ${this.path} from the topics: ${why}`)
        yield* this.clear
      }
      this.cluster = cluster
      this.startedAs = { _tag: "Rebuilt", reason: why ?? this.rebuildReason ?? (this.persist ? "the index file is new" : "the index is in memory") }
      this.rebuildReason = undefined
      return new SequenceMerger(partitions)
    })
  }

  /** Empty the index: no records, no saved position. */
  get clear(): Effect.Effect<void, CausalLogError> {
    return Effect.gen({ self: this }, function*() {
      yield* this.handle.clear
      yield* this.handle.transact("clear the index state", (db) => writeState(db, undefined))
      this.saved = undefined
    })
  }

  /** Append what the merge `m` decided, with its position (in a file) in the same transaction. */
  write(batch: ReadonlyArray<NewRecord>, m: SequenceMerger): Effect.Effect<ReadonlyArray<Appended>, CausalLogError> {
    const state = this.persist ? this.stateOf(m) : undefined
    return this.handle.appendWith(batch, (db) => {
      if (state !== undefined) writeState(db, state)
    })
  }

  private stateOf(m: SequenceMerger): string {
    const position = m.position()
    const state: SavedState = { v: 1, topics: this.topics, cluster: this.cluster, partitions: m.partitions, position: { ...position, last: position.last ?? null } }
    return JSON.stringify(state)
  }
}

/** What a local index file says it mirrors: the topics, the cluster, and the next sequence record to merge. */
export interface IndexState {
  readonly topics: { readonly events: string; readonly sequence: string }
  readonly cluster: string | null
  readonly sequence: number
}

const fail = (operation: string) => (cause: unknown) => new CausalLogError({ operation, cause })

/**
 * What the index file at `path` says it mirrors, read beside the server that writes it;
 * undefined when it says nothing (new, being rebuilt, or written by another build).
 */
export const readIndexState = (path: string): Effect.Effect<IndexState | undefined, CausalLogError> =>
  Effect.acquireUseRelease(
    Effect.try({ try: () => new DatabaseSync(path, { readOnly: true }), catch: fail("open the index") }),
    (db) =>
      Effect.try({
        try: () => {
          const table = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'kafka_index'").get()
          const row = table === undefined ? undefined : db.prepare("SELECT v FROM kafka_index WHERE k = 'state'").get() as { v: string } | undefined
          const state = row === undefined ? undefined : Result.getOrUndefined(decodeSavedState(row.v))
          return state === undefined ? undefined : { topics: state.topics, cluster: state.cluster, sequence: state.position.sequence }
        },
        catch: fail("read the index state")
      }),
    (db) => Effect.sync(() => db.close())
  )
