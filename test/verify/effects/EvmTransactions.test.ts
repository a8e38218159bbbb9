/**
 * The transactions-trie verifier against ethereum/execution-apis transactions (CC0,
 * vectors/evm-transactions): every type's fields re-encode to the transaction's hash, a block's
 * transactions rebuild its header's transactionsRoot, and one transaction is proven from a trie
 * proof alone (causeway/verify's verifyTransactionProof, computeTransactionsRoot). A changed
 * field, a lying hash, a reordered list, a cut or foreign proof are typed failures.
 */
import { readFileSync } from "node:fs"
import path from "node:path"
import { keccak_256 } from "@noble/hashes/sha3.js"
import { bytesToHex, hexToBytes } from "@noble/hashes/utils.js"
import { describe, expect, it } from "@effect/vitest"
import { Result, Schema } from "effect"
import { hexToSignature, serializeTransaction, type TransactionSerializable } from "viem"
import { computeTransactionsRoot, verifyTransactionProof } from "causeway/verify"
import { buildTransactionsTrie, checkBlockTransactions, encodeTransaction, RpcTransaction, transactionKey, transactionsRootOfHeader } from "../../../src/domain/verify/EvmTransactions.ts"

interface Case {
  readonly name: string
  readonly hash: string
  readonly type: string
  readonly transaction: Record<string, any>
}
const file = JSON.parse(readFileSync(path.resolve(import.meta.dirname, "vectors/evm-transactions/transactions.json"), "utf8")) as {
  readonly transactions: ReadonlyArray<Case>
  readonly blocks: ReadonlyArray<{ readonly name: string; readonly hash: string; readonly headerRlp: string; readonly transactions: ReadonlyArray<Record<string, any>> }>
}
const block = file.blocks[0]!
const hex0x = (b: Uint8Array) => `0x${bytesToHex(b)}`
const decode = Schema.decodeUnknownSync(RpcTransaction)
const encoded = (tx: Record<string, any>) => {
  const r = encodeTransaction(decode(tx), 0)
  if (Result.isFailure(r)) throw new Error(r.failure._tag)
  return r.success
}

// viem's own serializer on the same fields: a second implementation of the encoding.
const viaViem = (tx: Record<string, any>): string => {
  const big = (x: string | undefined) => (x === undefined ? undefined : BigInt(x))
  const type = Number(tx.type)
  const base = { chainId: Number(tx.chainId), nonce: Number(tx.nonce), gas: big(tx.gas), to: tx.to ?? null, value: big(tx.value), data: tx.input }
  const signature = { r: tx.r, s: tx.s, ...(type === 0 ? { v: BigInt(tx.v) } : { yParity: Number(tx.yParity) }) }
  const serializable: Record<number, () => TransactionSerializable> = {
    0: () => ({ ...base, type: "legacy", gasPrice: big(tx.gasPrice) }),
    1: () => ({ ...base, type: "eip2930", gasPrice: big(tx.gasPrice), accessList: tx.accessList }),
    2: () => ({ ...base, type: "eip1559", maxFeePerGas: big(tx.maxFeePerGas), maxPriorityFeePerGas: big(tx.maxPriorityFeePerGas), accessList: tx.accessList }),
    3: () => ({ ...base, type: "eip4844", maxFeePerGas: big(tx.maxFeePerGas), maxPriorityFeePerGas: big(tx.maxPriorityFeePerGas), maxFeePerBlobGas: big(tx.maxFeePerBlobGas), accessList: tx.accessList, blobVersionedHashes: tx.blobVersionedHashes }) as TransactionSerializable,
    4: () => ({
      ...base,
      type: "eip7702",
      maxFeePerGas: big(tx.maxFeePerGas),
      maxPriorityFeePerGas: big(tx.maxPriorityFeePerGas),
      accessList: tx.accessList,
      authorizationList: tx.authorizationList.map((a: any) => ({ chainId: Number(a.chainId), address: a.address, nonce: Number(a.nonce), yParity: Number(a.yParity), r: a.r, s: a.s }))
    }) as TransactionSerializable
  }
  return serializeTransaction(serializable[type]!(), signature as ReturnType<typeof hexToSignature>)
}

describe("evm-transactions vectors", () => {
  it("covers types 0-4, a contract creation and a blob transaction", () => {
    expect([...new Set(file.transactions.map((c) => c.type))].sort()).toEqual(["0x0", "0x1", "0x2", "0x3", "0x4"])
    expect(file.transactions.some((c) => c.transaction.to === null)).toBe(true)
  })

  for (const c of file.transactions) {
    it(`${c.name}: the fields encode to the transaction's hash, as viem serializes them`, () => {
      const bytes = encoded(c.transaction)
      expect(hex0x(keccak_256(bytes))).toBe(c.hash)
      expect(hex0x(bytes)).toBe(viaViem(c.transaction))
    })
  }

  it(`${block.name}: the transactions rebuild the header's transactionsRoot (field 4); the header hashes to the block hash`, () => {
    const rlp = hexToBytes(block.headerRlp.slice(2))
    expect(hex0x(keccak_256(rlp))).toBe(block.hash)
    const root = transactionsRootOfHeader(rlp)!
    expect(computeTransactionsRoot(block.transactions)).toBe(hex0x(root))
    expect(Result.isSuccess(checkBlockTransactions(root, block.transactions))).toBe(true)
    expect(computeTransactionsRoot([])).toBe("0x56e81f171bcc55a6ff8345e692c0f86e5b48e01b996cadc001622fb5e363b421")
  })

  it("a changed field, a lying hash, a reordered list, an unknown type or a hash-only list fail with their reason", () => {
    const root = transactionsRootOfHeader(hexToBytes(block.headerRlp.slice(2)))!
    const tx = block.transactions[0]!
    // The RPC's hash left out: the fields alone decide, and one changed field misses the root.
    const { hash: _, ...unhashed } = tx
    expect(checkBlockTransactions(root, [{ ...unhashed, value: "0x2" }])).toMatchObject({ failure: { _tag: "TransactionsRootMismatch" } })
    expect(checkBlockTransactions(root, [{ ...tx, value: "0x2" }])).toMatchObject({ failure: { _tag: "TransactionHashMismatch", index: 0 } })
    const pair = file.transactions.slice(0, 2).map((c) => c.transaction)
    expect(buildTransactionsTrie([pair[0], pair[1]])).toMatchObject({ failure: { _tag: "TransactionOutOfPlace", index: 1 } })
    expect(buildTransactionsTrie([{ ...tx, type: "0x7e" }])).toMatchObject({ failure: { _tag: "UnsupportedTransactionType", type: "0x7e" } })
    expect(buildTransactionsTrie([tx.hash])).toMatchObject({ failure: { _tag: "MalformedTransactions" } })
    expect(buildTransactionsTrie([{ ...tx, maxFeePerGas: undefined }])).toMatchObject({ failure: { _tag: "MalformedTransactions", index: 0 } })
    expect(computeTransactionsRoot("nope")).toMatchObject({ _tag: "Failure", failure: { _tag: "MalformedTransactions" } })
  })
})

describe("verifyTransactionProof: one transaction from a trie proof", () => {
  // Every vector transaction in one trie, each at its position (their own indexes set aside).
  const txs = file.transactions.map((c, i) => ({ ...c.transaction, transactionIndex: `0x${i.toString(16)}` }))
  const built = (() => {
    const r = buildTransactionsTrie(txs)
    if (Result.isFailure(r)) throw new Error(r.failure._tag)
    return r.success
  })()
  const root = hex0x(built.root)
  const proofOf = (i: number) => built.trie.prove(transactionKey(i)).map(hex0x)

  it("proves each transaction and computes its hash, against the root and against a header", () => {
    file.transactions.forEach((c, i) => {
      expect(verifyTransactionProof({ transactionsRoot: root, transactionIndex: i, proof: proofOf(i) })).toMatchObject({
        success: { transactionHash: c.hash, transactionIndex: i, transactionsRoot: root, transaction: hex0x(built.encodings[i]!) }
      })
    })
    const single = block.transactions[0]!
    const proof = buildTransactionsTrie(block.transactions)
    if (Result.isFailure(proof)) throw new Error("vector block")
    expect(verifyTransactionProof({ header: { hash: block.hash, rlp: block.headerRlp }, transactionIndex: 0, proof: proof.success.trie.prove(transactionKey(0)).map(hex0x) })).toMatchObject({
      success: { blockHash: block.hash, transactionHash: single.hash }
    })
  })

  it("fails for another index, a cut or altered proof, a foreign root, a lying header, a different transaction", () => {
    expect(verifyTransactionProof({ transactionsRoot: root, transactionIndex: 8, proof: proofOf(0) })).toMatchObject({ failure: { _tag: "TransactionProofRejected" } })
    expect(verifyTransactionProof({ transactionsRoot: root, transactionIndex: 1, proof: proofOf(1).slice(0, 1) })).toMatchObject({ failure: { _tag: "TransactionProofRejected", cause: { _tag: "ProofTruncated" } } })
    const altered = proofOf(2)
    altered[altered.length - 1] = `${altered.at(-1)!.slice(0, -2)}00`
    expect(verifyTransactionProof({ transactionsRoot: root, transactionIndex: 2, proof: altered })).toMatchObject({ failure: { _tag: "TransactionProofRejected" } })
    expect(verifyTransactionProof({ transactionsRoot: `0x${"11".repeat(32)}`, transactionIndex: 0, proof: proofOf(0) })).toMatchObject({ failure: { _tag: "TransactionProofRejected" } })
    expect(verifyTransactionProof({ header: { hash: `0x${"00".repeat(32)}`, rlp: block.headerRlp }, transactionIndex: 0, proof: proofOf(0) })).toMatchObject({ failure: { _tag: "TransactionHeaderMismatch" } })
    expect(verifyTransactionProof({ header: { hash: block.hash, rlp: block.headerRlp }, transactionsRoot: root, transactionIndex: 0, proof: proofOf(0) })).toMatchObject({ failure: { _tag: "TransactionHeaderMismatch" } })
    expect(verifyTransactionProof({ transactionsRoot: root, transactionIndex: 0, proof: proofOf(0), transaction: hex0x(built.encodings[1]!) })).toMatchObject({ failure: { _tag: "TransactionNotProven" } })
    expect(verifyTransactionProof({ transactionIndex: 0, proof: proofOf(0) })).toMatchObject({ failure: { _tag: "MalformedTransactionEvidence" } })
    expect(verifyTransactionProof({ transactionsRoot: root, transactionIndex: -1, proof: [] })).toMatchObject({ failure: { _tag: "MalformedTransactionEvidence" } })
    expect(verifyTransactionProof(null as never)).toMatchObject({ failure: { _tag: "MalformedTransactionEvidence" } })
  })
})
