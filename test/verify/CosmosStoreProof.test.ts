/**
 * The domain's Cosmos store-proof check (src/domain/verify/CosmosStoreProof.ts, no library)
 * against the adapter's (@confio/ics23 plus Go's rules): the same verdict on every proof the
 * SDK-shaped store gives (present keys, absent keys before, between and after them, across
 * tree sizes) and on a wrong value, store or app hash; with any byte of a proof altered, it
 * accepts nothing the adapter refuses.
 */
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { encodeProofOps, parseStoreKey, storeKeyHex, verifyStoreProof } from "../../src/adapters/cosmos/StoreProof.ts"
import { checkCosmosStoreProof } from "../../src/domain/verify/CosmosStoreProof.ts"
import { MultiStore } from "../cosmos/support/IavlStore.ts"

const enc = (s: string) => new TextEncoder().encode(s)
const hex = (b: Uint8Array) => Buffer.from(b).toString("hex")

const storeOf = (n: number) =>
  new MultiStore(
    new Map([
      ["acc", new Map([[hex(enc("carol")), enc("c")]])],
      ["ibc", new Map(Array.from({ length: n }, (_, i) => [hex(enc(`k${String(i * 2).padStart(3, "0")}`)), enc(`v${i}`)]))]
    ]),
    7
  )

const evidence = (store: MultiStore, name: string, key: string) => {
  const answer = store.query(name, enc(key))
  if (answer === undefined) throw new Error("no store")
  const parsed = parseStoreKey(`${name}/${hex(enc(key))}`)
  if (parsed === undefined) throw new Error("bad key")
  return { key: storeKeyHex(parsed), value: answer.value === undefined ? "" : hex(answer.value), proof: hex(encodeProofOps(answer.ops)) }
}

const same = (appHash: string, key: string, value: string, proof: string) => {
  const domain = checkCosmosStoreProof(appHash, key, value, proof) === undefined
  expect(domain).toBe(verifyStoreProof(appHash, key, value, proof))
  return domain
}

describe("checkCosmosStoreProof", () => {
  it("accepts every proof the store gives, present or absent, as the adapter does", () => {
    for (const n of [1, 2, 3, 5, 8, 13, 21]) {
      const store = storeOf(n)
      const appHash = hex(store.appHash)
      const keys = [...Array.from({ length: n }, (_, i) => `k${String(i * 2).padStart(3, "0")}`), ...Array.from({ length: n + 1 }, (_, i) => `k${String(i * 2 - 1).padStart(3, "0")}`), "a", "z"]
      for (const k of keys) {
        const e = evidence(store, "ibc", k)
        expect(same(appHash, e.key, e.value, e.proof)).toBe(true)
        // The opposite claim fails.
        expect(same(appHash, e.key, e.value === "" ? "01" : "", e.proof)).toBe(false)
      }
    }
  })

  it("refuses another value, store or app hash", () => {
    const store = storeOf(6)
    const appHash = hex(store.appHash)
    const e = evidence(store, "ibc", "k004")
    expect(same(appHash, e.key, hex(enc("v9")), e.proof)).toBe(false)
    expect(same(hex(new Uint8Array(32)), e.key, e.value, e.proof)).toBe(false)
    const other = storeKeyHex({ store: "acc", key: enc("k004"), text: "" })
    expect(same(appHash, other, e.value, e.proof)).toBe(false)
    expect(checkCosmosStoreProof(appHash, e.key, e.value, "zz")).toBeDefined()
    expect(checkCosmosStoreProof(appHash, e.key, e.value, e.proof.slice(0, -2))).toBeDefined()
  })

  // The library's protobuf decoder ignores wire types (a field tagged as a group still decodes as
  // bytes); Go's decoder, and this one, refuse such an encoding. Otherwise the verdicts are equal.
  it("accepts no altered proof the adapter refuses, and refuses others only as undecodable", () => {
    const store = storeOf(9)
    const appHash = hex(store.appHash)
    const cases = ["k000", "k008", "k016", "k005", "a", "z"].map((k) => evidence(store, "ibc", k))
    fc.assert(
      fc.property(fc.nat(cases.length - 1), fc.nat(), fc.integer({ min: 1, max: 255 }), (which, at, xor) => {
        const e = cases[which] as (typeof cases)[number]
        const bytes = Buffer.from(e.proof, "hex")
        const i = at % bytes.length
        bytes[i] = (bytes[i] as number) ^ xor
        const proof = bytes.toString("hex")
        const domain = checkCosmosStoreProof(appHash, e.key, e.value, proof)
        const adapter = verifyStoreProof(appHash, e.key, e.value, proof)
        if (domain === undefined) expect(adapter).toBe(true)
        else if (adapter) expect(domain).toMatch(/cannot be decoded/)
      }),
      { numRuns: 2000 }
    )
  })
})
