/**
 * The domain's Cosmos store-proof check (src/domain/verify/CosmosStoreProof.ts, no library)
 * against the adapter's (@confio/ics23 plus Go's rules): the same verdict on every proof the
 * SDK-shaped store gives (present keys, absent keys before, between and after them, across
 * tree sizes) and on a wrong value, store or app hash; with any byte of a proof altered, it
 * accepts nothing the adapter refuses.
 */
import { describe, expect, it } from "vitest"
import { encodeProofOps, parseStoreKey, storeKeyHex, verifyStoreProof } from "../../src/adapters/cosmos/StoreProof.ts"
import { checkCosmosStoreProof, decodeCosmosStoreProof } from "../../src/domain/verify/CosmosStoreProof.ts"
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

  // Every single-byte change of every proof (a fixed set of XOR masks, so the run is the same
  // each time): the domain accepts an altered proof only when it reads as the same proof (an
  // unknown field, or a field of another wire type, skipped as Go's protobuf skips them); the
  // library's decoder refuses some of those, and accepts some encodings the domain refuses.
  it("accepts an altered proof only when it decodes to the same proof", () => {
    const store = storeOf(9)
    const appHash = hex(store.appHash)
    const cases = ["k000", "k008", "k016", "k005", "a", "z"].map((k) => evidence(store, "ibc", k))
    const text = (proof: string) => JSON.stringify(decodeCosmosStoreProof(proof), (_k, v) => (v instanceof Uint8Array ? hex(v) : v))
    let accepted = 0
    let refused = 0
    let stricter = 0
    for (const e of cases) {
      const original = text(e.proof)
      const bytes = Buffer.from(e.proof, "hex")
      for (let i = 0; i < bytes.length; i++) {
        for (const mask of [0x01, 0x02, 0x08, 0x10, 0x1a, 0x40, 0x80, 0xff]) {
          const altered = Buffer.from(bytes)
          altered[i] = (altered[i] as number) ^ mask
          const proof = altered.toString("hex")
          if (checkCosmosStoreProof(appHash, e.key, e.value, proof) === undefined) {
            accepted++
            expect(text(proof)).toBe(original)
          } else {
            refused++
            if (verifyStoreProof(appHash, e.key, e.value, proof)) stricter++
          }
        }
      }
    }
    expect(refused).toBeGreaterThan(10 * accepted)
    // Where the library accepts what the domain refuses, it is an encoding the library reads
    // loosely (a field's wire type ignored): a few per cent of the changes, never the reverse.
    expect(stricter).toBeLessThan(refused / 10)
  })
})
