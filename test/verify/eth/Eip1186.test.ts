import { describe, expect, it } from "@effect/vitest"
import { keccak_256 } from "@noble/hashes/sha3.js"
import { Effect, Result } from "effect"
import fc from "fast-check"
import { type Eip1186Error, verifyEip1186Proof } from "../../../src/domain/verify/Eip1186.ts"
import { MerklePatriciaTrie } from "../../../src/domain/verify/MerklePatriciaTrie.ts"
import { encodeRlp, scalarToBytes } from "../../../src/domain/verify/Rlp.ts"
import { hexBytes, readVector, readVectorText, toHex } from "./vectors.ts"

interface Expected {
  readonly valid: boolean
  readonly accountExists?: boolean
  readonly storage?: ReadonlyArray<{ readonly key: string; readonly value: string; readonly exists: boolean }>
}
interface Case {
  readonly name: string
  readonly stateRoot: string
  readonly proof: unknown
  readonly expected: Expected
}

// The collector's file is trusted for shape only; every assertion below is about our verifier.
const file = readVector("cases.json") as { readonly cases: ReadonlyArray<Case>; readonly derived_negative_cases: ReadonlyArray<Case> }
const allCases = [...file.cases, ...file.derived_negative_cases]

const word = (hex: string): string => `0x${hex.slice(2).padStart(64, "0").toLowerCase()}`

// What each derived negative must fail with: the meaning of the mutation, not just "some failure".
const expectedFailure: Record<string, { tag: Eip1186Error["_tag"]; cause?: string }> = {
  "derived/wrong-balance": { tag: "AccountFieldMismatch" },
  "derived/wrong-storage-value": { tag: "StorageValueMismatch" },
  "derived/wrong-state-root": { tag: "AccountProofRejected", cause: "ProofNodeHashMismatch" },
  "derived/truncated-account-proof": { tag: "AccountProofRejected", cause: "ProofTruncated" },
  "derived/nonzero-value-for-absent-slot": { tag: "StorageValueMismatch" }
}

describe("EIP-1186: eth-getproof/cases.json", () => {
  it("has all 12 cases (7 upstream, 5 derived negatives)", () => {
    expect([file.cases.length, file.derived_negative_cases.length]).toEqual([7, 5])
  })

  for (const c of allCases) {
    it(c.name, () => {
      const verified = verifyEip1186Proof(c.stateRoot, c.proof)
      if (c.expected.valid) {
        if (Result.isFailure(verified)) throw new Error(`rejected: ${JSON.stringify(verified.failure)}`)
        expect(verified.success.accountExists).toBe(c.expected.accountExists)
        expect(verified.success.storage).toEqual(
          (c.expected.storage ?? []).map((s) => ({ key: word(s.key), value: BigInt(s.value), exists: s.exists }))
        )
      } else {
        expect(Result.isFailure(verified)).toBe(true)
        if (Result.isFailure(verified)) {
          const want = expectedFailure[c.name]
          expect(want).toBeDefined()
          expect(verified.failure._tag).toBe(want?.tag)
          if (want?.cause !== undefined) {
            expect(verified.failure._tag === "AccountProofRejected" && verified.failure.cause?._tag).toBe(want.cause)
          }
        }
      }
    })
  }
})

// The same upstream data read straight from the upstream files, so a slip in the collector's
// assembly cannot hide a verifier bug (or the reverse).
const ioResult = (name: string): unknown => {
  const line = readVectorText(`execution-apis/${name}`).split("\n").find((l) => l.startsWith("<< "))
  if (line === undefined) throw new Error(`no response in ${name}`)
  return (JSON.parse(line.slice(3)) as { result: unknown }).result
}

describe("EIP-1186: upstream files", () => {
  const block = ioResult("eth_getBlockByNumber-get-latest.io") as { stateRoot: string; number: string }
  for (const name of ["get-account-proof-blockhash.io", "get-account-proof-default-block.io", "get-account-proof-latest.io", "get-account-proof-with-storage.io"]) {
    it(`execution-apis ${name} against block ${block.number}`, () => {
      const verified = verifyEip1186Proof(block.stateRoot, ioResult(name))
      expect(Result.isSuccess(verified) && verified.success.accountExists).toBe(true)
    })
  }

  const ropsten = (name: string) => readVector(`ethereumjs/ropsten_${name}.json`) as { accountProof: ReadonlyArray<string> }
  const ropstenRoot = (proof: { accountProof: ReadonlyArray<string> }) => toHex(keccak_256(hexBytes(proof.accountProof[0] ?? "")))
  it("ethereumjs ropsten_validAccount", () => {
    const proof = ropsten("validAccount")
    const verified = verifyEip1186Proof(ropstenRoot(proof), proof)
    expect(Result.isSuccess(verified) && verified.success.balance).toBe(0x8cc8f68890288a3bf6n)
  })
  it("ethereumjs ropsten_nonexistentAccount", () => {
    const proof = ropsten("nonexistentAccount")
    const verified = verifyEip1186Proof(ropstenRoot(proof), proof)
    expect(Result.isSuccess(verified) && verified.success.accountExists).toBe(false)
  })
  it("ethereumjs ropsten_contractWithStorage", () => {
    const proof = ropsten("contractWithStorage")
    const verified = verifyEip1186Proof(ropstenRoot(proof), proof)
    expect(Result.isSuccess(verified) && verified.success.storage.map((s) => [s.value, s.exists])).toEqual([[0x1e4ebdd7n, true], [0n, false]])
  })
})

// A small synthetic state: accounts in a secure state trie, each with its own storage trie.
interface SyntheticAccount {
  readonly address: Uint8Array
  readonly nonce: bigint
  readonly balance: bigint
  readonly code: Uint8Array
  readonly slots: ReadonlyArray<readonly [bigint, bigint]>
}

const quantity = (n: bigint) => `0x${n.toString(16)}`

const syntheticState = (accounts: ReadonlyArray<SyntheticAccount>) => {
  let state = MerklePatriciaTrie.empty
  const storageTries = new Map<string, MerklePatriciaTrie>()
  for (const a of accounts) {
    let storage = MerklePatriciaTrie.empty
    for (const [slot, value] of a.slots) {
      const key = keccak_256(hexBytes(quantity(slot).slice(2).padStart(64, "0")))
      storage = value === 0n ? storage.delete(key) : storage.set(key, encodeRlp(scalarToBytes(value)))
    }
    storageTries.set(toHex(a.address), storage)
    const leaf = encodeRlp([scalarToBytes(a.nonce), scalarToBytes(a.balance), storage.rootHash(), keccak_256(a.code)])
    state = state.set(keccak_256(a.address), leaf)
  }
  const getProof = (a: SyntheticAccount, slots: ReadonlyArray<bigint>, present: boolean) => {
    const storage = storageTries.get(toHex(a.address)) ?? MerklePatriciaTrie.empty
    const valueOf = (slot: bigint) => (present ? a.slots.findLast(([s]) => s === slot)?.[1] ?? 0n : 0n)
    return {
      address: toHex(a.address),
      accountProof: state.prove(keccak_256(a.address)).map(toHex),
      balance: quantity(present ? a.balance : 0n),
      codeHash: toHex(keccak_256(present ? a.code : new Uint8Array())),
      nonce: quantity(present ? a.nonce : 0n),
      storageHash: toHex(present ? storage.rootHash() : MerklePatriciaTrie.empty.rootHash()),
      storageProof: slots.map((slot) => ({
        key: quantity(slot),
        value: quantity(valueOf(slot)),
        proof: storage.prove(keccak_256(hexBytes(quantity(slot).slice(2).padStart(64, "0")))).map(toHex)
      }))
    }
  }
  return { root: toHex(state.rootHash()), getProof }
}

const arbitraryAccount = fc.record({
  address: fc.uint8Array({ minLength: 20, maxLength: 20 }),
  nonce: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
  balance: fc.bigInt({ min: 0n, max: (1n << 256n) - 1n }),
  code: fc.uint8Array({ maxLength: 40 }),
  slots: fc.array(fc.tuple(fc.bigInt({ min: 0n, max: 300n }), fc.bigInt({ min: 0n, max: (1n << 256n) - 1n })), { maxLength: 12 })
})

describe("EIP-1186: synthetic states", () => {
  it("present and absent accounts and slots verify to exactly what the state holds", () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(arbitraryAccount, { minLength: 2, maxLength: 12, selector: (a) => toHex(a.address) }),
        fc.array(fc.bigInt({ min: 0n, max: 320n }), { maxLength: 6 }),
        (accounts, probes) => {
          const [missing, ...stored] = accounts
          if (missing === undefined) return
          const { root, getProof } = syntheticState(stored)
          for (const a of stored) {
            const slots = [...a.slots.map(([s]) => s), ...probes]
            const verified = verifyEip1186Proof(root, getProof(a, slots, true))
            if (Result.isFailure(verified)) throw new Error(`rejected: ${JSON.stringify(verified.failure)}`)
            expect(verified.success.accountExists).toBe(true)
            expect(verified.success.balance).toBe(a.balance)
            for (const s of verified.success.storage) {
              const want = a.slots.findLast(([slot]) => word(quantity(slot)) === s.key)?.[1] ?? 0n
              expect([s.value, s.exists]).toEqual([want, want !== 0n])
            }
          }
          const absent = verifyEip1186Proof(root, getProof(missing, probes, false))
          expect(Result.isSuccess(absent) && absent.success.accountExists).toBe(false)
        }
      ),
      { numRuns: 60 }
    )
  })

  it("any changed claim is rejected", () => {
    fc.assert(
      fc.property(arbitraryAccount, arbitraryAccount, fc.nat(), (a, b, pick) => {
        const { root, getProof } = syntheticState([a, b])
        const good = getProof(a, a.slots.map(([s]) => s), true)
        const tampered: Array<typeof good> = [
          { ...good, nonce: quantity(a.nonce + 1n) },
          { ...good, balance: quantity(a.balance ^ 1n) },
          { ...good, codeHash: toHex(keccak_256(Uint8Array.of(...a.code, 1))) },
          { ...good, storageHash: toHex(keccak_256(Uint8Array.of(1))) },
          { ...good, address: toHex(b.address) }
        ]
        if (good.storageProof.length > 0) {
          const i = pick % good.storageProof.length
          const slot = good.storageProof[i]
          if (slot !== undefined) {
            const storageProof = good.storageProof.slice()
            storageProof[i] = { ...slot, value: quantity(BigInt(slot.value) + 1n) }
            tampered.push({ ...good, storageProof })
          }
        }
        expect(Result.isSuccess(verifyEip1186Proof(root, good))).toBe(true)
        for (const t of tampered) expect(Result.isFailure(verifyEip1186Proof(root, t))).toBe(true)
      }),
      { numRuns: 60 }
    )
  })

  it("an absent account may be claimed with all-zero hashes, never with a balance", () => {
    const a: SyntheticAccount = { address: new Uint8Array(20).fill(1), nonce: 1n, balance: 5n, code: new Uint8Array(), slots: [] }
    const missing: SyntheticAccount = { ...a, address: new Uint8Array(20).fill(2) }
    const { root, getProof } = syntheticState([a])
    const zero = `0x${"0".repeat(64)}`
    const claim = { ...getProof(missing, [7n], false), codeHash: zero, storageHash: zero }
    const verified = verifyEip1186Proof(root, claim)
    expect(Result.isSuccess(verified) && verified.success.storage).toEqual([{ key: word("0x7"), value: 0n, exists: false }])
    const rich = verifyEip1186Proof(root, { ...claim, balance: "0x1" })
    expect(Result.isFailure(rich) && rich.failure._tag).toBe("AccountFieldMismatch")
  })

  it("an empty storage trie proves absence with no nodes or with the empty node", () => {
    const a: SyntheticAccount = { address: new Uint8Array(20).fill(3), nonce: 0n, balance: 1n, code: new Uint8Array(), slots: [] }
    const { root, getProof } = syntheticState([a])
    const claim = getProof(a, [0n, 1n], true)
    const withEmptyNode = { ...claim, storageProof: claim.storageProof.map((s) => ({ ...s, proof: ["0x80"] })) }
    for (const c of [claim, withEmptyNode]) {
      const verified = verifyEip1186Proof(root, c)
      expect(Result.isSuccess(verified) && verified.success.storage.map((s) => s.exists)).toEqual([false, false])
    }
  })

  it("malformed input is a MalformedProofInput, never a throw", () => {
    const a: SyntheticAccount = { address: new Uint8Array(20).fill(4), nonce: 0n, balance: 1n, code: new Uint8Array(), slots: [] }
    const { root, getProof } = syntheticState([a])
    const good = getProof(a, [], true)
    const bad: Array<[string, unknown]> = [
      [root, null],
      [root, { ...good, balance: 5 }],
      [root, { ...good, accountProof: ["0xabc"] }],
      [root, { ...good, address: "0x1234" }],
      [root, { ...good, storageProof: [{ key: `0x${"1".repeat(65)}`, value: "0x0", proof: [] }] }],
      ["0x1234", good]
    ]
    for (const [r, input] of bad) {
      const verified = verifyEip1186Proof(r, input)
      expect(Result.isFailure(verified) && verified.failure._tag).toBe("MalformedProofInput")
    }
  })

  it.effect("the Result lifts into Effect (Effect.fromResult) with failures catchable by tag", () =>
    Effect.gen(function*() {
      const c = allCases.find((x) => x.name === "derived/wrong-balance")
      const outcome = yield* Effect.gen(function*() {
        yield* Effect.fromResult(verifyEip1186Proof(c?.stateRoot ?? "", c?.proof))
        return "verified"
      }).pipe(Effect.catchTag("AccountFieldMismatch", (e) => Effect.succeed(`mismatch on ${e.field}`)))
      expect(outcome).toBe("mismatch on balance")
    }))
})
