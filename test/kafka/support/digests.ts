/** What two logs are compared by: their records, and projection digests through the runner's replay. */
import { sha256 } from "@noble/hashes/sha2.js"
import { bytesToHex } from "@noble/hashes/utils.js"
import { Effect, Stream } from "effect"
import type { CausalLogService } from "../../../src/ports/CausalLog.ts"
import { LogIndex } from "../../../src/projections/LogIndex/LogIndex.ts"
import type { Projection } from "../../../src/projections/Projection.ts"
import { replay } from "../../../src/projections/ProjectionRunner.ts"

/**
 * An order-sensitive projection: a hash chain over (offset, id) in log order. The log
 * index's counts would agree on any order; this one agrees only on the same order.
 */
export const OrderChain: Projection<string> = {
  name: "test-order-chain",
  version: 1,
  needsBody: false,
  initialState: "",
  evolve: (state, r) => bytesToHex(sha256(new TextEncoder().encode(`${state}|${r.offset}:${r.id}:${r.lamport}`))),
  encode: (s) => s,
  decode: (j) => String(j)
}

/** Every record, and the digests of the log index and the order chain, of a whole log. */
export const snapshotOf = (log: CausalLogService) =>
  Effect.gen(function*() {
    const end = yield* log.endOffset
    const records = yield* log.read(0, end)
    const { digests, offset } = yield* replay(log, [LogIndex, OrderChain as Projection<unknown>])
    return { end, offset, records, digests }
  })

/** Wait until the log holds at least `n` records. */
export const awaitEnd = (log: CausalLogService, n: number) =>
  n <= 0 ? Effect.void : log.subscribe(n - 1).pipe(Stream.take(1), Stream.runDrain)
