/**
 * A projection folds the causal log into queryable state: `evolve` is a pure function of
 * the state and one record, so folding the same log always reaches the same state, and the
 * state's digest (SHA-256 of its canonical JSON) proves it.
 */
import { sha256 } from "@noble/hashes/sha2.js"
import { bytesToHex } from "@noble/hashes/utils.js"
import { type Json, canonicalize, canonicalPartsInSteps } from "../domain/CanonicalJson.ts"
import type { LogRecord } from "../ports/CausalLog.ts"

/** A projection definition. */
export interface Projection<S> {
  readonly name: string
  /** Bump to rebuild from the log: snapshots of another version are ignored. */
  readonly version: number
  /** Does evolve read `record.body`? When false, replay skips reading the envelopes. */
  readonly needsBody: boolean
  /** Does evolve read `record.id` or `record.deps`? When false, replay skips them too. Default true. */
  readonly needsLinks?: boolean
  /**
   * The message types `evolve` reads (emmett's `canHandle`): the runner and replay give it
   * only records of these types, so `evolve` must leave the state unchanged for every other
   * one. Undefined: every record (the log index counts them all).
   */
  readonly handles?: ReadonlySet<string>
  readonly initialState: S
  // Method syntax on purpose: it lets a Projection<S> stand in a list of Projection<unknown>.
  evolve(state: S, record: LogRecord): S
  /**
   * Optional: the fold of `evolve` over a page of records, computed faster. It must equal
   * that fold exactly (a property test holds each projection to it).
   */
  evolvePage?(state: S, records: ReadonlyArray<LogRecord>): S
  /**
   * Optional (retention): the entries the fold dropped from memory since the last drain, taken
   * out of the state, for the runner to keep on disk (ProjectionStore's archive) before it
   * publishes the state, so a reader finds each one in the state or on disk. The outbox is not
   * part of `encode`: draining never changes the digest.
   */
  drain?(state: S): { readonly state: S; readonly archived: ReadonlyArray<Archived> }
  /** The state as JSON: what the digest covers and what snapshots store. */
  encode(state: S): Json
  /** The inverse of encode, for snapshots; throws on a value encode cannot have made. */
  decode(json: Json): S
}

/** One entry a projection dropped from memory, as it is kept on disk: its key and its last value. */
export interface Archived {
  readonly key: string
  readonly value: Json
}

/**
 * A `drain` over a fold's outbox (`evicted`: what it dropped, as it was last): the outbox
 * emptied, and each dropped entry's rows for the archive, in outbox order.
 */
export const drainEvicted = <S extends { readonly evicted: ReadonlyArray<unknown> }>(
  state: S,
  rowsOf: (x: S["evicted"][number]) => ReadonlyArray<Archived>
): { readonly state: S; readonly archived: ReadonlyArray<Archived> } =>
  state.evicted.length === 0 ? { state, archived: [] } : { state: { ...state, evicted: [] }, archived: state.evicted.flatMap(rowsOf) }

/** Any projection, for lists of them. */
export type AnyProjection = Projection<unknown>

/** Canonical JSON text of a state. */
export const serialize = <S>(p: Projection<S>, state: S): string => canonicalize(p.encode(state))

/** SHA-256 (hex) of serialized state text. */
export const digestText = (text: string): string => bytesToHex(sha256(new TextEncoder().encode(text)))

/**
 * Members written in one step of serializeInSteps: a mempool entry costs ~30 µs to write, so
 * 512 of them made 15 ms steps (and the runner's 8 ms slices 15-29 ms); 128 make ~4 ms.
 */
const SERIALIZE_STEP = 128

/** Bytes hashed in one step of serializeInSteps. */
const HASH_STEP = 128 * 1024

/**
 * `serialize` then `digestText`, in steps: a generator that yields between parts of the work
 * (see canonicalPartsInSteps) and returns the text in parts of about 1 MiB, flat strings whose
 * concatenation is `serialize`'s text, and its digest, taken part by part. The runner writes
 * snapshots with it, giving the event loop back between steps, so a large state's snapshot
 * does not stall ingest for seconds; the store keeps the parts as they are.
 */
export function* serializeInSteps<S>(p: Projection<S>, state: S): Generator<void, { readonly parts: ReadonlyArray<string>; readonly digest: string }> {
  const encoded = p.encode(state)
  yield
  const parts = yield* canonicalPartsInSteps(encoded, SERIALIZE_STEP)
  const hash = sha256.create()
  const encoder = new TextEncoder()
  // Parts end between whole pieces of the text, never inside a surrogate pair: each encodes alone.
  for (const part of parts) {
    const bytes = encoder.encode(part)
    // A MiB through the hash at once held the event loop ~15 ms; a step hashes HASH_STEP bytes.
    for (let at = 0; at < bytes.length; at += HASH_STEP) {
      hash.update(bytes.subarray(at, at + HASH_STEP))
      yield
    }
  }
  return { parts, digest: bytesToHex(hash.digest()) }
}

/** The digest of a state. */
export const digestOf = <S>(p: Projection<S>, state: S): string => digestText(serialize(p, state))

/** Fold a page of records into a state: `evolvePage` where the projection has it; only the types it handles. */
export const foldPage = <S>(p: Projection<S>, state: S, records: ReadonlyArray<LogRecord>): S => {
  if (p.evolvePage !== undefined) return p.evolvePage(state, records)
  let s = state
  const handles = p.handles
  if (handles === undefined) for (const r of records) s = p.evolve(s, r)
  else for (const r of records) if (handles.has(r.type)) s = p.evolve(s, r)
  return s
}

/** The scan options a set of projections needs: bodies and links only if one reads them. */
export const scanOptionsFor = (projections: ReadonlyArray<AnyProjection>) => ({
  withBody: projections.some((p) => p.needsBody),
  withLinks: projections.some((p) => p.needsLinks !== false)
})
