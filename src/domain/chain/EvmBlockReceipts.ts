/**
 * A block's receipts as evidence: the header (an eth_getBlockByHash result) must hash to the
 * block hash asked for, and the receipts (an eth_getBlockReceipts result) must rebuild the
 * receipts root that header holds. What the EVM observer checks before any receipt counts,
 * written once as a pure function so the adapter and the benchmarks run the same check. When
 * the block comes with its transactions (eth_getBlockByHash(hash, true)), they are checked
 * against the header's transactionsRoot too; transactions that fail cost only their proofs
 * (no transaction hash is proven for the block), not the receipts.
 */
import { keccak_256 } from "@noble/hashes/sha3.js"
import { bytesToHex, hexToBytes } from "@noble/hashes/utils.js"
import { Data, Result } from "effect"
import { type BlockReceiptsError, buildReceiptsTrie, type ReceiptsTrie, ReceiptsRootMismatch } from "../verify/EvmReceipts.ts"
import { checkBlockTransactions, type TransactionsTrie } from "../verify/EvmTransactions.ts"
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
  /** The block's transactions, rebuilt into its transactionsRoot, when the block came with them. */
  readonly transactions?: TransactionsTrie
  /** Why the transactions the block came with were not accepted (their tag and reason). */
  readonly transactionsRejected?: string
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
  const checked = { height: Number(BigInt(decoded.success.number)), hash, headerRlp, receipts: built.success }
  // A block asked for with its transactions lists them as objects; one asked for without, as hashes.
  const transactions = typeof header === "object" && header !== null && "transactions" in header ? header.transactions : undefined
  if (!Array.isArray(transactions) || transactions.some((t) => typeof t !== "object")) return Result.succeed(checked)
  const txs = checkBlockTransactions(hexToBytes(decoded.success.transactionsRoot.slice(2)), transactions)
  if (Result.isSuccess(txs)) return Result.succeed({ ...checked, transactions: txs.success })
  const f = txs.failure
  return Result.succeed({ ...checked, transactionsRejected: `${f._tag}${"reason" in f ? `: ${f.reason}` : ""}${"index" in f && f.index !== undefined ? ` (transaction ${f.index})` : ""}` })
}
