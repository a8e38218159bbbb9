/**
 * Payloads of the mempool's messages (orders, commitments, reveals, time-locked orders,
 * sealed batches, the instance's decisions, intents, auction bids). The mempool projection
 * folds them; src/domain/MessageTypes.ts registers every schema here by its key.
 *
 * Senders author orders, commitments, reveals, time-locked orders and cancellations. The
 * instance authors the decisions (BatchSealed, CommitmentExpired, OrderExpired,
 * BatchDecrypted, RswModulusVerified, OrdersMatched, OrderFilled): anyone may submit those types, so the
 * projection heeds them only when the record's sender is the instance key.
 * An order's expiry and nonce are its envelope's (`expiry`, `nonce`), never in the payload.
 */
import { Schema } from "effect"
import { DecimalAmount, Hex, MessageId, Name, NonNegativeInt, PositiveAmount, PositiveInt, UnixMillis } from "../Primitives.ts"
import { OperatorPayloads } from "../operators/OperatorMessages.ts"
import { SettlementPayloads } from "../settlement/SettlementMessages.ts"

const Side = Schema.Literals(["buy", "sell"])

/** Exactly 32 bytes as lowercase hex (a SHA-256, a salt). */
export const Bytes32 = Schema.String.check(Schema.isPattern(/^[0-9a-f]{64}$/u)).pipe(Schema.brand("Hex"))
export type Bytes32 = typeof Bytes32.Type

/** Most ids one decision event names (keeps it far below the 64 KiB message cap). */
export const MAX_IDS_PER_EVENT = 512

const Ids = Schema.Array(MessageId).check(Schema.isMinLength(1), Schema.isMaxLength(MAX_IDS_PER_EVENT))

/**
 * A signed user order: what a plain order carries, and what a reveal or a decryption
 * discloses. Conventions (README, "Mempool tour"): `chain` a CAIP-2 chain id (`eip155:1`,
 * `cosmos:cosmoshub-4`); `market` the pair as `BASE/QUOTE`; `side` `buy` (spend QUOTE for
 * BASE) or `sell` (spend BASE for QUOTE); `amountIn` what the order spends, in the spent
 * asset's integer base units, above zero; `minAmountOut` the least it accepts in return for
 * all of `amountIn`, in the received asset's base units (0: no minimum; settlement holds
 * fills to it pro rata); `limitPrice` the worst price as base units received per 10^18 base
 * units spent (fixed point, 18 decimals), above zero — a hint to solvers, who must still meet
 * `minAmountOut`.
 */
export const UserOrder = Schema.Struct({
  chain: Name,
  market: Name,
  side: Side,
  amountIn: PositiveAmount,
  minAmountOut: DecimalAmount,
  limitPrice: PositiveAmount,
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

/** A number as canonical lowercase hex (no leading zero), at most 4,096 bits: RSW moduli, group elements. */
export const HexNumber = Schema.String.check(Schema.isPattern(/^[1-9a-f][0-9a-f]{0,1023}$/u))

/** Largest RSW ciphertext, in bytes (an order is ~250; the AEAD adds 16). */
export const MAX_RSW_CIPHERTEXT = 4096

/**
 * An RSW time-lock puzzle (src/domain/timelock/Rsw.ts) sealing the order bytes: it opens after
 * `t` sequential squarings modulo N, the sender's own registered modulus (`modulusId`).
 */
export const RswLock = Schema.Struct({
  scheme: Schema.Literal("rsw"),
  /** The sender's RswModulusRegistration whose N the puzzle is over. */
  modulusId: MessageId,
  /** Squarings; the projection holds it to the deployment's range. */
  t: PositiveInt,
  /** x is hashed from (N, t, seed): the creator does not choose it. */
  seed: Bytes32,
  /** ChaCha20-Poly1305 of the order bytes under sha256(|x^(2^t)|), hex. */
  ciphertext: Schema.String.check(Schema.isPattern(/^(?:[0-9a-f]{2})+$/u), Schema.isMinLength(34), Schema.isMaxLength(2 * MAX_RSW_CIPHERTEXT))
})

/**
 * Time-lock encryption: the order's bytes, decryptable only once a future beacon round is out
 * (`tlock`) or after a known number of sequential squarings (`rsw`).
 */
export const TimelockedOrder = Schema.Union([TlockLock, RswLock])

/**
 * A sender's RSW modulus N with its proof of being a product of two distinct primes ≡ 3 mod 4
 * (the Paillier–Blum modulus proof, `proveModulus`): registered once, before its puzzles. Only
 * its owner can open its puzzles early, and the owner already knows the orders.
 */
export const RswModulusRegistration = Schema.Struct({
  n: HexNumber,
  /** The proof's w (Jacobi symbol −1). */
  w: HexNumber,
  /** Per challenge, one digit 2·a + b. */
  ab: Schema.String.check(Schema.isPattern(/^[0-3]{1,128}$/u)),
  /** The fourth roots x_i, then the N-th roots z_i, each big-endian in N's byte length, concatenated, padded base64. */
  roots: Schema.String.check(Schema.isMaxLength(60_000), Schema.isPattern(/^[A-Za-z0-9+/]*={0,2}$/u))
})

/**
 * The instance's verdict on a registration's modulus proof, checked off the event loop (a
 * worker thread, ~1 s at 2,048 bits): the projection registers the modulus only once this
 * names it with `ok`, and charges the sender when it says the proof fails. The registration
 * and its proof stay in the log, so anyone can re-run `verifyModulus` on them offline.
 */
export const RswModulusVerified = Schema.Struct({
  registrationId: MessageId,
  ok: Schema.Boolean,
  /** Why the proof fails (with `ok: false`). */
  reason: Schema.optionalKey(Schema.String.check(Schema.isMaxLength(256)))
})

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
export const TlockDecrypted = Schema.Struct({
  batch: NonNegativeInt,
  scheme: Schema.Literal("tlock"),
  round: PositiveInt,
  signature: Hex,
  results: Schema.Array(DecryptedOrder).check(Schema.isMinLength(1), Schema.isMaxLength(MAX_IDS_PER_EVENT))
})

/** Most solutions one RswDecrypted carries (each ~1.1 KB at 2,048 bits; the message cap is 64 KiB). */
export const MAX_RSW_PER_EVENT = 32

/** One solved puzzle: y = x^(2^t) (up to sign) and its Wesolowski proof. */
export const RswSolved = Schema.Struct({
  orderId: MessageId,
  y: HexNumber,
  proof: HexNumber
})

/**
 * The instance publishes the solutions of a sealed batch's RSW puzzles. The projection checks
 * each proof (milliseconds) and opens the ciphertext itself, so replay never re-solves and a
 * forged solution changes nothing.
 */
export const RswDecrypted = Schema.Struct({
  batch: NonNegativeInt,
  scheme: Schema.Literal("rsw"),
  results: Schema.Array(RswSolved).check(Schema.isMinLength(1), Schema.isMaxLength(MAX_RSW_PER_EVENT))
})

/** Plaintexts of a sealed batch's time-locked orders: tlock (with the round's signature) or RSW (solutions and proofs). */
export const BatchDecrypted = Schema.Union([TlockDecrypted, RswDecrypted])

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
  RswModulusRegistration,
  RswModulusVerified,
  BatchSealed,
  CommitmentExpired,
  OrderExpired,
  BatchDecrypted,
  OrdersMatched,
  OrderFilled,
  ...OperatorPayloads,
  ...SettlementPayloads
} as const
