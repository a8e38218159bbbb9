/**
 * The projection runner: folds the causal log into every registered projection, resumes
 * each from its last verified snapshot, snapshots periodically and on shutdown, and exposes
 * each projection's offset, state and digest. `replay` is the same fold from offset 0, used
 * by the CLI and the benchmarks; because `evolve` is pure, replay and live reach the same
 * digest at the same offset.
 */
import { Context, Data, Effect, Layer, Option, Schedule, Stream, SubscriptionRef } from "effect"
import { CausalLog, type CausalLogError, type CausalLogService, type LogRecord } from "../ports/CausalLog.ts"
import { ProjectionStore, type ProjectionStoreError, type Snapshot } from "../ports/ProjectionStore.ts"
import type { Json } from "../domain/CanonicalJson.ts"
import { canonicalize } from "../domain/CanonicalJson.ts"
import {
  type AnyProjection,
  type Archived,
  type Projection,
  digestOf,
  digestText,
  foldPage,
  scanOptionsFor,
  serialize,
  serializeInSteps
} from "./Projection.ts"

/** A projection's position and digest. */
export interface ProjectionStatus {
  readonly name: string
  readonly version: number
  /** Records with offset < this are folded in. */
  readonly offset: number
  readonly digest: string
}

/** No projection of that name is registered. */
export class ProjectionNotFound extends Data.TaggedError("ProjectionNotFound")<{ readonly name: string }> {}

/** The runner service. */
export interface ProjectionsService {
  /**
   * Every projection's status, in registration order. Its digest serializes the whole state
   * when the projection moved since it was last asked (seconds for a large one): for the
   * positions alone (metrics, lag) use `positions`.
   */
  readonly status: Effect.Effect<ReadonlyArray<ProjectionStatus>>
  /** Every projection's name and the offset it has folded to, in registration order: no digest, no cost. */
  readonly positions: Effect.Effect<ReadonlyArray<{ readonly name: string; readonly offset: number }>>
  /**
   * A registered projection's state and offset from now on, the latest only: a consumer slower
   * than the folds sees the newest state when it next pulls, never a backlog. For following one
   * thing in the state (an order's status) without reading the log's records.
   */
  readonly changes: <S>(p: Projection<S>) => Stream.Stream<{ readonly offset: number; readonly state: S }, ProjectionNotFound>
  /** A registered projection's state now, with the offset it covers. */
  readonly state: <S>(p: Projection<S>) => Effect.Effect<{ readonly offset: number; readonly state: S }, ProjectionNotFound>
  /** Have all projections folded every record in the log? */
  readonly caughtUp: Effect.Effect<boolean, CausalLogError>
  /**
   * Readiness: false until every projection has once folded every record in the log (the
   * replay at start: `caughtUp` once true), then true while none is more than `maxBehind`
   * records behind the log's end. Under load the folds trail the appends by a few records at
   * every moment, so `caughtUp` alone would flap.
   */
  readonly ready: (maxBehind: number) => Effect.Effect<boolean, CausalLogError>
  /** Wait until every projection has folded the records below `offset`. */
  readonly awaitOffset: (offset: number) => Effect.Effect<void>
  /** An entry a projection dropped from memory (retention) and keeps on disk, by key. */
  readonly archived: <S>(p: Projection<S>, key: string) => Effect.Effect<Option.Option<Json>, ProjectionStoreError>
  /** The entries a projection archived under keys starting with `prefix`, in key order, at most `limit`. */
  readonly archivedRange: <S>(p: Projection<S>, prefix: string, limit: number) => Effect.Effect<ReadonlyArray<{ readonly key: string; readonly value: Json }>, ProjectionStoreError>
}

/** The runner tag. */
export class Projections extends Context.Service<Projections, ProjectionsService>()("causeway/Projections") {}

/** Tunables of the runner. */
export interface RunnerOptions {
  /** Snapshot after this many records since the last snapshot. */
  readonly snapshotEvery: number
  /** Records per page while catching up. */
  readonly pageSize: number
}

export const defaultRunnerOptions: RunnerOptions = { snapshotEvery: 50_000, pageSize: 4096 }

/** Longest stretch of snapshot writing before the event loop is given back, in ms. */
const SLICE_MS = 8

/** Records a projection folds between two looks at the clock while following the log. */
const FOLD_SLICE = 128

/** Longest stretch of folding one projection does before the event loop is given back, in ms. */
const FOLD_MS = 4

/** The result of folding a log into projections. */
export interface ReplayResult {
  readonly offset: number
  readonly digests: Readonly<Record<string, string>>
  readonly states: ReadonlyArray<unknown>
}

/** Fold a page, then take out what the fold dropped from memory (retention), if the projection drops anything. */
const foldAndDrain = (p: AnyProjection, state: unknown, page: ReadonlyArray<LogRecord>): { readonly state: unknown; readonly archived: ReadonlyArray<Archived> } => {
  const folded = foldPage(p, state, page)
  return p.drain === undefined ? { state: folded, archived: [] } : p.drain(folded)
}

/**
 * Fold records [from, to) into the given projections in one scan, starting from the given
 * states (initial ones by default). Envelope bodies are read only if some projection needs them.
 */
export const replay = (
  log: CausalLogService,
  projections: ReadonlyArray<AnyProjection>,
  options: { readonly from?: number; readonly to?: number; readonly states?: ReadonlyArray<unknown>; readonly onProgress?: (offset: number, end: number) => void; readonly pageSize?: number } = {}
): Effect.Effect<ReplayResult, CausalLogError> =>
  Effect.gen(function*() {
    const end = options.to ?? (yield* log.endOffset)
    const states = options.states ? [...options.states] : projections.map((p) => p.initialState)
    const scanOptions = scanOptionsFor(projections)
    const pageSize = options.pageSize ?? 65_536
    let offset = options.from ?? 0
    while (offset < end) {
      const to = Math.min(end, offset + pageSize)
      const page: Array<LogRecord> = []
      yield* log.scan(offset, to, scanOptions, (r) => void page.push(r))
      // What retention drops is on the server's disk already: a replay only needs the states.
      projections.forEach((p, i) => (states[i] = foldAndDrain(p, states[i], page).state))
      offset += page.length
      options.onProgress?.(offset, end)
      if (offset < to) break // the log ended before `to`
    }
    const digests: Record<string, string> = {}
    projections.forEach((p, i) => (digests[p.name] = digestOf(p, states[i])))
    return { offset, digests, states }
  })

/** Why a stored snapshot was not used (logged, then the projection rebuilds from 0). */
const checkSnapshot = <S>(
  p: Projection<S>,
  s: Snapshot,
  logEnd: number,
  lastIdInLog: string | null
): { state: S } | { reason: string } => {
  if (s.version !== p.version) return { reason: `snapshot is of version ${s.version}, projection is ${p.version}` }
  // The log lost commits the snapshot had folded (synchronous=NORMAL and a power loss, a
  // restored backup): resuming there would skip every record appended below its offset.
  if (s.offset > logEnd) return { reason: `snapshot is at offset ${s.offset}, past the log's end ${logEnd}` }
  // The log was cut back and refilled past the snapshot: same offset, other records.
  if (lastIdInLog !== s.lastId) {
    return { reason: `the log's record at offset ${s.offset - 1} is ${lastIdInLog}, not the snapshot's last ${s.lastId}` }
  }
  if (digestText(s.state) !== s.digest) return { reason: "snapshot digest does not match its state" }
  try {
    const state = p.decode(JSON.parse(s.state))
    if (serialize(p, state) !== s.state) return { reason: "snapshot state does not round-trip" }
    return { state }
  } catch (cause) {
    return { reason: `snapshot state does not decode: ${String(cause)}` }
  }
}

interface Live {
  readonly projection: AnyProjection
  readonly position: SubscriptionRef.SubscriptionRef<{ readonly offset: number; readonly state: unknown }>
}

/** Run the given projections against the log in context, for the life of the scope. */
export const make = (projections: ReadonlyArray<AnyProjection>, options: RunnerOptions = defaultRunnerOptions) =>
  Effect.gen(function*() {
    const log = yield* CausalLog
    const store = yield* ProjectionStore

    // The id of the record at offset - 1 (null at 0): what a snapshot names as its last.
    const lastIdAt = (offset: number): Effect.Effect<string | null, CausalLogError> =>
      offset === 0 ? Effect.succeed(null) : log.read(offset - 1, offset).pipe(Effect.map((rs) => rs[0]?.id ?? null))

    const save = (
      p: AnyProjection,
      offset: number,
      state: unknown
    ): Effect.Effect<void, ProjectionStoreError | CausalLogError> =>
      Effect.gen(function*() {
        // Written in slices of about SLICE_MS, the event loop given back between them: the
        // state is immutable, so folding goes on meanwhile without changing what is written.
        const steps = serializeInSteps(p, state)
        let sliceStart = performance.now()
        let step = steps.next()
        while (step.done !== true) {
          if (performance.now() - sliceStart > SLICE_MS) {
            yield* Effect.yieldNow
            sliceStart = performance.now()
          }
          step = steps.next()
        }
        const { parts, digest } = step.value
        const lastId = yield* lastIdAt(offset)
        yield* store.save({ name: p.name, version: p.version, offset, lastId, digest, state: parts })
      })

    // Fold, and keep on disk what the fold dropped from memory before the state is published,
    // so a reader finds every entry in the state or in the archive.
    const foldAndArchive = (p: AnyProjection, state: unknown, page: ReadonlyArray<LogRecord>): Effect.Effect<unknown, ProjectionStoreError> => {
      const { state: next, archived } = foldAndDrain(p, state, page)
      if (archived.length === 0) return Effect.succeed(next)
      return store.archive(p.name, archived.map((a) => ({ key: a.key, value: canonicalize(a.value) }))).pipe(Effect.as(next))
    }

    const logEnd = yield* log.endOffset.pipe(Effect.orDie)
    const lives: Array<Live> = []
    for (const p of projections) {
      const stored = yield* store.load(p.name).pipe(Effect.orDie)
      let start = { offset: 0, state: p.initialState as unknown }
      if (Option.isSome(stored)) {
        const snap = stored.value
        const lastIdInLog = snap.offset <= logEnd ? yield* lastIdAt(snap.offset).pipe(Effect.orDie) : null
        const checked = checkSnapshot(p, snap, logEnd, lastIdInLog)
        if ("state" in checked) start = { offset: stored.value.offset, state: checked.state }
        else yield* Effect.logWarning(`projection ${p.name}: rebuilding from offset 0: ${checked.reason}`)
      }
      lives.push({ projection: p, position: yield* SubscriptionRef.make(start) })
    }

    const run = (live: Live) =>
      Effect.gen(function*() {
        const p = live.projection
        let { offset, state } = yield* SubscriptionRef.get(live.position)
        let sinceSnapshot = 0
        // Catch up by scanning pages (headers only where the projection allows), then follow.
        while (true) {
          const end = yield* log.endOffset
          if (offset >= end) break
          const to = Math.min(end, offset + options.pageSize)
          const page: Array<LogRecord> = []
          yield* log.scan(offset, to, scanOptionsFor([p]), (r) => void page.push(r))
          state = yield* foldAndArchive(p, state, page)
          const visited = page.length
          offset += visited
          sinceSnapshot += visited
          yield* SubscriptionRef.set(live.position, { offset, state })
          if (sinceSnapshot >= options.snapshotEvery) {
            yield* save(p, offset, state)
            sinceSnapshot = 0
          }
          if (visited === 0) break
        }
        yield* log.subscribe(offset).pipe(
          Stream.runForEachArray((records) =>
            Effect.gen(function*() {
              // An append of 1,024 records wakes every projection in the same turn of the
              // scheduler: each folds in slices, giving the event loop back after FOLD_MS, and
              // publishes each slice's state (a state as of an offset, like any other).
              let sliceStart = performance.now()
              for (let at = 0; at < records.length; at += FOLD_SLICE) {
                const part = records.length <= FOLD_SLICE ? records : records.slice(at, at + FOLD_SLICE)
                state = yield* foldAndArchive(p, state, part)
                offset = (part[part.length - 1] as LogRecord).offset + 1
                sinceSnapshot += part.length
                yield* SubscriptionRef.set(live.position, { offset, state })
                if (at + FOLD_SLICE < records.length && performance.now() - sliceStart > FOLD_MS) {
                  yield* Effect.yieldNow
                  sliceStart = performance.now()
                }
              }
              if (sinceSnapshot >= options.snapshotEvery) {
                yield* save(p, offset, state)
                sinceSnapshot = 0
              }
            })
          )
        )
      }).pipe(
        Effect.tapCause((cause) => Effect.logError(`projection ${live.projection.name} failed; restarting`, cause)),
        Effect.retry(Schedule.spaced("1 second"))
      )

    for (const live of lives) {
      yield* Effect.forkScoped(run(live))
      // A last snapshot on shutdown, so the next start resumes where this one stopped.
      yield* Effect.addFinalizer(() =>
        SubscriptionRef.get(live.position).pipe(
          Effect.flatMap(({ offset, state }) => save(live.projection, offset, state)),
          Effect.catchCause((cause) => Effect.logWarning(`projection ${live.projection.name}: final snapshot failed`, cause))
        )
      )
    }

    const byName = new Map(lives.map((l) => [l.projection.name, l]))
    // How many records the slowest projection is behind the log's end (0: all caught up).
    const mostBehind = Effect.gen(function*() {
      const end = yield* log.endOffset
      let most = 0
      for (const l of lives) most = Math.max(most, end - (yield* SubscriptionRef.get(l.position)).offset)
      return most
    })
    const caughtUp = Effect.map(mostBehind, (behind) => behind === 0)
    let replayed = false
    const digestCache = new Map<string, { offset: number; digest: string }>()

    const service: ProjectionsService = {
      status: Effect.gen(function*() {
        const out: Array<ProjectionStatus> = []
        for (const l of lives) {
          const { offset, state } = yield* SubscriptionRef.get(l.position)
          const cached = digestCache.get(l.projection.name)
          const digest = cached?.offset === offset ? cached.digest : digestOf(l.projection, state)
          digestCache.set(l.projection.name, { offset, digest })
          out.push({ name: l.projection.name, version: l.projection.version, offset, digest })
        }
        return out
      }),
      positions: Effect.gen(function*() {
        const out: Array<{ readonly name: string; readonly offset: number }> = []
        for (const l of lives) out.push({ name: l.projection.name, offset: (yield* SubscriptionRef.get(l.position)).offset })
        return out
      }),
      changes: <S>(p: Projection<S>) => {
        const l = byName.get(p.name)
        if (l === undefined) return Stream.fail(new ProjectionNotFound({ name: p.name }))
        return SubscriptionRef.changes(l.position).pipe(Stream.buffer({ capacity: 1, strategy: "sliding" })) as Stream.Stream<{ offset: number; state: S }>
      },
      state: <S>(p: Projection<S>) => {
        const l = byName.get(p.name)
        if (l === undefined) return Effect.fail(new ProjectionNotFound({ name: p.name }))
        return SubscriptionRef.get(l.position) as Effect.Effect<{ offset: number; state: S }>
      },
      caughtUp,
      ready: (maxBehind) =>
        Effect.gen(function*() {
          if (!replayed) {
            replayed = yield* caughtUp
            return replayed
          }
          return (yield* mostBehind) <= maxBehind
        }),
      archived: (p, key) => store.archived(p.name, key).pipe(Effect.map(Option.map((text) => JSON.parse(text) as Json))),
      archivedRange: (p, prefix, limit) =>
        store.archivedRange(p.name, prefix, limit).pipe(Effect.map((rows) => rows.map((r) => ({ key: r.key, value: JSON.parse(r.value) as Json })))),
      awaitOffset: (offset) =>
        Effect.forEach(lives, (l) =>
          SubscriptionRef.changes(l.position).pipe(Stream.filter((p) => p.offset >= offset), Stream.runHead), { discard: true })
    }
    return service
  })

/** The runner as a layer over CausalLog and ProjectionStore. */
export const layer = (projections: ReadonlyArray<AnyProjection>, options: RunnerOptions = defaultRunnerOptions) =>
  Layer.effect(Projections, make(projections, options))
