import { describe, expect, it } from "@effect/vitest"
import { keccak_256 } from "@noble/hashes/sha3.js"
import { Option, Result } from "effect"
import { verifyMerklePatriciaProof } from "../../../src/domain/verify/MerklePatricia.ts"
import { MerklePatriciaTrie } from "../../../src/domain/verify/MerklePatriciaTrie.ts"
import { entriesOf, hexBytes, readVector, toHex } from "./vectors.ts"

// ethereum/tests TrieTests: keys and values are ASCII unless 0x-prefixed; null deletes;
// *_secureTrie and hex_encoded_securetrie_test key the trie by keccak256(key).
const bytesOf = (s: string): Uint8Array => (s.startsWith("0x") ? hexBytes(s) : new TextEncoder().encode(s))

interface TrieCase {
  readonly ops: ReadonlyArray<readonly [string, string | null]>
  readonly root: string
}

const trieCaseOf = (value: unknown): TrieCase => {
  if (typeof value !== "object" || value === null || !("in" in value) || !("root" in value) || typeof value.root !== "string") {
    throw new Error("malformed trie test case")
  }
  const input = value.in
  const pairs: Array<[unknown, unknown]> = Array.isArray(input)
    ? input.map((pair: unknown) => {
      if (!Array.isArray(pair) || pair.length !== 2) throw new Error("malformed trie test pair")
      return [pair[0], pair[1]]
    })
    : entriesOf(input)
  const ops = pairs.map(([k, v]) => {
    if (typeof k !== "string" || (typeof v !== "string" && v !== null)) throw new Error("malformed trie test pair")
    return [k, v] as const
  })
  return { ops, root: value.root }
}

const files = [
  { file: "trietest.json", secure: false, count: 5 },
  { file: "trieanyorder.json", secure: false, count: 7 },
  { file: "trietest_secureTrie.json", secure: true, count: 3 },
  { file: "trieanyorder_secureTrie.json", secure: true, count: 7 },
  { file: "hex_encoded_securetrie_test.json", secure: true, count: 3 }
] as const

const build = (ops: TrieCase["ops"], secure: boolean) => {
  let trie = MerklePatriciaTrie.empty
  const live = new Map<string, { key: Uint8Array; value: Uint8Array }>()
  for (const [k, v] of ops) {
    const key = secure ? keccak_256(bytesOf(k)) : bytesOf(k)
    if (v === null) {
      trie = trie.delete(key)
      live.delete(toHex(key))
    } else {
      trie = trie.set(key, bytesOf(v))
      if (v.length > 0) live.set(toHex(key), { key, value: bytesOf(v) })
      else live.delete(toHex(key))
    }
  }
  return { trie, live }
}

describe("Merkle-Patricia trie: ethereum/tests TrieTests", () => {
  for (const { file, secure, count } of files) {
    describe(file, () => {
      const cases = entriesOf(readVector(`ethereum-tests/TrieTests/${file}`)).map(([name, c]) => [name, trieCaseOf(c)] as const)

      it("has every upstream case", () => {
        expect(cases.length).toBe(count)
      })

      for (const [name, c] of cases) {
        it(`${name}: root`, () => {
          const { trie } = build(c.ops, secure)
          expect(toHex(trie.rootHash())).toBe(c.root)
        })

        if (file.includes("anyorder")) {
          it(`${name}: root in reverse insertion order`, () => {
            const { trie } = build([...c.ops].reverse(), secure)
            expect(toHex(trie.rootHash())).toBe(c.root)
          })
        }

        it(`${name}: every live key and a few absent ones prove against the root`, () => {
          const { trie, live } = build(c.ops, secure)
          const root = hexBytes(c.root)
          for (const { key, value } of live.values()) {
            const proven = verifyMerklePatriciaProof(root, key, trie.prove(key))
            expect(Result.isSuccess(proven) && Option.getOrUndefined(proven.success)).toEqual(value)
          }
          for (const [k] of c.ops) {
            const raw = bytesOf(k)
            for (const probe of [Uint8Array.of(...raw, 0x78), raw.subarray(0, -1), Uint8Array.of(...raw, 0)]) {
              const key = secure ? keccak_256(probe) : probe
              if (live.has(toHex(key))) continue
              const proven = verifyMerklePatriciaProof(root, key, trie.prove(key))
              expect(Result.isSuccess(proven) && Option.isNone(proven.success)).toBe(true)
            }
          }
        })
      }
    })
  }

  it("the empty trie has the empty root and proves every key absent with no nodes", () => {
    const trie = MerklePatriciaTrie.empty
    expect(toHex(trie.rootHash())).toBe("0x56e81f171bcc55a6ff8345e692c0f86e5b48e01b996cadc001622fb5e363b421")
    expect(trie.prove(Uint8Array.of(1))).toEqual([])
    const proven = verifyMerklePatriciaProof(trie.rootHash(), Uint8Array.of(1), [])
    expect(Result.isSuccess(proven) && Option.isNone(proven.success)).toBe(true)
  })
})
