/** Where projection snapshots (state + the offset it covers) are kept between runs. */
import { Context, Data, type Effect, type Option } from "effect"

/** A projection's state as of an offset. */
export interface Snapshot {
  readonly name: string
  readonly version: number
  /** Records with offset < this are folded in. */
  readonly offset: number
  /**
   * Id of the last record folded in (the one at offset - 1), null at offset 0: on load it
   * must still be the log's record there, or the log has changed under the snapshot.
   */
  readonly lastId: string | null
  /** SHA-256 of `state`, checked on load. */
  readonly digest: string
  /** Canonical JSON of the state. */
  readonly state: string
}

/** A snapshot to keep: its state's text whole, or in parts whose concatenation is the text (each kept as it is). */
export interface SnapshotToSave extends Omit<Snapshot, "state"> {
  readonly state: string | ReadonlyArray<string>
}

/** The snapshot storage failed. */
export class ProjectionStoreError extends Data.TaggedError("ProjectionStoreError")<{
  readonly operation: string
  readonly cause: unknown
}> {}

/** An entry a projection dropped from memory (retention): its key and its last value, canonical JSON. */
export interface ArchivedRow {
  readonly key: string
  readonly value: string
}

/** The projection store port. */
export interface ProjectionStoreService {
  readonly load: (name: string) => Effect.Effect<Option.Option<Snapshot>, ProjectionStoreError>
  readonly save: (snapshot: SnapshotToSave) => Effect.Effect<void, ProjectionStoreError>
  /** Keep entries a projection dropped from memory (a key written again takes the new value). */
  readonly archive: (name: string, rows: ReadonlyArray<ArchivedRow>) => Effect.Effect<void, ProjectionStoreError>
  /** An archived entry's value, if any. */
  readonly archived: (name: string, key: string) => Effect.Effect<Option.Option<string>, ProjectionStoreError>
  /** The archived entries whose keys start with `prefix`, in key order, at most `limit`. */
  readonly archivedRange: (name: string, prefix: string, limit: number) => Effect.Effect<ReadonlyArray<ArchivedRow>, ProjectionStoreError>
}

/** The projection store tag. */
export class ProjectionStore extends Context.Service<ProjectionStore, ProjectionStoreService>()(
  "causeway/ProjectionStore"
) {}
