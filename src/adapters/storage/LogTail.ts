/** The subscription both log adapters share: page through the log, then wait for its end to move. */
import { Effect, Option, Stream, SubscriptionRef } from "effect"
import { LRUCache } from "lru-cache"
import type { CausalLogError, LogRecord } from "../../ports/CausalLog.ts"

/** Records from `from` on, read `pageSize` at a time, waiting on `end` when caught up. */
export const tail = (
  end: SubscriptionRef.SubscriptionRef<number>,
  read: (from: number, to: number) => Effect.Effect<ReadonlyArray<LogRecord>, CausalLogError>,
  from: number,
  pageSize = 1024
): Stream.Stream<LogRecord, CausalLogError> =>
  Stream.paginate(Math.max(0, from), (cursor: number) =>
    Effect.gen(function*() {
      yield* SubscriptionRef.changes(end).pipe(Stream.filter((e) => e > cursor), Stream.runHead)
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
  end: SubscriptionRef.SubscriptionRef<number>,
  read: (from: number, to: number) => Effect.Effect<ReadonlyArray<LogRecord>, CausalLogError>,
  pages = 16
): ((from: number, to: number) => Effect.Effect<ReadonlyArray<LogRecord>, CausalLogError>) => {
  const cache = new LRUCache<string, ReadonlyArray<LogRecord>>({ max: pages })
  return (from, to) =>
    Effect.gen(function*() {
      // What read(from, to) answers now: the records below the end, up to `to`.
      const upTo = Math.min(to, yield* SubscriptionRef.get(end))
      if (upTo <= from) return yield* read(from, to)
      const key = `${from}:${upTo}`
      const hit = cache.get(key)
      if (hit !== undefined) return hit
      const records = yield* read(from, upTo)
      if (records.length === upTo - from) cache.set(key, records)
      return records
    })
}
