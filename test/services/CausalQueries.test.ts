import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import * as MemoryCausalLog from "../../src/adapters/storage/MemoryCausalLog.ts"
import { type Envelope, idOf } from "../../src/domain/Envelope.ts"
import type { MessageId } from "../../src/domain/Primitives.ts"
import { CausalLog } from "../../src/ports/CausalLog.ts"
import { happenedBefore } from "../../src/services/CausalQueries.ts"
import { envelope, recordOf, testKey } from "../support/fixtures.ts"

const k = testKey("dag")
const sorted = (ids: Array<MessageId>) => [...ids].sort()

describe("happenedBefore", () => {
  it.effect("follows dependency chains, not Lamport order alone", () =>
    Effect.gen(function*() {
      const log = yield* CausalLog
      //   a ← b ← d      c (concurrent with a, b; stamped between them)
      const a = envelope(k, { nonce: 1, lamport: 1 })
      const c = envelope(k, { nonce: 2, lamport: 2 })
      const b = envelope(k, { nonce: 3, lamport: 3, deps: [idOf(a)] })
      const d = envelope(k, { nonce: 4, lamport: 7, deps: sorted([idOf(b)]) })
      const e = envelope(k, { nonce: 5, lamport: 8, deps: sorted([idOf(c), idOf(d)]) })
      yield* log.append([a, c, b, d, e].map(recordOf))
      const hb = (x: Envelope, y: Envelope) => happenedBefore(log, idOf(x), idOf(y))
      expect(yield* hb(a, d)).toBe(true)
      expect(yield* hb(a, e)).toBe(true)
      expect(yield* hb(c, e)).toBe(true)
      expect(yield* hb(c, d)).toBe(false) // lower Lamport, yet concurrent
      expect(yield* hb(d, a)).toBe(false)
      expect(yield* hb(a, a)).toBe(false)
      expect(yield* happenedBefore(log, idOf(a), "ff".repeat(32))).toBe(false)
    }).pipe(Effect.provide(MemoryCausalLog.layerMemory)))
})
