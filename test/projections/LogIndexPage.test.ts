/**
 * GET /v1/projections/log-index pages its senders (senderPage): every sender comes exactly once
 * across the pages, in key order, whatever the page size. (Keys are 12+ hex digits: like real
 * public keys they are never array indices, which objects would list first.)
 */
import { describe, expect, it } from "@effect/vitest"
import fc from "fast-check"
import { HashMap } from "effect"
import { LogIndex, type LogIndexState, senderPage } from "../../src/projections/LogIndex/LogIndex.ts"
import type { LogRecord } from "../../src/ports/CausalLog.ts"

const stateOf = (keys: ReadonlyArray<string>): LogIndexState => ({
  total: keys.length,
  byType: HashMap.empty(),
  bySender: HashMap.fromIterable(keys.map((k, i) => [k, { count: i + 1, latestLamport: i * 2 }] as const))
})

describe("log index sender pages", () => {
  it("walk every sender once, in key order, with the right entries", () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.stringMatching(/^[0-9a-f]{12,16}$/), { maxLength: 300 }), fc.integer({ min: 1, max: 50 }), (keys, limit) => {
        const state = stateOf(keys)
        const seen: Array<string> = []
        let after: string | undefined
        for (let pages = 0; pages <= keys.length + 1; pages++) {
          const page = senderPage(state, after, limit)
          const got = Object.keys(page.bySender)
          expect(got.length).toBeLessThanOrEqual(limit)
          seen.push(...got)
          if (page.next === null) break
          expect(page.next).toBe(got.at(-1))
          after = page.next
        }
        expect(seen).toEqual([...keys].sort())
        for (const k of keys.slice(0, 3)) {
          const i = keys.indexOf(k)
          expect(senderPage(state, undefined, 1000).bySender[k]).toEqual({ count: i + 1, latestLamport: i * 2 })
        }
      })
    )
  })

  // The pages come from a side index carried along by the folds once a state has been paged:
  // it must stay equal to the senders in order however records arrive (one by one, in pages,
  // new senders before and after the ones it holds, in chunks that split).
  it("stay right while records are folded after a page was asked (the side index carried by evolve and evolvePage)", () => {
    const record = (sender: string, n: number) => ({ sender, type: "NetworkHealth", lamport: n }) as unknown as LogRecord
    const walk = (state: LogIndexState, limit: number): Array<string> => {
      const seen: Array<string> = []
      let after: string | undefined
      for (;;) {
        const page = senderPage(state, after, limit)
        seen.push(...Object.keys(page.bySender))
        if (page.next === null) return seen
        after = page.next
      }
    }
    fc.assert(
      fc.property(
        fc.array(fc.array(fc.stringMatching(/^[0-9a-f]{12}$/), { maxLength: 700, size: "max" }), { minLength: 1, maxLength: 4 }),
        fc.integer({ min: 1, max: 600 }),
        fc.boolean(),
        (batches, limit, onePerStep) => {
          let state = LogIndex.initialState
          const all = new Set<string>()
          senderPage(state, undefined, limit) // the side index exists from the start
          let n = 0
          for (const batch of batches) {
            const records = batch.map((s) => record(s, n++))
            state = onePerStep ? records.reduce(LogIndex.evolve, state) : LogIndex.evolvePage!(state, records)
            for (const s of batch) all.add(s)
            expect(walk(state, limit)).toEqual([...all].sort())
          }
          // A state rebuilt from its snapshot pages the same (its side index built by one sort).
          expect(walk(LogIndex.decode(LogIndex.encode(state)), limit)).toEqual([...all].sort())
        }
      ),
      { numRuns: 30, endOnFailure: true }
    )
  })
})
