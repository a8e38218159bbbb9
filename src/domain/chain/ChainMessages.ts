/**
 * Payloads of the messages the chain observers author (verified headers, finality,
 * reorgs). The chain-observer projection folds them; src/domain/MessageTypes.ts registers
 * every schema here by its key. Only the instance's own messages of these types are trusted
 * (anyone can submit any type; the projection checks the sender).
 *
 * Observed state values are not here: they travel as LightClientProof messages
 * (MessageTypes.ts), checked against a header one of these messages announced.
 */
import { Schema } from "effect"
import { Blob, Name, NonNegativeInt, TokenName, UnixMillis } from "../Primitives.ts"

/** A block hash: lowercase hex, 1 to 64 bytes (EVM and CometBFT hashes are 32). */
export const ChainHash = Schema.String.check(Schema.isPattern(/^(?:[0-9a-f]{2}){1,64}$/u)).pipe(Schema.brand("Hex"))

/** A hash or root that may be empty (a CometBFT genesis parent, an empty app hash): 0 to 64 bytes. */
export const ChainRoot = Schema.String.check(Schema.isPattern(/^(?:[0-9a-f]{2}){0,64}$/u)).pipe(Schema.brand("Hex"))

/** The families of chains causeway observes. */
export const ChainKind = Schema.Literals(["evm", "cosmos"])

/** A header the instance verified and linked to the chain it followed. */
export const ChainHeadVerified = Schema.Struct({
  chain: Name,
  kind: ChainKind,
  height: NonNegativeInt,
  hash: ChainHash,
  parentHash: ChainRoot,
  /** The root state proofs are checked against (EVM stateRoot, CometBFT app hash). */
  stateRoot: ChainRoot,
  time: UnixMillis
})
export type ChainHeadVerified = typeof ChainHeadVerified.Type

/** A height and the hash of the header there. */
export const ChainPoint = Schema.Struct({ height: NonNegativeInt, hash: ChainHash })
export type ChainPoint = typeof ChainPoint.Type

/**
 * The chain the instance followed was replaced above `forkHeight`: every header, and every
 * fact proven against a header, above the fork point is void. The new branch's headers
 * follow as ChainHeadVerified messages from forkHeight + 1.
 */
export const ChainReorged = Schema.Struct({
  chain: Name,
  /** The highest height both branches share, and its hash. */
  forkHeight: NonNegativeInt,
  forkHash: ChainHash,
  /** The head of the branch that was dropped. */
  oldHead: ChainPoint,
  /** The head of the branch that replaced it, when the reorg was seen. */
  newHead: ChainPoint
})
export type ChainReorged = typeof ChainReorged.Type

/** A header became final (finality tag, a confirmation depth, or a light client's commit). Heights only grow. */
export const ChainFinalized = Schema.Struct({
  chain: Name,
  height: NonNegativeInt,
  hash: ChainHash
})
export type ChainFinalized = typeof ChainFinalized.Type

/** A header became safe (EVM `safe` tag: justified, unlikely to reorg). Heights only grow. */
export const ChainSafe = Schema.Struct({
  chain: Name,
  height: NonNegativeInt,
  hash: ChainHash
})
export type ChainSafe = typeof ChainSafe.Type

/** One side of a misbehaviour: a header's hash and the header in the chain's own encoding (CometBFT: its RPC JSON), UTF-8 as hex. */
export const ConflictingHeader = Schema.Struct({
  hash: ChainHash,
  header: Blob
})

/**
 * A witness exposed a conflicting header that verifies: two valid headers for one height of
 * a chain (a light-client attack on whoever follows the primary, or validators signing a
 * fork). The observer halts after it. The commits are not carried (a message is at most
 * 64 KiB); each header hashes to its `hash`.
 */
export const ChainMisbehaviourDetected = Schema.Struct({
  chain: Name,
  /** The first height at which the two chains differ. */
  height: NonNegativeInt,
  /** The last height both agree on, and its hash. */
  commonHeight: NonNegativeInt,
  commonHash: ChainRoot,
  primary: ConflictingHeader,
  witness: ConflictingHeader
})
export type ChainMisbehaviourDetected = typeof ChainMisbehaviourDetected.Type

/** A chain state key in its proven form (as LightClientProof carries it): hex, 1 to 1,024 bytes. */
export const WatchedKey = Schema.String.check(Schema.isPattern(/^(?:[0-9a-f]{2}){1,1024}$/u)).pipe(Schema.brand("Hex"))

/**
 * The instance started watching a key of a chain: from now on it publishes a
 * LightClientProof at every new head where the key's value changed. A restarted or
 * replayed instance knows its watches from these messages. `owner`: the name of the API token
 * that asked for it (absent in logs written before owners were recorded), counted against
 * that token's bound on watches.
 */
export const ChainWatchAdded = Schema.Struct({ chain: Name, key: WatchedKey, owner: Schema.optionalKey(TokenName) })
export type ChainWatchAdded = typeof ChainWatchAdded.Type

/** The instance stopped watching a key of a chain. */
export const ChainWatchRemoved = Schema.Struct({ chain: Name, key: WatchedKey })
export type ChainWatchRemoved = typeof ChainWatchRemoved.Type

/** Chain-observer payload schemas, by message type. */
export const ChainPayloads = {
  ChainHeadVerified,
  ChainReorged,
  ChainFinalized,
  ChainSafe,
  ChainMisbehaviourDetected,
  ChainWatchAdded,
  ChainWatchRemoved
} as const
