/**
 * Back-fill of an EVM log watch below the chain's scan position (docs/effects.md, "Back-fill").
 * A watch added with a first block at or below the scan position gets a cursor (EffectFold's
 * onWatchAdded): the next block to observe for it, going down, and that block's hash. The
 * hash is proven without the retained headers: the first is the scan position's (a verified
 * header), and each next one is the parentHash of a block whose header hashed to the cursor's
 * hash. So a back-fill reaches below the RETAINED_HEADERS window, one proven block at a time.
 */
import { keccak_256 } from "@noble/hashes/sha3.js"
import { bytesToHex, hexToBytes } from "@noble/hashes/utils.js"
import { HashMap, Option } from "effect"
import { parentHashOfHeader } from "../chain/EvmHeader.ts"
import { receiptsRootOfHeader } from "../verify/EvmReceipts.ts"
import { type EffectsState, foldBlockLogs, type RecordMeta, trackOfChain, withBackfill } from "./EffectFold.ts"
import type { EffectsObserved } from "./EffectMessages.ts"

/**
 * A block of a watch's back-fill (`p.backfill`: the watch). Ignored unless the watch is an
 * active EVM log watch of the chain with a cursor at `p.height`, and the header hashes to the
 * cursor's hash. Its receipts are checked as the forward scan's are, and its logs matched
 * against that watch only: a log already tracked (the forward scan or another watch had it)
 * gains the watch, never a second effect. The block's last message moves the cursor to its
 * parent; below the watch's first block, the cursor is dropped.
 */
export const onBackfillObserved = (state: EffectsState, p: EffectsObserved, meta: RecordMeta): EffectsState => {
  const ignore = (): EffectsState => ({ ...state, ignored: state.ignored + 1 })
  if (p.backfill === undefined) return ignore()
  const cursor = Option.getOrUndefined(HashMap.get(state.backfills, p.backfill))
  const watch = Option.getOrUndefined(HashMap.get(state.watches, p.backfill))
  if (cursor === undefined || watch === undefined || watch.kind !== "evm-log" || cursor.chain !== p.chain) return ignore()
  if (p.height !== cursor.next || p.hash !== cursor.hash) return ignore()
  const headerRlp = hexToBytes(p.headerRlp)
  if (bytesToHex(keccak_256(headerRlp)) !== p.hash) return ignore()
  const root = receiptsRootOfHeader(headerRlp)
  const parent = parentHashOfHeader(headerRlp)
  if (root === undefined || parent === undefined) return ignore()
  const track = trackOfChain(state, p.chain)
  if (track === undefined) return ignore()
  const folded = foldBlockLogs(state, track, p, meta, root, [watch], true)
  return p.last ? withBackfill(folded, { ...cursor, next: p.height - 1, hash: parent }) : folded
}
