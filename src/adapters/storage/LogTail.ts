/** The subscription both log adapters share: page through the log, then wait for its end to move. */
import { Deferred, Effect, Exit, Option, Stream, SubscriptionRef } from "effect"
import { LRUCache } from "lru-cache"
import type { CausalLogError, LogRecord } from "../../ports/CausalLog.ts"

/**
 * A log's end offset, and one signal for everyone waiting for it to move. Each subscriber used
 * to subscribe to the end's changes for every page it waited for (and drop that subscription
 * once the end moved): with 1,000 streams open, completing a thousand subscriptions per append
 * took 60-75 ms of one turn of the event loop. Now an append completes one Deferred that every
 * waiter awaits, and a fresh one takes its place.
 */
export interface LogEnd {
  readonly ref: SubscriptionRef.SubscriptionRef<number>
  /** Move the end (an append, a truncation) and wake every waiter. */
  readonly set: (offset: number) => Effect.Effect<void>
  /** Wait until the end is past `cursor`. */
  readonly past: (cursor: number) => Effect.Effect<void>
}

/** A log end at `offset`. */
export const makeLogEnd = (offset: number): Effect.Effect<LogEnd> =>
  Effect.map(SubscriptionRef.make(offset), (ref) => {
    let moved = Deferred.makeUnsafe<void>()
    return {
      ref,
      set: (offset) =>
        Effect.andThen(SubscriptionRef.set(ref, offset), Effect.sync(() => {
          const done = moved
          moved = Deferred.makeUnsafe<void>()
          Deferred.doneUnsafe(done, Exit.void)
        })),
      past: (cursor) =>
        Effect.gen(function*() {
          for (;;) {
            // Taken before the end is read: a move in between completes this one.
            const signal = moved
            if ((yield* SubscriptionRef.get(ref)) > cursor) return
            yield* Deferred.await(signal)
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
