/**
 * The EffectsObserved messages of one checked block: what the effect tracker publishes. Pure,
 * so it runs wherever the block was checked (the tracker, or a worker thread next to the
 * chain's RPC adapter).
 */
import { bytesToHex } from "@noble/hashes/utils.js"
import type { CheckedBlockReceipts } from "../chain/EvmBlockReceipts.ts"
import type { PayloadInput } from "../MessageTypes.ts"
import { receiptKey } from "../verify/EvmReceipts.ts"
import { transactionKey } from "../verify/EvmTransactions.ts"
import { matchesEvmFilter } from "./EffectFold.ts"
import { MAX_NODES_PER_MESSAGE, MAX_RECEIPTS_PER_MESSAGE } from "./EffectMessages.ts"
import type { EffectWatch } from "./EffectShapes.ts"

// Raw evidence bytes per message, leaving room for the header, the envelope and hex doubling under 64 KiB.
const EVIDENCE_BUDGET = 28_000

const hex = (bytes: Uint8Array): string => bytesToHex(bytes)

/** An EffectsObserved payload as published. */
export type Observed = PayloadInput<"EffectsObserved">
type ObservedReceipt = Observed["receipts"][number]

/** A block's messages, and the receipts whose evidence alone exceeds a message (not published). */
export interface BlockObservations {
  readonly height: number
  readonly messages: ReadonlyArray<Observed>
  readonly oversized: ReadonlyArray<number>
  /** Why the block's transactions were not accepted, when it came with some: no transaction proofs then. */
  readonly transactionsRejected?: string
}

/**
 * Could a log of these receipts (an eth_getBlockReceipts answer, not yet checked) match a
 * watch that asks for transaction hashes? Decides whether the block's transactions are
 * fetched: only blocks with such a match need them. A wrong answer costs a fetch or the
 * transaction proofs, never a check.
 */
export const receiptsMayMatch = (receipts: unknown, allWatches: ReadonlyArray<EffectWatch>): boolean => {
  const watches = allWatches.filter((w) => w.kind === "evm-log" && w.transactionHashes === true)
  if (watches.length === 0 || !Array.isArray(receipts)) return false
  for (const r of receipts) {
    const logs: unknown = typeof r === "object" && r !== null ? (r as { logs?: unknown }).logs : undefined
    if (!Array.isArray(logs)) continue
    for (const l of logs) {
      const { address, topics } = (typeof l === "object" && l !== null ? l : {}) as { address?: unknown; topics?: unknown }
      if (typeof address !== "string" || !Array.isArray(topics) || !topics.every((t) => typeof t === "string")) continue
      const log = { address: address.toLowerCase(), topics: topics.map((t: string) => t.toLowerCase()), data: "" }
      if (watches.some((w) => w.kind === "evm-log" && matchesEvmFilter(w.filter, log))) return true
    }
  }
  return false
}

/**
 * The EffectsObserved messages of one block: the receipts with logs matching a watch, with
 * their proofs (and their transactions' proofs when the block's transactions were checked),
 * split so each message stays under the budget. Always at least one message (the last closes
 * the block, with no receipts when nothing matched). A transaction proof that would not fit
 * in a message with its receipt's is left out: that receipt's effects get no transaction hash.
 */
export const observationsOf = (
  chain: string,
  block: CheckedBlockReceipts,
  watches: ReadonlyArray<EffectWatch>
): BlockObservations => {
  const headerRlp = hex(block.headerRlp)
  const messages: Array<Observed> = []
  const oversized: Array<number> = []
  const { receipts, trie } = block.receipts
  // The message being filled: its node table (each node once) and receipts.
  let nodes: Array<string> = []
  let index = new Map<string, number>()
  let batch: Array<ObservedReceipt> = []
  let used = 0
  const flush = (last: boolean) => {
    messages.push({ chain, height: block.height, hash: block.hash, headerRlp, nodes, receipts: batch, last })
    nodes = []
    index = new Map()
    batch = []
    used = 0
  }
  for (let i = 0; i < receipts.length; i++) {
    const logs: Array<number> = []
    const rpcLogs = (receipts[i] as (typeof receipts)[number]).logs
    for (let j = 0; j < rpcLogs.length; j++) {
      const l = rpcLogs[j] as (typeof rpcLogs)[number]
      // Hex may come in either case; the data is not matched on.
      const log = { address: l.address.toLowerCase(), topics: l.topics.map((t) => t.toLowerCase()), data: "" }
      if (watches.some((w) => w.kind === "evm-log" && matchesEvmFilter(w.filter, log))) logs.push(j)
    }
    if (logs.length === 0) continue
    const proof = trie.prove(receiptKey(i)).map(hex)
    const size = proof.reduce((n, p) => n + p.length / 2, 0)
    if (size > EVIDENCE_BUDGET) {
      oversized.push(i)
      continue
    }
    const proven = block.transactions?.trie.prove(transactionKey(i)).map(hex) ?? []
    const txProof = size + proven.reduce((n, p) => n + p.length / 2, 0) > EVIDENCE_BUDGET ? [] : proven
    const paths = [...proof, ...txProof]
    const added = [...new Set(paths.filter((p) => !index.has(p)))].reduce((n, p) => n + p.length / 2, 0)
    if (batch.length > 0 && (used + added > EVIDENCE_BUDGET || batch.length >= MAX_RECEIPTS_PER_MESSAGE || nodes.length + paths.length > MAX_NODES_PER_MESSAGE)) {
      flush(false)
    }
    const positionsOf = (path: ReadonlyArray<string>) => path.map((p) => {
      let at = index.get(p)
      if (at === undefined) {
        at = nodes.length
        nodes.push(p)
        index.set(p, at)
        used += p.length / 2
      }
      return at
    })
    const positions = positionsOf(proof)
    batch.push(txProof.length === 0 ? { transactionIndex: i, proof: positions, logs } : { transactionIndex: i, proof: positions, logs, transactionProof: positionsOf(txProof) })
  }
  flush(true)
  return { height: block.height, messages, oversized, ...(block.transactionsRejected === undefined ? {} : { transactionsRejected: block.transactionsRejected }) }
}
