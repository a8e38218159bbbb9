/** The subscription both log adapters share: page through the log, then wait for its end to move. */
import { Deferred, Effect, Exit, Option, Stream, SubscriptionRef } from "effect"
import { LRUCache } from "lru-cache"
import type { CausalLogError, LogRecord } from "../../ports/CausalLog.ts"

/**
 * A log's end offset, and the subscribers waiting for it to move. Each subscriber used to
 * subscribe to the end's changes for every page it waited for (and drop that subscription once
 * the end moved): with 1,000 streams open, completing a thousand subscriptions per append took
 * 60-75 ms of one turn of the event loop. Now a waiter is a Deferred in a set, and a move wakes
 * them WAKE_CHUNK at a time, one chunk per turn, so a thousand streams sending an append's
 * records (about 130 µs each, the socket write included) share it out over several turns.
 */
export interface LogEnd {
  readonly ref: SubscriptionRef.SubscriptionRef<number>
  /** Move the end (an append, a truncation) and wake every waiter. */
  readonly set: (offset: number) => Effect.Effect<void>
  /** Wait until the end is past `cursor`. */
  readonly past: (cursor: number) => Effect.Effect<void>
}

/** Waiters woken in one turn of the event loop. */
export const WAKE_CHUNK = 64

/** A log end at `offset`. */
export const makeLogEnd = (offset: number): Effect.Effect<LogEnd> =>
  Effect.map(SubscriptionRef.make(offset), (ref) => {
    let waiting = new Set<Deferred.Deferred<void>>()
    const wake = (woken: ReadonlyArray<Deferred.Deferred<void>>, from: number): void => {
      const stop = Math.min(woken.length, from + WAKE_CHUNK)
      for (let i = from; i < stop; i++) Deferred.doneUnsafe(woken[i] as Deferred.Deferred<void>, Exit.void)
      if (stop < woken.length) setImmediate(() => wake(woken, stop))
    }
    return {
      ref,
      set: (offset) =>
        Effect.andThen(SubscriptionRef.set(ref, offset), Effect.sync(() => {
          if (waiting.size === 0) return
          const woken = [...waiting]
          waiting = new Set()
          wake(woken, 0)
        })),
      past: (cursor) =>
        Effect.gen(function*() {
          while ((yield* SubscriptionRef.get(ref)) <= cursor) {
            // Registered after the end was read, with no yield between: no move is missed.
            const signal = Deferred.makeUnsafe<void>()
            waiting.add(signal)
            yield* Deferred.await(signal).pipe(Effect.onInterrupt(() => Effect.sync(() => void waiting.delete(signal))))
            // Woken inline by the append's fiber: what the waiter does next (read, fold,
            // send) waits for the scheduler's queue instead of running in the appender's turn.
            yield* Effect.yieldNow
          }
        })
    }
  })

/** Records from `from` on, read `pageSize` at a time, waiting on `end` when caught up. */
export const tail = (
  end: LogEnd,
  read: (from: number, to: number) => Effect.Effect<ReadonlyArray<LogRecord>, CausalLogError>,
  from: number,
  pageSize = 1024
): Stream.Stream<LogRecord, CausalLogError> =>
  Stream.paginate(Math.max(0, from), (cursor: number) =>
    Effect.gen(function*() {
      yield* end.past(cursor)
      const records = yield* read(cursor, cursor + pageSize)
      return [records, Option.some(cursor + records.length)] as const
    })
  )

/**
 * `read` shared by every subscriber of one log: the last pages read are kept (records are
 * immutable once below the end), so a thousand streams woken by the same append read its
 * records from storage once, not a thousand times, and get the same record objects (which lets
 * their encodings be shared too).
 */
export const sharedPages = (
  end: LogEnd,
  read: (from: number, to: number) => Effect.Effect<ReadonlyArray<LogRecord>, CausalLogError>,
  pages = 16
): ((from: number, to: number) => Effect.Effect<ReadonlyArray<LogRecord>, CausalLogError>) => {
  const cache = new LRUCache<string, ReadonlyArray<LogRecord>>({ max: pages })
  return (from, to) =>
    Effect.gen(function*() {
      // What read(from, to) answers now: the records below the end, up to `to`.
      const upTo = Math.min(to, yield* SubscriptionRef.get(end.ref))
      if (upTo <= from) return yield* read(from, to)
      const key = `${from}:${upTo}`
      const hit = cache.get(key)
      if (hit !== undefined) return hit
      const records = yield* read(from, upTo)
      if (records.length === upTo - from) cache.set(key, records)
      return records
    })
}
