/**
 * Store proofs as the SDK returns them (two ICS23 proof ops chained to the app hash):
 * key forms, the ProofOps encoding, and the chaining rules — each op must be the expected
 * kind, for the key and store asked, and prove its part.
 */
import { describe, expect, it } from "vitest"
import { checkStoreProof, decodeProofOps, encodeProofOps, parseStoreKey, storeKeyHex, verifyStoreProof } from "../../src/adapters/cosmos/StoreProof.ts"
import { MultiStore } from "./support/IavlStore.ts"

const enc = (s: string) => new TextEncoder().encode(s)
const hex = (b: Uint8Array) => Buffer.from(b).toString("hex")

const store = new MultiStore(
  new Map([
    ["acc", new Map([[hex(enc("carol")), enc("c")]])],
    ["bank", new Map(["alice", "bob", "dave", "erin", "frank"].map((n, i) => [hex(enc(n)), enc(String(i + 1))]))]
  ]),
  9
)
const appHash = hex(store.appHash)
const key = (text: string) => {
  const k = parseStoreKey(text)
  if (k === undefined) throw new Error(`bad key ${text}`)
  return k
}

describe("store keys", () => {
  it("accepts <store>/<hex> (0x optional, any case) and the hex form, and nothing else", () => {
    const k = key(`bank/0x${hex(enc("alice")).toUpperCase()}`)
    expect(k.text).toBe(`bank/${hex(enc("alice"))}`)
    expect(key(storeKeyHex(k))).toEqual(k)
    expect(Buffer.from(storeKeyHex(k), "hex").toString("latin1")).toBe("bank/alice")
    for (const bad of ["bank", "bank/", "/61", "bank/6", "bank/zz", "ba nk/61", "", "2f61", "6261"]) expect(parseStoreKey(bad)).toBeUndefined()
  })
})

describe("store proofs", () => {
  const answer = (name: string, k: string) => {
    const a = store.query(name, enc(k))
    if (a === undefined) throw new Error("no store")
    return a
  }

  it("ProofOps round-trip through their protobuf encoding", () => {
    const ops = answer("bank", "bob").ops
    const decoded = decodeProofOps(encodeProofOps(ops))
    expect(decoded?.map((o) => [o.type, hex(o.key), hex(o.data)])).toEqual(ops.map((o) => [o.type, hex(o.key), hex(o.data)]))
    expect(decodeProofOps(Uint8Array.of(0x08, 0x01))).toBeUndefined()
  })

  it("a present and an absent key check out; a wrong value, store, key, root or op order does not", () => {
    const bob = answer("bank", "bob")
    expect(checkStoreProof(appHash, key(`bank/${hex(enc("bob"))}`), bob.value, bob.ops)).toBeUndefined()
    expect(checkStoreProof(appHash, key(`bank/${hex(enc("bob"))}`), enc("3"), bob.ops)).toMatch(/does not prove the value/)
    expect(checkStoreProof(appHash, key(`bank/${hex(enc("bob"))}`), undefined, bob.ops)).toMatch(/does not prove the absence/)
    expect(checkStoreProof(appHash, key(`acc/${hex(enc("bob"))}`), bob.value, bob.ops)).toMatch(/another store/)
    expect(checkStoreProof(appHash, key(`bank/${hex(enc("dave"))}`), bob.value, bob.ops)).toMatch(/another key/)
    expect(checkStoreProof(hex(new Uint8Array(32)), key(`bank/${hex(enc("bob"))}`), bob.value, bob.ops)).toMatch(/multistore proof/)
    expect(checkStoreProof(appHash, key(`bank/${hex(enc("bob"))}`), bob.value, [...bob.ops].reverse())).toMatch(/not ics23:iavl/)
    expect(checkStoreProof(appHash, key(`bank/${hex(enc("bob"))}`), bob.value, bob.ops.slice(0, 1))).toMatch(/expected 2 proof ops/)

    const absent = answer("bank", "carl")
    expect(absent.value).toBeUndefined()
    expect(checkStoreProof(appHash, key(`bank/${hex(enc("carl"))}`), undefined, absent.ops)).toBeUndefined()
    expect(checkStoreProof(appHash, key(`bank/${hex(enc("carl"))}`), enc("1"), absent.ops)).toBeDefined()
    // A proof of another store's key cannot stand in, even for the same key bytes.
    const carol = answer("acc", "carol")
    expect(checkStoreProof(appHash, key(`bank/${hex(enc("carol"))}`), carol.value, carol.ops)).toBeDefined()
  })

  it("verifyStoreProof re-checks a StateProof's fields", () => {
    const dave = answer("bank", "dave")
    const k = storeKeyHex(key(`bank/${hex(enc("dave"))}`))
    const proof = hex(encodeProofOps(dave.ops))
    expect(verifyStoreProof(appHash, k, hex(enc("3")), proof)).toBe(true)
    expect(verifyStoreProof(appHash, k, hex(enc("4")), proof)).toBe(false)
    expect(verifyStoreProof(appHash, k, hex(enc("3")), "zz")).toBe(false)
    expect(verifyStoreProof(appHash, k, hex(enc("3")), proof.slice(0, -2))).toBe(false)
  })
})
