/**
 * A chain observer: it follows one chain's headers through an adapter (viem for EVM
 * chains, cosmjs for CometBFT chains) and trusts no RPC endpoint: every header it reports
 * was verified (EVM: hash recomputed from the header fields and linked to its parent, with
 * finality from the node's tags or a confirmation depth; CometBFT: the light client), and
 * every state value comes with a proof checked against a verified header's state root
 * (EIP-1186 / ICS23). The facts it reports become events in the causal log (authored by the
 * instance), which the chain-observer projection folds.
 */
import { Context, Data, type Effect, type Stream } from "effect"
import type { EffectWatch } from "../domain/effects/EffectShapes.ts"
import type { BlockObservations } from "../domain/effects/Observations.ts"
import type { ReceiptsTrie } from "../domain/verify/EvmReceipts.ts"

/** The families of chains causeway observes. */
export type ChainKind = "evm" | "cosmos"

/** A header the observer verified. Hashes and roots are lowercase hex without 0x. */
export interface VerifiedHeader {
  readonly chain: string
  readonly height: number
  readonly hash: string
  readonly parentHash: string
  /** The root state proofs are checked against: EVM stateRoot, CometBFT app hash. */
  readonly stateRoot: string
  /** Block time, Unix milliseconds. */
  readonly time: number
}

/** What following a chain reports, in order. */
export type HeadEvent =
  /** A new verified head extending the chain the observer knew. */
  | { readonly _tag: "Head"; readonly header: VerifiedHeader }
  /**
   * The chain the observer knew was replaced above `forkHeight`: headers above it are void.
   * Head events of the new branch follow, from forkHeight + 1 up to `newHead`.
   */
  | {
    readonly _tag: "Reorg"
    readonly chain: string
    /** The highest height both branches share. */
    readonly forkHeight: number
    readonly forkHash: string
    /** The heads of the old and new branch when the reorg was seen. */
    readonly oldHead: VerifiedHeader
    readonly newHead: VerifiedHeader
  }
  /** A new finalized height (monotonic). */
  | { readonly _tag: "Finalized"; readonly header: VerifiedHeader }
  /**
   * A new safe height (monotonic): EVM's `safe` tag. Observers of chains with instant
   * finality never send it (their safe head is their finalized head).
   */
  | { readonly _tag: "Safe"; readonly header: VerifiedHeader }
  /**
   * Two valid headers for one height: a witness exposed a conflicting header that verifies
   * (a light-client attack, or a fork of the validators). The observer halts after it; its
   * stream then fails with a "Disagreement" ChainObserverError carrying the same evidence.
   */
  | { readonly _tag: "Misbehaviour"; readonly evidence: MisbehaviourEvidence }

/** One node's side of a misbehaviour. */
export interface ConflictingSide {
  readonly endpoint: string
  readonly header: VerifiedHeader
  /** The header in the chain's own encoding (CometBFT: its RPC JSON), UTF-8 as lowercase hex; it hashes to `header.hash`. */
  readonly encoded: string
}

/** Evidence of misbehaviour: the primary's and a witness's conflicting headers. */
export interface MisbehaviourEvidence {
  readonly chain: string
  /** The first height at which the two chains differ. */
  readonly height: number
  /** The last height both agree on, and its hash. */
  readonly commonHeight: number
  readonly commonHash: string
  readonly primary: ConflictingSide
  readonly witness: ConflictingSide
  /** Both conflicting blocks in the chain's own encoding (CometBFT: light blocks in RPC JSON), for a report to the chain. */
  readonly primaryBlock: unknown
  readonly witnessBlock: unknown
}

/**
 * Where to resume following: what an earlier run already reported (the chain-observer
 * projection keeps it), so a restart reports nothing twice and still sees a reorg that
 * happened while it was down.
 */
export interface FollowCursor {
  /** Recent headers of the chain as last reported, ascending by height; the last is the head. */
  readonly headers: ReadonlyArray<VerifiedHeader>
  /** The highest finalized height already reported, if any. */
  readonly finalizedHeight?: number
  /** The highest safe height already reported, if any. */
  readonly safeHeight?: number
}

/** A proven state value: `value` is empty hex for a proven absence. */
export interface StateProof {
  readonly chain: string
  /** The state's height (CometBFT: the state after block `height`, committed to by header height + 1). */
  readonly height: number
  /** The verified header whose root the proof was checked against (CometBFT: header height + 1). */
  readonly headerHash: string
  readonly kind: "eip1186" | "ics23"
  /** The key as the chain names it, hex (EVM: address, or address then slot; Cosmos: UTF-8 `<store>/` then the key bytes). */
  readonly key: string
  readonly value: string
  /**
   * The proof in the kind's own encoding, hex: EIP-1186 getProof JSON; for ICS23 the
   * tendermint.crypto.ProofOps the node sent (the store's and the multistore's CommitmentProofs).
   */
  readonly proof: string
}

/** The observer's view of the chain's tips. */
export interface ChainTips {
  readonly latest: VerifiedHeader
  readonly safe: VerifiedHeader
  readonly finalized: VerifiedHeader
}

/**
 * What a chain's RPC endpoint last answered as its latest block: a claim, not verified
 * (nothing links it to the verified chain yet) and not in the log (service state a replay
 * does not reproduce). How far the verified head trails it is the observer's lag.
 */
export interface RpcHeadClaim {
  /** The height the endpoint answered as its latest. */
  readonly height: number
  /** When it answered, Unix ms. */
  readonly at: number
}

/** Why an observation failed. */
export class ChainObserverError extends Data.TaggedError("ChainObserverError")<{
  readonly chain: string
  readonly reason:
    | "Unreachable" // no endpoint answered
    | "InvalidHeader" // a header did not verify (hash, link, signatures)
    | "InvalidProof" // a state proof did not verify against the verified header
    | "Disagreement" // quorum endpoints or a witness disagree (evidence in `detail`)
    | "NotFound" // no such height or key
    | "Rejected" // the chain refused a submitted transaction
    | "InvalidKey" // a state key is not of the chain's key format
  readonly detail: string
  readonly cause?: unknown
}> {}

/** One chain's observer. */
export interface ChainObserverService {
  readonly chain: string
  readonly kind: ChainKind
  /** Verified tips now. */
  readonly tips: Effect.Effect<ChainTips, ChainObserverError>
  /** Follow the chain from now: heads, reorgs and finality, each verified; never ends on its own. */
  readonly follow: Stream.Stream<HeadEvent, ChainObserverError>
  /**
   * Optional: follow from a cursor instead of from now: first the reorg (if the cursor's
   * head is no longer on the chain) and the heads the cursor has not seen, then as `follow`.
   * Observers without it are followed from now, and the caller drops what it already knows.
   */
  readonly followFrom?: (cursor: FollowCursor) => Stream.Stream<HeadEvent, ChainObserverError>
  /** A value and its proof at a height, verified against that height's verified header. */
  readonly prove: (height: number, key: string) => Effect.Effect<StateProof, ChainObserverError>
  /** Watch a key: a verified StateProof at every new head where its value changed. */
  readonly watch: (key: string) => Stream.Stream<StateProof, ChainObserverError>
  /**
   * EVM only: the receipts of the block whose hash is `hash` (0x-less hex), checked against
   * its header's receipts root (an endpoint that omits, adds or alters a receipt fails with
   * InvalidProof). Observers of other chains leave it out.
   */
  readonly blockReceipts?: (hash: string) => Effect.Effect<BlockReceipts, ChainObserverError>
  /**
   * EVM only, optional: the block's EffectsObserved messages for these watches, built from its
   * receipts checked as `blockReceipts` checks them, where the observer can do it off the
   * event loop (a worker thread).
   */
  readonly blockObservations?: (hash: string, watches: ReadonlyArray<EffectWatch>) => Effect.Effect<BlockObservations, ChainObserverError>
  /**
   * Cosmos only: the key/value pairs under `prefix` (hex) in `store` at `height`, unproven,
   * at most `limit` in key order (abci_query `/store/<store>/subspace`, as relayers list packet
   * commitments). Discovery only: every fact that moves anything is proven with `prove`.
   */
  readonly listKeys?: (height: number, store: string, prefix: string, limit: number) => Effect.Effect<ReadonlyArray<ListedKey>, ChainObserverError>
  /**
   * Cosmos only: the IBC v1 packet a channel sent with `sequence`, from its `send_packet`
   * event (tx_search), unproven (the packet commitment proven on the chain binds it), or
   * undefined when no node reports it.
   */
  readonly sentPacket?: (port: string, channel: string, sequence: string) => Effect.Effect<SentPacket | undefined, ChainObserverError>
  /**
   * Cosmos only: the IBC v2 packet a client sent with `sequence`, from its v2 `send_packet`
   * event (tx_search on `packet_source_client` and `packet_sequence`, the packet decoded from
   * `encoded_packet_hex`), unproven, or undefined when no node reports it.
   */
  readonly sentPacketV2?: (clientId: string, sequence: string) => Effect.Effect<SentPacketV2 | undefined, ChainObserverError>
  /**
   * Cosmos only: the acknowledgement this (destination) chain wrote for an IBC v1 packet, from
   * its `write_acknowledgement` event (tx_search on the destination port, channel and
   * sequence; `packet_ack_hex`, or the deprecated `packet_ack`), unproven (the fold binds it to
   * the proven ack commitment), or undefined when no node reports it.
   */
  readonly writtenAcknowledgement?: (packet: IbcPacketEnds) => Effect.Effect<WrittenAcknowledgement | undefined, ChainObserverError>
  /**
   * Cosmos only: the apps' acknowledgements this (destination) chain wrote for an IBC v2
   * packet, from its v2 `write_acknowledgement` event (tx_search on `packet_dest_client` and
   * `packet_sequence`, the acks decoded from `encoded_acknowledgement_hex`), unproven, or
   * undefined when no node reports it.
   */
  readonly writtenAcknowledgementV2?: (sourceClient: string, destinationClient: string, sequence: string) => Effect.Effect<WrittenAcknowledgementV2 | undefined, ChainObserverError>
  /** Submit a signed raw transaction (hex); its hash. */
  readonly submitTransaction: (raw: string) => Effect.Effect<string, ChainObserverError>
  /**
   * Optional: the latest block height the chain's (primary) endpoint last claimed when the
   * observer asked, undefined before any answer. Unverified; for showing the lag only.
   */
  readonly rpcHead?: Effect.Effect<RpcHeadClaim | undefined>
}

/** A key and its value as a node listed them, unproven: lowercase hex (the key without the store name). */
export interface ListedKey {
  readonly key: string
  readonly value: string
}

/** An IBC v1 packet as its send_packet event reports it (unproven). Numbers are uint64 decimal strings. */
export interface SentPacket {
  /** The height of the block that sent it. */
  readonly height: number
  /** Hex. */
  readonly data: string
  readonly timeoutHeight: { readonly revisionNumber: string; readonly revisionHeight: string }
  /** Nanoseconds since the epoch; "0" for none. */
  readonly timeoutTimestamp: string
  readonly destinationPort: string
  readonly destinationChannel: string
}

/** An IBC v1 packet's two channel ends and sequence. */
export interface IbcPacketEnds {
  readonly sourcePort: string
  readonly sourceChannel: string
  readonly destinationPort: string
  readonly destinationChannel: string
  readonly sequence: string
}

/** An acknowledgement as a write_acknowledgement event reports it (unproven). */
export interface WrittenAcknowledgement {
  /** The height of the block that wrote it. */
  readonly height: number
  /** The ack bytes, hex. */
  readonly acknowledgement: string
}

/** A v2 acknowledgement as a v2 write_acknowledgement event reports it (unproven). */
export interface WrittenAcknowledgementV2 {
  /** The height of the block that wrote it. */
  readonly height: number
  /** The apps' acks, hex, in payload order. */
  readonly appAcknowledgements: ReadonlyArray<string>
}

/** An IBC v2 packet as its send_packet event reports it (unproven). Numbers are uint64 decimal strings. */
export interface SentPacketV2 {
  /** The height of the block that sent it. */
  readonly height: number
  readonly destinationClient: string
  /** Seconds since the epoch. */
  readonly timeoutTimestamp: string
  readonly payloads: ReadonlyArray<{ readonly sourcePort: string; readonly destinationPort: string; readonly version: string; readonly encoding: string; readonly value: string }>
}

/**
 * A block's receipts, checked: the header's RLP hashes to the block hash, and the receipts
 * (`eth_getBlockReceipts`) rebuild the receipts root that header holds.
 */
export interface BlockReceipts {
  readonly chain: string
  readonly height: number
  /** Lowercase hex without 0x. */
  readonly hash: string
  readonly headerRlp: Uint8Array
  readonly receipts: ReceiptsTrie
}

/** Every configured chain's observer, by chain id. */
export class ChainObservers extends Context.Service<ChainObservers, ReadonlyMap<string, ChainObserverService>>()(
  "causeway/ChainObservers"
) {}
