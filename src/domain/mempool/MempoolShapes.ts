/**
 * The mempool's state shapes, each defined once as a schema: the fold's types
 * (MempoolFold.ts), the snapshot encoding (src/projections/Mempool), the views
 * (MempoolViews.ts) and the HTTP contract (src/adapters/http/MempoolApi.ts) are all derived
 * from these, so a field added here reaches every one of them.
 */
import { Schema } from "effect"
import { UserOrder } from "./MempoolMessages.ts"

const Count = Schema.Finite

/** How an order entered the mempool. */
export const Mode = Schema.Literals(["plain", "commit", "tlock", "rsw"])
export type Mode = typeof Mode.Type

/**
 * The status an entry's own events gave it. What clients see (`statusOf`) adds "sequenced"
 * once the entry's batch is sealed.
 */
export const StoredStatus = Schema.Literals(["committed", "revealed", "matched", "filled", "expired", "cancelled", "refused"])
export type StoredStatus = typeof StoredStatus.Type

/** The statuses clients see. */
export const Status = Schema.Literals(["committed", "sequenced", "revealed", "matched", "filled", "expired", "cancelled", "refused"])
export type Status = typeof Status.Type

/** One step of an entry's life: its status and the offset of the record that caused it. */
export const Step = Schema.Struct({
  status: Status,
  offset: Count,
  reason: Schema.optionalKey(Schema.String)
}).annotate({ identifier: "MempoolStep" })
export type Step = typeof Step.Type

/** An order, commitment or time-locked order that holds a position. */
export const Entry = Schema.Struct({
  id: Schema.String,
  mode: Mode,
  sender: Schema.String,
  offset: Count,
  lamport: Count,
  /** The envelope's expiry (Unix ms) or null: the order's deadline. */
  expiry: Schema.NullOr(Count),
  batch: Count,
  position: Count,
  status: StoredStatus,
  /** The order's content, once disclosed (plain orders: from the start, served once sealed). */
  order: Schema.NullOr(UserOrder),
  /** Commit mode: the commitment hash. */
  commitment: Schema.NullOr(Schema.String),
  /** Time-lock mode: the beacon round it is locked to. */
  round: Schema.NullOr(Count),
  /** Matched orders: their place in the processing order (0-based). */
  processed: Schema.NullOr(Count),
  history: Schema.Array(Step)
})
export type Entry = typeof Entry.Type

/** A sealed batch. */
export const Batch = Schema.Struct({
  batch: Count,
  /** Id and offset of the BatchSealed record. */
  sealId: Schema.String,
  sealOffset: Count,
  sealedAt: Count,
  beaconRound: Schema.NullOr(Count),
  /** Entries in the batch (positions 0..count-1). */
  count: Count,
  digest: Schema.String.annotate({ description: "SHA-256 chain over the batch's ids in position order: d0 = 32 zero bytes, d(i+1) = SHA-256(d(i) ‖ id(i))" })
}).annotate({ identifier: "MempoolBatch" })
export type Batch = typeof Batch.Type

/** What happened to a message that is not itself an entry (a reveal, a cancellation, a refused order, a decision). */
export const MessageOutcome = Schema.Struct({
  type: Schema.String,
  offset: Count,
  /** The entry it acted on, if any. */
  target: Schema.NullOr(Schema.String),
  accepted: Schema.Boolean,
  reason: Schema.NullOr(Schema.String)
})
export type MessageOutcome = typeof MessageOutcome.Type

/** An order as clients see it: its place, status and (once sealed and disclosed) content. */
export const OrderView = Schema.Struct({
  kind: Schema.Literal("order"),
  id: Schema.String,
  mode: Mode,
  status: Status,
  sender: Schema.String,
  batch: Count,
  position: Count,
  offset: Count,
  lamport: Count,
  expiry: Schema.NullOr(Count),
  /** Time-lock mode: the round it is locked to. */
  round: Schema.NullOr(Count),
  /** Once sealed: the seal's id and time. */
  sealId: Schema.NullOr(Schema.String),
  sealedAt: Schema.NullOr(Count),
  /** The content, only once sealed and disclosed. */
  order: Schema.NullOr(UserOrder),
  history: Schema.Array(Step)
}).annotate({ identifier: "MempoolOrder" })
export type OrderView = typeof OrderView.Type

/** A message that holds no position (a reveal, a cancellation, a refused order, a decision): what became of it. */
export const MessageView = Schema.Struct({
  kind: Schema.Literal("message"),
  id: Schema.String,
  ...MessageOutcome.fields
}).annotate({ identifier: "MempoolMessage" })
export type MessageView = typeof MessageView.Type
