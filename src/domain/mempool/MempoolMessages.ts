/**
 * Payloads of the mempool's messages (orders, commitments, reveals, time-locked orders,
 * sealed batches, the instance's decisions, intents, auction bids). The mempool projection
 * folds them; src/domain/MessageTypes.ts registers every schema here by its key.
 *
 * Senders author orders, commitments, reveals, time-locked orders and cancellations. The
 * instance authors the decisions (BatchSealed, CommitmentExpired, OrderExpired,
 * BatchDecrypted, OrdersMatched, OrderFilled): anyone may submit those types, so the
 * projection heeds them only when the record's sender is the instance key.
 * An order's expiry and nonce are its envelope's (`expiry`, `nonce`), never in the payload.
 */
import { Schema } from "effect"
import { DecimalAmount, Hex, MessageId, Name, NonNegativeInt, PositiveInt, UnixMillis } from "../Primitives.ts"
import { OperatorPayloads } from "./OperatorMessages.ts"

const Side = Schema.Literals(["buy", "sell"])

/** Exactly 32 bytes as lowercase hex (a SHA-256, a salt). */
export const Bytes32 = Schema.String.check(Schema.isPattern(/^[0-9a-f]{64}$/)).pipe(Schema.brand("Hex"))
export type Bytes32 = typeof Bytes32.Type

/** Most ids one decision event names (keeps it far below the 64 KiB message cap). */
export const MAX_IDS_PER_EVENT = 512

const Ids = Schema.Array(MessageId).check(Schema.isMinLength(1), Schema.isMaxLength(MAX_IDS_PER_EVENT))

/** A signed user order: what a plain order carries, and what a reveal or a decryption discloses. */
export const UserOrder = Schema.Struct({
  chain: Name,
  market: Name,
  side: Side,
  amountIn: DecimalAmount,
  minAmountOut: DecimalAmount,
  limitPrice: DecimalAmount,
  /** Orders (by id) that must execute together with this one. */
  bundle: Schema.optionalKey(Schema.Array(MessageId).check(Schema.isMaxLength(16)))
})
export type UserOrder = typeof UserOrder.Type

/** Cancels an earlier order (plain, committed or time-locked) of the same sender. */
export const UserOrderCancellation = Schema.Struct({
  orderId: MessageId
})

/**
 * Commit-reveal, step 1: fixes the order's position without disclosing it. `commitment` is
 * SHA-256(orderBytes ‖ salt) (src/domain/mempool/OrderBytes.ts). Chain and market are not
 * carried: they are what a sandwich needs most.
 */
export const OrderCommitment = Schema.Struct({
  commitment: Bytes32
})

/**
 * Commit-reveal, step 2: discloses the order and salt. Valid only from the commitment's
 * sender, after the commitment's batch is sealed (the envelope must name that BatchSealed
 * among its deps) and before the commitment expires.
 */
export const OrderReveal = Schema.Struct({
  commitmentId: MessageId,
  order: UserOrder,
  salt: Bytes32
})

/** Largest ciphertext a time-locked order may carry (armored text). */
export const MAX_CIPHERTEXT = 8192

/** A drand-tlock ciphertext (tlock-js's armored age format) of the order bytes, locked to `round`. */
export const TlockLock = Schema.Struct({
  scheme: Schema.Literal("tlock"),
  round: PositiveInt,
  ciphertext: Schema.String.check(Schema.isMinLength(1), Schema.isMaxLength(MAX_CIPHERTEXT))
})

/** Time-lock encryption: the order's bytes, decryptable only once a future beacon round is out. */
export const TimelockedOrder = TlockLock

/** The instance closes the open batch: every entry appended before this record and after the previous seal. */
export const BatchSealed = Schema.Struct({
  batch: NonNegativeInt,
  /** The instance's clock at sealing (Unix ms): ages and reveal windows count from it. */
  sealedAt: UnixMillis,
  /** The beacon's latest round at sealing: time-locked orders of this batch locked to it or earlier are refused. */
  beaconRound: Schema.NullOr(NonNegativeInt)
})

/** The instance records that these sealed commitments were not revealed within the reveal window. */
export const CommitmentExpired = Schema.Struct({
  commitmentIds: Ids,
  at: UnixMillis
})

/** The instance records that these orders reached their envelope's expiry unfilled. */
export const OrderExpired = Schema.Struct({
  orderIds: Ids,
  at: UnixMillis
})

/** One decrypted order, or why it does not open to an order. */
export const DecryptedOrder = Schema.Union([
  Schema.Struct({ orderId: MessageId, order: UserOrder }),
  Schema.Struct({ orderId: MessageId, failure: Schema.String.check(Schema.isMaxLength(256)) })
])
export type DecryptedOrder = typeof DecryptedOrder.Type

/**
 * The instance publishes the plaintexts of a sealed batch's orders locked to `round`, with
 * the round's beacon signature, so replay never runs a pairing and anyone can re-check the
 * decryption offline. A batch's orders may come in several of these (size cap, and
 * earliest-deadline-first scheduling: docs/mempool.md).
 */
export const BatchDecrypted = Schema.Struct({
  batch: NonNegativeInt,
  scheme: Schema.Literal("tlock"),
  round: PositiveInt,
  signature: Hex,
  results: Schema.Array(DecryptedOrder).check(Schema.isMinLength(1), Schema.isMaxLength(MAX_IDS_PER_EVENT))
})

/** The instance records that these revealed orders were matched, in this processing order. */
export const OrdersMatched = Schema.Struct({
  orderIds: Ids
})

/** The instance records that a matched order was filled on its chain. */
export const OrderFilled = Schema.Struct({
  orderId: MessageId,
  txHash: Hex
})

/** Mempool payload schemas, by message type. */
export const MempoolPayloads = {
  UserOrder,
  UserOrderCancellation,
  OrderCommitment,
  OrderReveal,
  TimelockedOrder,
  BatchSealed,
  CommitmentExpired,
  OrderExpired,
  BatchDecrypted,
  OrdersMatched,
  OrderFilled,
  ...OperatorPayloads
} as const
