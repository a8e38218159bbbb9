/**
 * Snapshots are written in steps (serializeInSteps, canonicalizeInSteps) so that a large state
 * does not hold the event loop: the text and digest must be exactly those written in one go.
 */
import { describe, expect, it } from "@effect/vitest"
import fc from "fast-check"
import { canonicalize, canonicalizeInSteps, canonicalPartsInSteps, sortInSteps } from "../../src/domain/CanonicalJson.ts"
import { digestText, type Projection, serialize, serializeInSteps } from "../../src/projections/Projection.ts"

const run = <A>(g: Generator<void, A>): { readonly value: A; readonly yields: number } => {
  let yields = 0
  for (;;) {
    const step = g.next()
    if (step.done === true) return { value: step.value, yields }
    yields++
  }
}
const outcome = (f: () => string): string => {
  try {
    return `ok:${f()}`
  } catch (e) {
    return `error:${String((e as { reason?: string }).reason ?? e)}`
  }
}

describe("canonicalizeInSteps", () => {
  it("writes what canonicalize writes, or fails as it does, at every step size", () => {
    const value = fc.oneof(fc.jsonValue({ maxDepth: 4 }), fc.constantFrom({ a: "\uD800" }, [1, 2 ** 60], { x: [1.5] }, { deep: [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]] }))
    fc.assert(
      fc.property(value, fc.integer({ min: 1, max: 4 }), (v, step) => {
        expect(outcome(() => run(canonicalizeInSteps(v, step)).value)).toBe(outcome(() => canonicalize(v)))
      }),
      { numRuns: 500 }
    )
  })

  it("yields between the members of a large object or array, not for small ones", () => {
    const big = Object.fromEntries(Array.from({ length: 5_000 }, (_, i) => [`k${i}`, { i, list: Array.from({ length: 3 }, (_, j) => j) }]))
    const { value, yields } = run(canonicalizeInSteps({ big, small: [1, 2, 3] }, 512))
    expect(value).toBe(canonicalize({ big, small: [1, 2, 3] }))
    expect(yields).toBeGreaterThanOrEqual(Math.floor(5_000 / 512))
    expect(run(canonicalizeInSteps({ small: [1, 2, 3] }, 512)).yields).toBe(0)
  })
})

describe("sortInSteps", () => {
  it("orders keys as Array.prototype.sort does (UTF-16 code units, surrogates included), for any run length", () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.string({ unit: "binary", maxLength: 6 }), { maxLength: 200 }), fc.integer({ min: 1, max: 9 }), (keys, runLength) => {
        expect(run(sortInSteps([...keys], runLength)).value).toEqual([...keys].sort())
      }),
      { numRuns: 500 }
    )
  })

  it("sorts a 50,000-key object in steps of a run's keys: its text is canonicalize's", () => {
    const keys = Array.from({ length: 50_000 }, (_, i) => ((i * 7919) % 50_000).toString(16).padStart(8, "z"))
    const sorted = run(sortInSteps([...keys], 4_096))
    expect(sorted.value).toEqual([...keys].sort())
    // 13 runs sorted, then 4 rounds of merges writing 50,000 keys each.
    expect(sorted.yields).toBeGreaterThanOrEqual(13 + 4 * Math.floor(50_000 / 4_096))
    const record = Object.fromEntries(keys.map((k, i) => [k, i]))
    expect(run(canonicalizeInSteps({ record }, 128)).value).toBe(canonicalize({ record }))
  })
})

describe("canonicalPartsInSteps", () => {
  it("gives parts that join to canonicalize's text (or fails as it does), each but the last closed once it reached the part size", () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 4 }), fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 64 }), (v, step, partChars) => {
        expect(outcome(() => run(canonicalPartsInSteps(v, step, partChars)).value.join(""))).toBe(outcome(() => canonicalize(v)))
        if (outcome(() => canonicalize(v)).startsWith("error:")) return
        const parts = run(canonicalPartsInSteps(v, step, partChars)).value
        for (const part of parts.slice(0, -1)) expect(part.length).toBeGreaterThanOrEqual(partChars)
        for (const part of parts) {
          expect(part.length).toBeGreaterThan(0)
          const last = part.charCodeAt(part.length - 1)
          expect(last >= 0xd800 && last <= 0xdbff).toBe(false)
        }
      }),
      { numRuns: 300 }
    )
  })

  it("cuts a large text into about partChars per part", () => {
    const big = Array.from({ length: 20_000 }, (_, i) => ({ i, s: "x".repeat(40) }))
    const parts = run(canonicalPartsInSteps({ big }, 512, 64 * 1024)).value
    expect(parts.join("")).toBe(canonicalize({ big }))
    expect(parts.length).toBeGreaterThanOrEqual(Math.floor(canonicalize({ big }).length / (64 * 1024)))
    for (const part of parts.slice(0, -1)) expect(part.length).toBeLessThan(64 * 1024 + 100)
  })
})

describe("serializeInSteps", () => {
  const projection = (encoded: unknown): Projection<null> => ({
    name: "test",
    version: 1,
    needsBody: false,
    initialState: null,
    evolve: (s) => s,
    encode: () => encoded as never,
    decode: () => null
  })

  it("gives serialize's text and digestText's digest, a surrogate pair across a 1 MiB slice boundary included", () => {
    // The text is {"s":"…"}: the string starts at index 6, so padding puts a surrogate pair's
    // first half at the last index of the first 1 MiB slice.
    const pad = (1 << 20) - 1 - 6
    for (const filler of [pad, pad - 1, pad + 1]) {
      const p = projection({ s: `${"a".repeat(filler)}😀 and more ✓ ${"é".repeat(3000)}` })
      const { value, yields } = run(serializeInSteps(p, null))
      const text = serialize(p, null)
      expect(value.parts.join("")).toBe(text)
      expect(value.digest).toBe(digestText(text))
      expect(yields).toBeGreaterThanOrEqual(2)
    }
  })
})
