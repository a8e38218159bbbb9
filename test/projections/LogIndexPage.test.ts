/**
 * GET /v1/projections/log-index pages its senders (senderPage): every sender comes exactly once
 * across the pages, in key order, whatever the page size. (Keys are 12+ hex digits: like real
 * public keys they are never array indices, which objects would list first.)
 */
import { describe, expect, it } from "@effect/vitest"
import fc from "fast-check"
import { HashMap } from "effect"
import { type LogIndexState, senderPage } from "../../src/projections/LogIndex/LogIndex.ts"

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
})
