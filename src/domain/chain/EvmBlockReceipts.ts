/**
 * A block's receipts as evidence: the header (an eth_getBlockByHash result) must hash to the
 * block hash asked for, and the receipts (an eth_getBlockReceipts result) must rebuild the
 * receipts root that header holds. What the EVM observer checks before any receipt counts,
 * written once as a pure function so the adapter and the benchmarks run the same check.
 */
import { keccak_256 } from "@noble/hashes/sha3.js"
import { bytesToHex } from "@noble/hashes/utils.js"
import { Data, Result } from "effect"
import { type BlockReceiptsError, buildReceiptsTrie, type ReceiptsTrie, ReceiptsRootMismatch } from "../verify/EvmReceipts.ts"
import { decodeRpcBlockHeader, evmHeaderRlp, type MalformedEvmHeader } from "./EvmHeader.ts"

/** The header's fields hash to another block than the one asked for. */
export class BlockHashMismatch extends Data.TaggedError("BlockHashMismatch")<{
  readonly asked: string
  readonly computed: string
}> {}

/** A block's header and receipts, checked. */
export interface CheckedBlockReceipts {
  readonly height: number
  /** Lowercase hex without 0x. */
  readonly hash: string
  readonly headerRlp: Uint8Array
  readonly receipts: ReceiptsTrie
}

/** Why a block's receipts were not accepted. */
export type BlockReceiptsCheckError = MalformedEvmHeader | BlockHashMismatch | BlockReceiptsError

/** Check a header and its receipts against the block hash `hash` (0x-less lowercase hex). */
export const checkBlockReceipts = (hash: string, header: unknown, receipts: unknown): Result.Result<CheckedBlockReceipts, BlockReceiptsCheckError> => {
  const decoded = decodeRpcBlockHeader(header)
  if (Result.isFailure(decoded)) return Result.fail(decoded.failure)
  const headerRlp = evmHeaderRlp(decoded.success)
  const computed = bytesToHex(keccak_256(headerRlp))
  if (computed !== hash) return Result.fail(new BlockHashMismatch({ asked: hash, computed }))
  const built = buildReceiptsTrie(receipts)
  if (Result.isFailure(built)) return Result.fail(built.failure)
  const root = bytesToHex(built.success.root)
  const expected = decoded.success.receiptsRoot.slice(2).toLowerCase()
  if (root !== expected) return Result.fail(new ReceiptsRootMismatch({ expected: `0x${expected}`, computed: `0x${root}` }))
  return Result.succeed({ height: Number(BigInt(decoded.success.number)), hash, headerRlp, receipts: built.success })
}
