/** The subscription both log adapters share: page through the log, then wait for its end to move. */
import { Effect, Option, Stream, SubscriptionRef } from "effect"
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
