/**
 * Payloads of the effect tracker's messages (docs/effects.md). What to track is decided by
 * `EffectWatchAdded` / `EffectWatchRemoved` (any member, like chain watches); what was found is
 * published by the chain's owner as `EffectsObserved`, one block at a time, with the evidence
 * that proves it: the block's header in the chain's own encoding (its keccak256 must be a
 * header the log holds as verified) and, per receipt, the receipts-trie proof of that receipt
 * (src/domain/verify/EvmReceipts.ts) and, when the observer had the block's transactions, the
 * transactions-trie proof of its transaction (src/domain/verify/EvmTransactions.ts). The effects projection re-checks every proof when it
 * folds, so nothing moves on an RPC's word, nor on the author's.
 */
import { Schema } from "effect"
import { Blob, MessageId, Name, NonNegativeInt, TokenName } from "../Primitives.ts"
import { ChainHash } from "../chain/ChainMessages.ts"

/** A 20-byte EVM address, lowercase hex without 0x. */
export const EvmAddress = Schema.String.check(Schema.isPattern(/^[0-9a-f]{40}$/u)).pipe(Schema.brand("Hex"))
/** A 32-byte log topic, lowercase hex without 0x. */
export const Topic = Schema.String.check(Schema.isPattern(/^[0-9a-f]{64}$/u)).pipe(Schema.brand("Hex"))

/**
 * Which EVM logs to track: emitted by `address` (any when absent), with `topics[i]` equal to
 * the given topic where one is given (`null`: any), as eth_getLogs filters.
 */
export const EvmLogFilter = Schema.Struct({
  address: Schema.optional(EvmAddress),
  topics: Schema.optional(Schema.Array(Schema.NullOr(Topic)).check(Schema.isMaxLength(4)))
})
export type EvmLogFilter = typeof EvmLogFilter.Type

/** Where a log carries a 32-byte value: topic 1-3, or a 32-byte word of its data. */
export const LogWord = Schema.Union([
  Schema.Struct({ topic: Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 3 })) }),
  Schema.Struct({ dataWord: Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 1023 })) })
])
export type LogWord = typeof LogWord.Type

/**
 * Where a log carries the id that ties a bridge deposit to its fill (a bridge message id, a
 * deposit id, an order id): topic 1-3, or a 32-byte word of its data. Effects of the same
 * `route` with the same id are one journey: the deposit is its source leg, each fill a target
 * leg that depends on it, each refund (the bridge giving the deposit back, unfilled) a refund
 * leg. The id is kept as an alias `{route}:{0x id}`.
 *
 * A deposit watch may name where its log carries its `deadline`: a uint256 Unix time in
 * seconds (Across's fillDeadline). A deposit with a deadline and no fill expires once every
 * chain with a fill watch of the route is scanned past a block whose header time is above it.
 */
export const Correlation = Schema.Struct({
  route: Name,
  role: Schema.Literals(["deposit", "fill", "refund"]),
  id: LogWord,
  deadline: Schema.optional(LogWord)
}).check(Schema.makeFilter((c) => c.deadline === undefined || c.role === "deposit" || "only a deposit has a deadline"))
export type Correlation = typeof Correlation.Type

/** The other end of a v1 channel: the destination chain as causeway names it, its port and channel. */
export const IbcDestination = Schema.Struct({ chain: Name, port: Name, channel: Name })
export type IbcDestination = typeof IbcDestination.Type

/** The other end of a v2 client: the destination chain as causeway names it, and its client (the one that tracks the source). */
export const IbcClientDestination = Schema.Struct({ chain: Name, clientId: Name })
export type IbcClientDestination = typeof IbcClientDestination.Type

/**
 * Which IBC packets to track: those sent on a v1 port and channel, or from a v2 client. With a
 * `destination`, packets are followed onto it (receipt, acknowledgement, timeout); without,
 * only their commitment on the source is tracked.
 */
export const IbcPacketFilter = Schema.Union([
  Schema.Struct({ port: Name, channel: Name, destination: Schema.optional(IbcDestination) }),
  Schema.Struct({ clientId: Name, destination: Schema.optional(IbcClientDestination) })
])
export type IbcPacketFilter = typeof IbcPacketFilter.Type

/** An EVM log watch. */
export const EvmLogWatch = Schema.Struct({
  chain: Name,
  kind: Schema.Literal("evm-log"),
  filter: EvmLogFilter,
  /**
   * The first block scanned for it (default: the latest verified block when it is added).
   * Blocks below the chain's scan position are back-filled for it, going down by parent hash.
   */
  fromHeight: Schema.optional(NonNegativeInt),
  /** How its logs take part in a journey (a bridge deposit and its fill): see Correlation. */
  correlate: Schema.optional(Correlation),
  /**
   * Prove each matched log's transaction hash (an alias of its effect): a block with a match is
   * fetched with its transactions, which must rebuild its transactionsRoot. Off by default: it
   * costs about half again the CPU of the receipts check per block with a match (docs/effects.md).
   */
  transactionHashes: Schema.optional(Schema.Boolean)
})
/** An IBC packet watch. */
export const IbcPacketWatch = Schema.Struct({ chain: Name, kind: Schema.Literal("ibc-packet"), filter: IbcPacketFilter })
/**
 * Who asked for a watch: the name of the API token (absent in logs written before owners were
 * recorded), counted against that token's bound on watches.
 */
export const WatchOwner = { owner: Schema.optionalKey(TokenName) }
/**
 * Start tracking effects of a chain (an EVM log watch, or an IBC packet watch), with its owner.
 * The watch's id is this message's id.
 */
export const EffectWatchAdded = Schema.Union([
  Schema.Struct({ ...EvmLogWatch.fields, ...WatchOwner }),
  Schema.Struct({ ...IbcPacketWatch.fields, ...WatchOwner })
])
export type EffectWatchAdded = typeof EffectWatchAdded.Type

/** Stop a watch (named by its EffectWatchAdded message id). Effects already tracked stay. */
export const EffectWatchRemoved = Schema.Struct({ watch: MessageId })
export type EffectWatchRemoved = typeof EffectWatchRemoved.Type

/** Most receipts one EffectsObserved message carries (a block's matches may span several messages). */
export const MAX_RECEIPTS_PER_MESSAGE = 256
/** Most distinct trie nodes one EffectsObserved message carries. */
export const MAX_NODES_PER_MESSAGE = 1024

/**
 * One receipt of the block with the positions of its logs that matched a watch, and its trie
 * proof: the hashed nodes on the path to RLP(transactionIndex), root first, as indexes into the
 * message's `nodes`. The receipt is the value the proof proves (its EIP-2718 encoding).
 * Optionally, the transaction's proof in the transactions trie, under the same key, in the same
 * node table: the value it proves is the transaction's encoding, whose keccak256 is its hash.
 */
export const ObservedReceipt = Schema.Struct({
  transactionIndex: NonNegativeInt,
  proof: Schema.Array(NonNegativeInt).check(Schema.isMinLength(1), Schema.isMaxLength(16)),
  /** Positions in the receipt's logs (not the block-wide logIndex), ascending. */
  logs: Schema.Array(NonNegativeInt).check(Schema.isMinLength(1), Schema.isMaxLength(1024)),
  /** The transaction's trie proof against the header's transactionsRoot: proves the transaction hash every effect of this receipt is aliased by. */
  transactionProof: Schema.optional(Schema.Array(NonNegativeInt).check(Schema.isMinLength(1), Schema.isMaxLength(16)))
})
export type ObservedReceipt = typeof ObservedReceipt.Type

/**
 * EVM logs found in one verified block, with the evidence: the header's RLP (whose keccak256 is
 * `hash`) holds the receipts root every receipt proof is checked against; `nodes` are the trie
 * nodes the receipts' proofs run through, each once (the root and the branches near it are
 * shared by every proof). `last` is true on the block's final message: the block has been
 * scanned for every watch of the chain, and a restarted tracker resumes after it. Every scanned
 * block of a watched chain is published, with no receipts when nothing matched, so the log
 * says how far each chain was scanned.
 *
 * With `backfill` (a watch's id), the block is one of that watch's back-fill, below the scan
 * position: it must be the block the watch's back-fill cursor expects (its hash, proven by
 * the parent hash of the block above), its logs are matched against that watch only, and its
 * last message moves the cursor down to its parent.
 */
export const EffectsObserved = Schema.Struct({
  chain: Name,
  height: NonNegativeInt,
  hash: ChainHash,
  headerRlp: Blob,
  nodes: Schema.Array(Blob).check(Schema.isMaxLength(MAX_NODES_PER_MESSAGE)),
  receipts: Schema.Array(ObservedReceipt).check(Schema.isMaxLength(MAX_RECEIPTS_PER_MESSAGE)),
  last: Schema.Boolean,
  backfill: Schema.optional(MessageId)
})
export type EffectsObserved = typeof EffectsObserved.Type

/** A uint64 as a decimal string. */
export const Uint64String = Schema.String.check(Schema.isPattern(/^(?:0|[1-9][0-9]{0,19})$/u))

/**
 * Which fact about a packet a proof shows: its commitment present on the source, its receipt
 * or its acknowledgement (commitment) present on the destination, its commitment deleted on
 * the source, or its receipt absent on the destination.
 */
export const IbcLeg = Schema.Literals(["commitment", "receipt", "acknowledgement", "commitment-deleted", "receipt-absent"])
export type IbcLeg = typeof IbcLeg.Type

/** An IBC v1 packet: its source chain (as causeway names it), port, channel and sequence. */
export const IbcPacketRef = Schema.Struct({ chain: Name, port: Name, channel: Name, sequence: Uint64String })
export type IbcPacketRef = typeof IbcPacketRef.Type

/** A v1 packet's committed fields, as its send_packet event gives them. */
export const IbcSentPacket = Schema.Struct({
  data: Blob,
  timeoutHeight: Schema.Struct({ revisionNumber: Uint64String, revisionHeight: Uint64String }),
  timeoutTimestamp: Uint64String
})
export type IbcSentPacket = typeof IbcSentPacket.Type

/** Most hex characters of acknowledgement bytes one evidence message carries (32 KiB of bytes; v2: all apps' acks together). */
export const MAX_ACK_HEX = 65_536

/** Acknowledgement bytes as a destination's write_acknowledgement event reports them, hex. */
export const IbcAckBytes = Blob.check(Schema.isMaxLength(MAX_ACK_HEX))

/**
 * One leg of an IBC v1 packet's journey, proven (published by the owner of `chain`): the
 * value of `key` in the `ibc` store of `chain` after block `height` (empty for an absence),
 * with the ICS23 proof (`proof`: the tendermint.crypto.ProofOps hex, as StateProof carries
 * it) against the app hash of the verified header at `height + 1`, whose hash is
 * `headerHash`. The tracker had the observer check the proof before publishing; the effects
 * projection checks it again (src/domain/verify/CosmosStoreProof.ts) against the app hash of
 * the verified header it holds, and that the key is the leg's ICS-24 path, that the value is
 * the leg's, and (commitment leg) that `sent` hashes to it.
 */
export const IbcPacketEvidence = Schema.Struct({
  packet: IbcPacketRef,
  /** Where the packet goes: given with the commitment leg, checked against the later legs. */
  destination: Schema.optional(IbcDestination),
  leg: IbcLeg,
  chain: Name,
  height: NonNegativeInt,
  headerHash: ChainHash,
  /** The StateProof key: hex of UTF-8 `ibc/` then the ICS-24 path. */
  key: Blob,
  value: Blob,
  proof: Blob,
  /** Commitment leg: the packet's fields; they must hash to the proven commitment. */
  sent: Schema.optional(IbcSentPacket),
  /**
   * Commitment leg: the packet this one forwards (packet-forward middleware: the middle chain
   * sends it on receiving that one, and acknowledges that one only after this one). That
   * packet then depends on this one: it is settled only once this one is settled or refunded.
   */
  forwards: Schema.optional(IbcPacketRef),
  /**
   * Acknowledgement leg: the ack bytes (from the destination's write_acknowledgement event).
   * They tell the execution's result (ok or error) only if their sha256 is the proven ack
   * commitment; otherwise the leg still counts and the result is unknown.
   */
  acknowledgement: Schema.optional(IbcAckBytes)
})
export type IbcPacketEvidence = typeof IbcPacketEvidence.Type

/** An IBC v2 packet: its source chain (as causeway names it), source client and sequence. */
export const IbcPacketRefV2 = Schema.Struct({ chain: Name, clientId: Name, sequence: Uint64String })
export type IbcPacketRefV2 = typeof IbcPacketRefV2.Type

/** One payload of a v2 packet (`value` hex). */
export const IbcPayloadV2 = Schema.Struct({ sourcePort: Schema.String, destinationPort: Schema.String, version: Schema.String, encoding: Schema.String, value: Blob })

/** A v2 packet's committed fields other than its destination client (which the destination gives): timeout in seconds, payloads. */
export const IbcSentPacketV2 = Schema.Struct({
  timeoutTimestamp: Uint64String,
  payloads: Schema.Array(IbcPayloadV2).check(Schema.isMinLength(1), Schema.isMaxLength(16))
})
export type IbcSentPacketV2 = typeof IbcSentPacketV2.Type

/**
 * One leg of an IBC v2 packet's journey, proven, as IbcPacketEvidence is for v1: the key is
 * hex of UTF-8 `ibc/` then the binary 24-host/v2 key (`clientId || 0x01|0x02|0x03 ||
 * be8(sequence)`: the source client's commitment, the destination client's receipt and
 * acknowledgement), the value the v2 commitment (32 bytes), the receipt (0x02), the v2
 * acknowledgement commitment (32 bytes), or empty for an absence.
 */
export const IbcPacketEvidenceV2 = Schema.Struct({
  packet: IbcPacketRefV2,
  /** Where the packet goes: given with the commitment leg, checked against the later legs. */
  destination: Schema.optional(IbcClientDestination),
  leg: IbcLeg,
  chain: Name,
  height: NonNegativeInt,
  headerHash: ChainHash,
  key: Blob,
  value: Blob,
  proof: Blob,
  /** Commitment leg: the packet's fields; with the destination's client they must hash to the proven commitment. */
  sent: Schema.optional(IbcSentPacketV2),
  /**
   * Acknowledgement leg: the apps' acks (the v2 write_acknowledgement event's
   * `encoded_acknowledgement_hex`, decoded). They tell the result only if their v2 ack
   * commitment is the proven value; otherwise the leg counts and the result is unknown.
   */
  appAcknowledgements: Schema.optional(
    Schema.Array(IbcAckBytes).check(
      Schema.isMinLength(1),
      Schema.isMaxLength(16),
      Schema.makeFilter((acks) => acks.reduce((n, a) => n + a.length, 0) <= MAX_ACK_HEX || `more than ${MAX_ACK_HEX} hex characters of acks`)
    )
  )
})
export type IbcPacketEvidenceV2 = typeof IbcPacketEvidenceV2.Type

/** Effect tracker payload schemas, by message type. */
export const EffectPayloads = {
  EffectWatchAdded,
  EffectWatchRemoved,
  EffectsObserved,
  IbcPacketEvidence,
  IbcPacketEvidenceV2
} as const
