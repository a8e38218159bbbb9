/**
 * The head tracker's linking rules on scripted chains (cases a local anvil cannot stage:
 * a reorg deeper than the kept window, a gap after a long downtime, a lagging endpoint,
 * a failing endpoint mid-walk). The anvil tests cover the same code against a real node.
 */
import { sha256 } from "@noble/hashes/sha2.js"
import { bytesToHex } from "@noble/hashes/utils.js"
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { type HeaderSource, makeHeadTracker } from "../../src/adapters/evm/EvmHeadTracker.ts"
import { ChainObserverError, type HeadEvent, type VerifiedHeader } from "../../src/ports/ChainObserver.ts"

/** A chain of headers in memory: branches share ancestors; `tip` is what `latest` answers. */
const scripted = () => {
  const byHash = new Map<string, VerifiedHeader>()
  let failNext = 0
  const make = (parent: VerifiedHeader | undefined, branch: string): VerifiedHeader => {
    const height = parent === undefined ? 0 : parent.height + 1
    const hash = bytesToHex(sha256(new TextEncoder().encode(`${branch}:${height}:${parent?.hash ?? ""}`)))
    const h = { chain: "test", height, hash, parentHash: parent?.hash ?? "00".repeat(32), stateRoot: "11".repeat(32), time: height * 1000 }
    byHash.set(hash, h)
    return h
  }
  const genesis = make(undefined, "main")
  const chain: {
    tip: VerifiedHeader
    extend: (from: VerifiedHeader, n: number, branch?: string) => VerifiedHeader
    failAfter: (n: number) => void
    source: HeaderSource
    ancestor: (h: VerifiedHeader, height: number) => VerifiedHeader
  } = {
    tip: genesis,
    extend: (from: VerifiedHeader, n: number, branch = "main") => {
      let h = from
      for (let i = 0; i < n; i++) h = make(h, branch)
      return h
    },
    failAfter: (n: number) => void (failNext = n),
    source: {
      chain: "test",
      latest: Effect.sync(() => chain.tip),
      byHash: (hash: string) =>
        Effect.suspend(() => {
          if (failNext > 0 && --failNext === 0) return Effect.fail(new ChainObserverError({ chain: "test", reason: "Unreachable", detail: "down" }))
          const h = byHash.get(hash)
          return h === undefined ? Effect.fail(new ChainObserverError({ chain: "test", reason: "NotFound", detail: hash })) : Effect.succeed(h)
        }),
      tagged: () => Effect.fail(new ChainObserverError({ chain: "test", reason: "NotFound", detail: "no tags" }))
    },
    ancestor: (h: VerifiedHeader, height: number) => {
      let cur = h
      while (cur.height > height) cur = byHash.get(cur.parentHash)!
      return cur
    }
  }
  chain.tip = chain.extend(genesis, 10)
  return chain
}

const tags = (events: ReadonlyArray<HeadEvent>) =>
  events.map((e) => (e._tag === "Reorg" ? `Reorg@${e.forkHeight}` : e._tag === "Misbehaviour" ? `Misbehaviour@${e.evidence.height}` : `${e._tag}${e.header.height}`))

describe("EvmHeadTracker", () => {
  it.effect("starts with the confirmation depth below the tip, then extends one header at a time", () =>
    Effect.gen(function*() {
      const c = scripted()
      const t = makeHeadTracker(c.source, { confirmations: 2 })
      expect(tags(yield* t.poll)).toEqual(["Head8", "Head9", "Head10", "Finalized8"])
      expect(tags(yield* t.poll)).toEqual([])
      c.tip = c.extend(c.tip, 2)
      expect(tags(yield* t.poll)).toEqual(["Head11", "Head12", "Finalized10"])
    }))

  it.effect("reports a reorg to a shorter branch, and ignores an endpoint lagging on the same branch", () =>
    Effect.gen(function*() {
      const c = scripted()
      const main = c.tip
      const t = makeHeadTracker(c.source, { confirmations: 0, maxReorgDepth: 8 }, {
        headers: [3, 4, 5, 6, 7, 8, 9, 10].map((h) => c.ancestor(main, h)),
        finalizedHeight: 10
      })
      expect(tags(yield* t.poll)).toEqual([])
      c.tip = c.ancestor(main, 8) // lagging: an older header of the same chain
      expect(tags(yield* t.poll)).toEqual([])
      c.tip = c.extend(c.ancestor(main, 6), 2, "side") // 7', 8' replace 7..10
      const events = yield* t.poll
      expect(tags(events)).toEqual(["Reorg@6", "Head7", "Head8"])
      expect(events[0]).toMatchObject({ oldHead: { hash: main.hash }, newHead: { hash: c.tip.hash }, forkHash: c.ancestor(main, 6).hash })
    }))

  it.effect("fails on a reorg deeper than the kept window, and keeps failing rather than guessing", () =>
    Effect.gen(function*() {
      const c = scripted()
      const t = makeHeadTracker(c.source, { confirmations: 0, maxReorgDepth: 4 }, {
        headers: [7, 8, 9, 10].map((h) => c.ancestor(c.tip, h))
      })
      c.tip = c.extend(c.ancestor(c.tip, 5), 6, "side")
      const e = yield* Effect.flip(t.poll)
      expect(e.reason).toBe("InvalidHeader")
      expect(e.detail).toMatch(/deeper than the 4 headers/)
      expect((yield* Effect.flip(t.poll)).reason).toBe("InvalidHeader")
    }))

  it.effect("re-anchors after a gap longer than it walks, without a reorg", () =>
    Effect.gen(function*() {
      const c = scripted()
      const t = makeHeadTracker(c.source, { confirmations: 1, maxReorgDepth: 4, maxCatchUp: 5 }, { headers: [c.tip] })
      c.tip = c.extend(c.tip, 20)
      expect(tags(yield* t.poll)).toEqual(["Head26", "Head27", "Head28", "Head29", "Head30", "Finalized29"])
      expect(t.window().map((h) => h.height)).toEqual([27, 28, 29, 30])
    }))

  it.effect("leaves its state untouched when a poll fails mid-walk, so the retry reports everything", () =>
    Effect.gen(function*() {
      const c = scripted()
      const t = makeHeadTracker(c.source, { confirmations: 0 }, { headers: [c.tip] })
      c.tip = c.extend(c.tip, 3)
      c.failAfter(2)
      expect((yield* Effect.flip(t.poll)).reason).toBe("Unreachable")
      expect(tags(yield* t.poll)).toEqual(["Head11", "Head12", "Head13", "Finalized13"])
    }))

  it.effect("refuses a source whose parent is not one height below", () =>
    Effect.gen(function*() {
      const c = scripted()
      const t = makeHeadTracker(c.source, { confirmations: 0 }, { headers: [c.ancestor(c.tip, 8)] })
      const skip = { ...c.tip, height: 12, hash: "ff".repeat(32), parentHash: c.ancestor(c.tip, 9).hash }
      c.tip = skip
      const e = yield* Effect.flip(t.poll)
      expect(e.reason).toBe("InvalidHeader")
      expect(e.detail).toMatch(/at height 9/)
    }))
})
