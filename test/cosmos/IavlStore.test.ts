/**
 * The in-process server's store proofs are real ICS23 proofs: @confio/ics23's own
 * verifyMembership / verifyNonMembership with its iavlSpec and tendermintSpec accept them
 * (and the Go-rule checks of src/adapters/cosmos/Ics23Verifier.ts too), for every key of stores of
 * many sizes, for absent keys left of, between and right of the present ones, and reject a
 * changed value or root.
 */
import { iavlSpec, ics23, tendermintSpec, verifyMembership, verifyNonMembership } from "@confio/ics23"
import { describe, expect, it } from "vitest"
import { calculateIcs23Root, verifyIcs23Membership, verifyIcs23NonMembership } from "../../src/adapters/cosmos/Ics23Verifier.ts"
import { IavlTree, MultiStore } from "./support/IavlStore.ts"

const hex = (b: Uint8Array): string => Buffer.from(b).toString("hex")
const enc = (s: string): Uint8Array => new TextEncoder().encode(s)

const storeOf = (n: number): Map<string, Uint8Array> =>
  new Map(Array.from({ length: n }, (_, i) => [hex(enc(`key/${String(2 * i + 1).padStart(4, "0")}`)), enc(`value-${i}`)]))

describe("IAVL-shaped store proofs", () => {
  it("every key of trees of 1..40 keys proves membership under the root, by the library and by the adapter", () => {
    for (let n = 1; n <= 40; n++) {
      const tree = new IavlTree(storeOf(n), 7)
      for (const [key, value] of tree.sorted) {
        const exist = tree.existence(key)
        const proof = ics23.CommitmentProof.encode({ exist }).finish()
        expect(verifyMembership({ exist }, iavlSpec, tree.hash, key, value)).toBe(true)
        expect(verifyIcs23Membership("iavl", hex(tree.hash), hex(proof), hex(key), hex(value))).toBe(true)
        expect(calculateIcs23Root(hex(proof))).toBe(hex(tree.hash))
        expect(verifyIcs23Membership("iavl", hex(tree.hash), hex(proof), hex(key), hex(enc("forged")))).toBe(false)
      }
    }
  })

  it("absent keys left of, between and right of the present ones prove non-membership", () => {
    for (const n of [1, 2, 3, 7, 16, 33]) {
      const tree = new IavlTree(storeOf(n), 3)
      const absent = [enc("key/0000"), enc("key/0002"), enc(`key/${String(n).padStart(4, "0")}0`), enc("key/9999"), enc("zzz")]
      for (const key of absent) {
        if (tree.get(key) !== undefined) continue
        const nonexist = tree.nonExistence(key)
        const proof = hex(ics23.CommitmentProof.encode({ nonexist }).finish())
        expect(verifyNonMembership({ nonexist }, iavlSpec, tree.hash, key)).toBe(true)
        expect(verifyIcs23NonMembership("iavl", hex(tree.hash), proof, hex(key))).toBe(true)
        const otherRoot = new IavlTree(storeOf(n + 1), 3).hash
        expect(verifyIcs23NonMembership("iavl", hex(otherRoot), proof, hex(key))).toBe(false)
      }
    }
  })

  it("the multistore proves each store root under the app hash with the Tendermint spec", () => {
    for (const names of [["bank"], ["acc", "bank"], ["acc", "bank", "kv"], ["a", "b", "c", "d", "e"]]) {
      const store = new MultiStore(new Map(names.map((name, i) => [name, storeOf(i + 2)])), 5)
      for (const name of names) {
        const exist = store.storeProof(name)
        const root = store.stores.get(name)?.hash ?? new Uint8Array(0)
        expect(verifyMembership({ exist }, tendermintSpec, store.appHash, enc(name), root)).toBe(true)
        const proof = hex(ics23.CommitmentProof.encode({ exist }).finish())
        expect(verifyIcs23Membership("tendermint", hex(store.appHash), proof, hex(enc(name)), hex(root))).toBe(true)
        expect(verifyIcs23Membership("tendermint", hex(store.appHash), proof, hex(enc(name)), hex(new Uint8Array(32)))).toBe(false)
      }
    }
  })

  it("a query answers the value with both proof ops, or the absence with a non-existence proof", () => {
    const store = new MultiStore(new Map([["acc", storeOf(3)], ["bank", storeOf(9)]]), 2)
    const present = store.query("bank", enc("key/0005"))
    expect(present?.value).toEqual(enc("value-2"))
    expect(present?.ops.map((o) => o.type)).toEqual(["ics23:iavl", "ics23:simple"])
    const absent = store.query("bank", enc("key/0004"))
    expect(absent?.value).toBeUndefined()
    const decoded = ics23.CommitmentProof.decode(absent?.ops[0]?.data ?? new Uint8Array(0))
    expect(hex(decoded.nonexist?.left?.key ?? new Uint8Array(0))).toBe(hex(enc("key/0003")))
    expect(hex(decoded.nonexist?.right?.key ?? new Uint8Array(0))).toBe(hex(enc("key/0005")))
    expect(store.appHash).toHaveLength(32)
  })
})
