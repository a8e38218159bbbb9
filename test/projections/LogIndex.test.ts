import { describe, expect, it } from "@effect/vitest"
import { HashMap } from "effect"
import fc from "fast-check"
import type { MessageId } from "../../src/domain/Primitives.ts"
import type { LogRecord } from "../../src/ports/CausalLog.ts"
import { LogIndex } from "../../src/projections/LogIndex/LogIndex.ts"
import { digestOf } from "../../src/projections/Projection.ts"

const record = fc.record({
  type: fc.constantFrom("UserOrder", "NetworkHealth", "ProofShare"),
  sender: fc.constantFrom("aa", "bb", "cc", "dd"),
  lamport: fc.integer({ min: 1, max: 1000 })
}).map((r, i = 0): LogRecord => ({ ...r, offset: i, id: "" as MessageId, nonce: 0, deps: [], body: "" }))

const fold = (records: ReadonlyArray<LogRecord>) => records.reduce(LogIndex.evolve, LogIndex.initialState)

describe("LogIndex", () => {
  it("evolvePage equals folding evolve, for any split of the log into pages", () => {
    fc.assert(
      fc.property(fc.array(record, { maxLength: 200 }), fc.array(fc.nat({ max: 200 }), { maxLength: 6 }), (records, cuts) => {
        const bounds = [0, ...cuts.map((c) => c % (records.length + 1)).sort((a, b) => a - b), records.length]
        let paged = LogIndex.initialState
        for (let i = 1; i < bounds.length; i++) {
          paged = LogIndex.evolvePage!(paged, records.slice(bounds[i - 1], bounds[i]))
        }
        expect(digestOf(LogIndex, paged)).toBe(digestOf(LogIndex, fold(records)))
      })
    )
  })

  it("counts by type, and keeps no per-sender table (the log keeps it on disk)", () => {
    const rs = [["UserOrder", "aa", 5], ["UserOrder", "bb", 2], ["NetworkHealth", "aa", 3]].map(
      ([type, sender, lamport], offset): LogRecord => ({ offset, id: "" as MessageId, type: type as string, sender: sender as string, lamport: lamport as number, nonce: 0, deps: [], body: "" })
    )
    for (const state of [fold(rs), LogIndex.evolvePage!(LogIndex.initialState, rs)]) {
      expect(state.total).toBe(3)
      expect([...HashMap.entries(state.byType)].sort()).toEqual([["NetworkHealth", 1], ["UserOrder", 2]])
      expect(LogIndex.encode(state)).toEqual({ total: 3, byType: { NetworkHealth: 1, UserOrder: 2 } })
    }
  })
})
