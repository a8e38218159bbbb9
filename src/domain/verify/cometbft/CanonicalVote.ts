/**
 * The bytes a CometBFT validator signs for a precommit: the length-delimited protobuf
 * CanonicalVote {type=PRECOMMIT(2), height sfixed64, round sfixed64, block_id CanonicalBlockID,
 * timestamp, chain_id}. Within one commit only the timestamp differs between validators, so
 * the rest is encoded once per commit.
 */
import { toTimestamp } from "./CometBftTime.ts"
import { type Commit, encodeBlockId, isZeroBlockId } from "./LightBlock.ts"
import { concatBytes, fieldBytes, fieldMessage, fieldSfixed64, fieldVarint, varintSize, writeVarint } from "./Protobuf.ts"

const PRECOMMIT = 2
// Field 5 (timestamp), length-delimited; always written, even for the zero time.
const TIMESTAMP_TAG = 0x2a
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER)
const utf8 = new TextEncoder()

/** A function from a vote's timestamp to the sign bytes of a precommit for this commit's block on `chainId`. */
export const precommitSignBytes = (chainId: string, commit: Commit): ((timestampNanos: bigint) => Uint8Array) => {
  const head = concatBytes([
    fieldVarint(1, PRECOMMIT),
    fieldSfixed64(2, commit.height),
    fieldSfixed64(3, commit.round),
    // A nil vote's CanonicalBlockID is absent; a commit's block ID never is (the header hash is in it).
    isZeroBlockId(commit.blockId) ? new Uint8Array(0) : fieldMessage(4, encodeBlockId(commit.blockId))
  ])
  const tail = fieldBytes(6, utf8.encode(chainId))
  return (timestampNanos) => {
    const ts = toTimestamp(timestampNanos)
    // Number varints are much cheaper than bigint ones; every real timestamp fits.
    const secs = ts.seconds >= 0n && ts.seconds <= MAX_SAFE ? Number(ts.seconds) : ts.seconds
    const tsBody = (secs === 0 ? 0 : 1 + varintSize(secs)) + (ts.nanos === 0 ? 0 : 1 + varintSize(ts.nanos))
    const bodyLength = head.length + 1 + varintSize(tsBody) + tsBody + tail.length
    const out = new Uint8Array(varintSize(bodyLength) + bodyLength)
    let p = writeVarint(out, 0, bodyLength)
    out.set(head, p)
    p += head.length
    out[p++] = TIMESTAMP_TAG
    p = writeVarint(out, p, tsBody)
    if (secs !== 0) {
      out[p++] = 0x08
      p = writeVarint(out, p, secs)
    }
    if (ts.nanos !== 0) {
      out[p++] = 0x10
      p = writeVarint(out, p, ts.nanos)
    }
    out.set(tail, p)
    return out
  }
}
