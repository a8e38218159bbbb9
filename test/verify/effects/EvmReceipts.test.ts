/**
 * The receipts-trie verifier against test/vectors/evm-receipts (ethereum/execution-apis hive
 * chains, CC0): every root recomputes from the eth_getBlockReceipts results, every mutation
 * fails with the reason it is, and one log's inclusion is proven from a trie proof alone.
 */
import { readFileSync } from "node:fs"
import path from "node:path"
import { keccak_256 } from "@noble/hashes/sha3.js"
import { describe, expect, it } from "@effect/vitest"
import { Result } from "effect"
import { computeReceiptsRoot, verifyBlockReceipts, verifyReceiptLog } from "causeway/verify"
import { buildReceiptsTrie, decodeConsensusReceipt, receiptLogEvidence } from "../../../src/domain/verify/EvmReceipts.ts"
import { MerklePatriciaTrie } from "../../../src/domain/verify/MerklePatriciaTrie.ts"
import { decodeRlp, encodeRlp, scalarToBytes } from "../../../src/domain/verify/Rlp.ts"

interface Block {
  readonly name: string
  readonly hash: string | null
  readonly receiptsRoot: string
  readonly headerRlp: string | null
  readonly types?: ReadonlyArray<string>
  readonly receipts: ReadonlyArray<Record<string, unknown>>
  readonly derivedEncodings?: ReadonlyArray<string>
}
interface RawBlock {
  readonly name: string
  readonly receiptsRoot: string
  readonly rawReceipts: ReadonlyArray<string>
}
interface Negative {
  readonly name: string
  readonly receiptsRoot: string
  readonly receipts: ReadonlyArray<Record<string, unknown>>
}
const file = JSON.parse(readFileSync(path.resolve(import.meta.dirname, "../../vectors/evm-receipts/receipts.json"), "utf8")) as {
  readonly blocks: ReadonlyArray<Block>
  readonly rawBlocks: ReadonlyArray<RawBlock>
  readonly derivedBlocks: ReadonlyArray<Block>
  readonly negative: ReadonlyArray<Negative>
}

const bytes = (hex: string): Uint8Array => Uint8Array.from(Buffer.from(hex.replace(/^0x/u, ""), "hex"))
const hex0x = (b: Uint8Array): string => `0x${Buffer.from(b).toString("hex")}`

// What each mutation must fail with: the meaning of the change, not just "some failure".
const expectedTag: Record<string, string> = {
  "flip-log-data-byte": "ReceiptsRootMismatch",
  "drop-receipt": "ReceiptOutOfPlace",
  "wrong-type-byte": "ReceiptsRootMismatch",
  "reorder-receipts": "ReceiptOutOfPlace",
  "swap-receipt-bodies": "ReceiptsRootMismatch",
  "status-flip": "ReceiptsRootMismatch",
  "cumulative-gas-plus-one": "ReceiptsRootMismatch",
  "bloom-bit-flip": "ReceiptsRootMismatch",
  "drop-log-topic": "ReceiptsRootMismatch",
  "root-replaced-by-status": "ReceiptsRootMismatch",
  "extra-receipt": "ReceiptsRootMismatch",
  "receipts-of-another-block": "ReceiptsRootMismatch",
  "empty-against-nonempty-root": "ReceiptsRootMismatch"
}

describe("evm-receipts vectors", () => {
  it("has 6 blocks, 2 raw blocks, 1 derived block and 13 negatives, covering types 0-4", () => {
    expect([file.blocks.length, file.rawBlocks.length, file.derivedBlocks.length, file.negative.length]).toEqual([6, 2, 1, 13])
    const types = new Set(file.blocks.flatMap((b) => b.receipts.map((r) => r.type)))
    expect([...types].sort()).toEqual(["0x0", "0x1", "0x2", "0x3", "0x4"])
  })

  for (const block of [...file.blocks, ...file.derivedBlocks]) {
    it(`${block.name}: the root recomputes and the receipts verify`, () => {
      expect(computeReceiptsRoot(block.receipts)).toBe(block.receiptsRoot)
      const verified = verifyBlockReceipts({ receiptsRoot: block.receiptsRoot, receipts: block.receipts })
      expect(Result.isSuccess(verified) && verified.success.transactionCount).toBe(block.receipts.length)
    })
  }

  for (const block of file.blocks.filter((b) => b.derivedEncodings !== undefined)) {
    it(`${block.name}: each receipt encodes as the chain does`, () => {
      const built = buildReceiptsTrie(block.receipts)
      if (Result.isFailure(built)) throw new Error(built.failure._tag)
      expect(built.success.encodings.map(hex0x)).toEqual(block.derivedEncodings)
    })
  }

  for (const block of file.blocks.filter((b) => b.headerRlp !== null)) {
    it(`${block.name}: the root is the header's field 5, and the header hashes to the block hash`, () => {
      const header = decodeRlp(bytes(block.headerRlp as string))
      if (Result.isFailure(header) || header.success instanceof Uint8Array) throw new Error("header is not a list")
      expect(hex0x(header.success[5] as Uint8Array)).toBe(block.receiptsRoot)
      expect(hex0x(keccak_256(bytes(block.headerRlp as string)))).toBe(block.hash)
    })
  }

  for (const raw of file.rawBlocks) {
    it(`${raw.name}: the consensus encodings build the root, and decode`, () => {
      let trie = MerklePatriciaTrie.empty
      raw.rawReceipts.forEach((r, i) => {
        trie = trie.set(encodeRlp(scalarToBytes(BigInt(i))), bytes(r))
        expect(Result.isSuccess(decodeConsensusReceipt(bytes(r)))).toBe(true)
      })
      expect(hex0x(trie.rootHash())).toBe(raw.receiptsRoot)
    })
  }

  for (const negative of file.negative) {
    it(`negative ${negative.name}: fails with ${expectedTag[negative.name]}`, () => {
      const verified = verifyBlockReceipts({ receiptsRoot: negative.receiptsRoot, receipts: negative.receipts })
      expect(Result.isFailure(verified) && verified.failure._tag).toBe(expectedTag[negative.name])
    })
  }

  it("malformed input is a typed failure, never a throw", () => {
    const block = file.blocks[2] as Block
    const cases: ReadonlyArray<[unknown, string]> = [
      [null, "MalformedReceipts"],
      [[{ ...block.receipts[0], logsBloom: "0x00" }], "MalformedReceipts"],
      [[{ ...block.receipts[0], status: "0x2" }], "MalformedReceipts"],
      [[{ ...block.receipts[0], type: "0x7e" }], "UnsupportedReceiptType"],
      [[{ ...block.receipts[0], root: `0x${"00".repeat(32)}` }], "MalformedReceipts"]
    ]
    for (const [receipts, tag] of cases) {
      const root = computeReceiptsRoot(receipts)
      expect(typeof root === "string" ? root : root.failure._tag).toBe(tag)
      const verified = verifyBlockReceipts({ receiptsRoot: block.receiptsRoot, receipts })
      expect(Result.isFailure(verified) && verified.failure._tag).toBe(tag)
    }
    const badRoot = verifyBlockReceipts({ receiptsRoot: "0x1234", receipts: block.receipts })
    expect(Result.isFailure(badRoot) && badRoot.failure._tag).toBe("MalformedReceipts")
  })
})

describe("verifyReceiptLog: one log from a trie proof", () => {
  const block = file.blocks.find((b) => b.name === "hive-2026-block-54-legacy-logs") as Block
  const built = buildReceiptsTrie(block.receipts)
  if (Result.isFailure(built)) throw new Error(built.failure._tag)
  const txIndex = block.receipts.findIndex((r) => (r.logs as ReadonlyArray<unknown>).length > 1)
  const evidence = receiptLogEvidence(built.success, txIndex, 1)
  if (evidence === undefined) throw new Error("no evidence")
  const rpcLog = (block.receipts[txIndex]?.logs as ReadonlyArray<{ address: string; topics: ReadonlyArray<string>; data: string }>)[1]

  it("proves the log against the root, and against the header (binding the block hash)", () => {
    const byRoot = verifyReceiptLog({ ...evidence, receiptsRoot: block.receiptsRoot })
    if (Result.isFailure(byRoot)) throw new Error(byRoot.failure._tag)
    expect(byRoot.success.log).toEqual({ address: rpcLog?.address, topics: rpcLog?.topics, data: rpcLog?.data })
    expect(byRoot.success.outcome).toBe("success")
    // Without the receipt, the value the proof proves is the receipt.
    const { receipt: _receipt, ...proofOnly } = evidence
    const fromProof = verifyReceiptLog({ ...proofOnly, receiptsRoot: block.receiptsRoot })
    expect(Result.isSuccess(fromProof) && fromProof.success.log).toEqual(byRoot.success.log)
    const byHeader = verifyReceiptLog({ ...evidence, header: { hash: block.hash as string, rlp: block.headerRlp as string } })
    expect(Result.isSuccess(byHeader) && byHeader.success.blockHash).toBe(block.hash)
  })

  it("fails for an altered receipt, another index, a cut proof, a foreign root, a lying header, a missing log", () => {
    const tag = (r: ReturnType<typeof verifyReceiptLog>) => (Result.isFailure(r) ? r.failure._tag : "Success")
    const given = evidence.receipt as string
    const flipped = `${given.slice(0, -2)}${given.endsWith("00") ? "01" : "00"}`
    expect(tag(verifyReceiptLog({ ...evidence, receiptsRoot: block.receiptsRoot, receipt: flipped }))).toBe("ReceiptNotProven")
    expect(tag(verifyReceiptLog({ ...evidence, receiptsRoot: block.receiptsRoot, transactionIndex: txIndex === 0 ? 1 : 0 }))).toMatch(/ReceiptNotProven|ReceiptProofRejected/u)
    expect(tag(verifyReceiptLog({ ...evidence, receiptsRoot: block.receiptsRoot, proof: evidence.proof.slice(0, 1) }))).toBe("ReceiptProofRejected")
    expect(tag(verifyReceiptLog({ ...evidence, receiptsRoot: file.blocks[2]?.receiptsRoot as string }))).toBe("ReceiptProofRejected")
    expect(tag(verifyReceiptLog({ ...evidence, header: { hash: file.blocks[2]?.hash as string, rlp: block.headerRlp as string } }))).toBe("HeaderMismatch")
    expect(tag(verifyReceiptLog({ ...evidence, receiptsRoot: file.blocks[2]?.receiptsRoot as string, header: { hash: block.hash as string, rlp: block.headerRlp as string } }))).toBe("HeaderMismatch")
    expect(tag(verifyReceiptLog({ ...evidence, receiptsRoot: block.receiptsRoot, logIndex: 99 }))).toBe("LogNotInReceipt")
    expect(tag(verifyReceiptLog({ ...evidence, receiptsRoot: block.receiptsRoot, proof: ["zz"] }))).toBe("MalformedLogEvidence")
    expect(tag(verifyReceiptLog(null as never))).toBe("MalformedLogEvidence")
  })
})
