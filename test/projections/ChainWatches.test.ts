/**
 * The chain-watches fold with owners: each watch keeps the API token that asked for it, a
 * token's watches are counted on every chain and a removal frees its slot; messages written
 * before owners were recorded still decode and fold (without one); a snapshot keeps owners.
 */
import { describe, expect, it } from "@effect/vitest"
import { Schema } from "effect"
import { ChainWatchAdded } from "../../src/domain/chain/ChainMessages.ts"
import { EffectWatchAdded } from "../../src/domain/effects/EffectMessages.ts"
import { type ChainWatchesState, evolveWatches, makeChainWatches, watchesOf, watchesOwnedBy } from "../../src/projections/ChainWatches/ChainWatches.ts"

const empty = makeChainWatches({ instanceKey: "ab".repeat(32) }).initialState
const add = (chain: string, key: string, owner?: string) => ({ type: "ChainWatchAdded" as const, chain, key, owner })
const remove = (chain: string, key: string) => ({ type: "ChainWatchRemoved" as const, chain, key })

describe("ChainWatches with owners", () => {
  it("counts a token's watches on every chain; a removal frees a slot; a watch without an owner counts for none", () => {
    let s: ChainWatchesState = empty
    s = evolveWatches(s, add("a", "01", "alice"), "m1")
    s = evolveWatches(s, add("b", "01", "alice"), "m2")
    s = evolveWatches(s, add("a", "02", "bob"), "m3")
    s = evolveWatches(s, add("a", "03"), "m4")
    expect([watchesOwnedBy(s, "alice"), watchesOwnedBy(s, "bob"), watchesOwnedBy(s, "carol")]).toEqual([2, 1, 0])
    expect(watchesOf(s, "a")).toEqual([{ key: "01", id: "m1", owner: "alice" }, { key: "02", id: "m3", owner: "bob" }, { key: "03", id: "m4" }])
    // A second addition of a watched key (by another token) changes no owner.
    s = evolveWatches(s, add("a", "01", "bob"), "m5")
    expect([watchesOwnedBy(s, "alice"), watchesOwnedBy(s, "bob"), s.ignored]).toEqual([2, 1, 1])
    s = evolveWatches(s, remove("b", "01"), "m6")
    expect(watchesOwnedBy(s, "alice")).toBe(1)
  })

  it("keeps owners across a snapshot", () => {
    const p = makeChainWatches({ instanceKey: "ab".repeat(32) })
    const s = { ...p.initialState, ...evolveWatches(evolveWatches(p.initialState, add("a", "01", "alice"), "m1"), add("a", "02"), "m2") }
    const back = p.decode(JSON.parse(JSON.stringify(p.encode(s))))
    expect(watchesOf(back, "a")).toEqual(watchesOf(s, "a"))
    expect(watchesOwnedBy(back, "alice")).toBe(1)
  })

  it("decodes watch decisions written before owners were recorded, and refuses an owner that is not a token's name", () => {
    const decodeChain = Schema.decodeUnknownSync(ChainWatchAdded)
    expect(decodeChain({ chain: "anvil", key: "01" })).toEqual({ chain: "anvil", key: "01" })
    expect(decodeChain({ chain: "anvil", key: "01", owner: "alice" })).toEqual({ chain: "anvil", key: "01", owner: "alice" })
    expect(() => decodeChain({ chain: "anvil", key: "01", owner: "not a name" })).toThrow()
    const decodeEffect = Schema.decodeUnknownSync(EffectWatchAdded)
    const evm = { chain: "anvil", kind: "evm-log", filter: {} }
    expect(decodeEffect(evm)).not.toHaveProperty("owner")
    expect(decodeEffect({ ...evm, owner: "alice" })).toMatchObject({ owner: "alice" })
    expect(() => decodeEffect({ ...evm, owner: "" })).toThrow()
  })
})
