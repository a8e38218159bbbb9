/**
 * The effect tracker's state shapes, each defined once as a schema: the fold's types, the
 * projection's snapshot and the HTTP answers are all derived from these.
 */
import { Schema } from "effect"
import { EvmLogWatch, IbcLeg, IbcPacketWatch, WatchOwner } from "./EffectMessages.ts"

/** Where an effect's status stands. */
export const EffectStatus = Schema.Literals([
  "included",
  "retracted",
  // A bridge deposit whose deadline passed on every fill chain with no fill (docs/effects.md, "Deadlines")
  "expired",
  // IBC packets (src/domain/effects/IbcPacketFold.ts)
  "sent",
  "delivered",
  "executed",
  "settled",
  "timed-out",
  "refunded"
])
export type EffectStatus = typeof EffectStatus.Type

/** How final the block holding an effect is, following the chain-state marks. */
export const Finality = Schema.Literals(["latest", "safe", "finalized"])
export type Finality = typeof Finality.Type

/** A height and its header's hash. */
export const HeaderPoint = Schema.Struct({ height: Schema.Number, hash: Schema.String })

/** The evidence behind a move: the kind, the message carrying it and the header it was checked against. */
export const EvidenceRef = Schema.Struct({
  kind: Schema.Literals([
    "evm-receipt",
    "chain-safe",
    "chain-finalized",
    "chain-reorged",
    // A deposit's deadline passed: the fill chain's scanned block whose header time is above it
    "deadline-passed",
    // IBC packet legs, each an ICS23 proof in an IbcPacketEvidence message
    "ibc-commitment",
    "ibc-receipt",
    "ibc-acknowledgement",
    "ibc-commitment-deleted",
    "ibc-receipt-absent"
  ]),
  /** The message id: fetch it (GET /v1/messages/{id}) to re-check offline with causeway/verify. */
  message: Schema.String,
  header: HeaderPoint,
  /** For evm-receipt: the receipts root the proof was checked against (0x-less hex). */
  receiptsRoot: Schema.optional(Schema.String),
  /** When the evidence is another leg's (a deposit delivered by its fill): that effect, and its chain. */
  effect: Schema.optional(Schema.String),
  chain: Schema.optional(Schema.String),
  /** For deadline-passed: the header's time (Unix seconds, decimal), read from its RLP in the message. */
  time: Schema.optional(Schema.String)
}).annotate({ identifier: "EffectEvidence" })
export type EvidenceRef = typeof EvidenceRef.Type

/** One move of an effect's status. */
export const Move = Schema.Struct({
  status: EffectStatus,
  finality: Finality,
  lamport: Schema.Number,
  evidence: EvidenceRef
}).annotate({ identifier: "EffectMove" })
export type Move = typeof Move.Type

/** Where an effect happened. */
export const Origin = Schema.Struct({
  chain: Schema.String,
  height: Schema.Number,
  blockHash: Schema.String,
  lamport: Schema.Number,
  transactionIndex: Schema.Number,
  logIndex: Schema.Number,
  /** The transaction's hash (0x lowercase), when its transactions-trie proof verified against the header's transactionsRoot. */
  transactionHash: Schema.optional(Schema.String)
}).annotate({ identifier: "EffectOrigin" })
export type Origin = typeof Origin.Type

/** An EVM log as consensus encodes it (0x-prefixed lowercase hex). */
export const EvmLog = Schema.Struct({
  address: Schema.String,
  topics: Schema.Array(Schema.String),
  data: Schema.String
}).annotate({ identifier: "EvmLog" })

/** One leg of an effect's journey: the effect on the other side, and which side it is (a deposit's refund is its `refund` leg). */
export const JourneyLeg = Schema.Struct({
  role: Schema.Literals(["source", "target", "refund"]),
  effect: Schema.String
}).annotate({ identifier: "EffectJourneyLeg" })
export type JourneyLeg = typeof JourneyLeg.Type

/** A fill chain's scanned block whose header time is above a deposit's deadline: part of the evidence the deposit expired. */
export const DeadlinePassed = Schema.Struct({
  chain: Schema.String,
  height: Schema.Number,
  hash: Schema.String,
  /** The EffectsObserved message that closed the block (its headerRlp holds the time). */
  message: Schema.String,
  /** The header's time, Unix seconds (decimal). */
  time: Schema.String
}).annotate({ identifier: "EffectDeadlinePassed" })
export type DeadlinePassed = typeof DeadlinePassed.Type

/** A bridge deposit's deadline, as its log carries it where its watch's `correlate.deadline` says. */
export const EffectDeadline = Schema.Struct({
  /** Unix seconds (a uint256, decimal). */
  time: Schema.String,
  /** While expired: each fill chain's block past the deadline (a reorg below one un-expires the deposit); empty otherwise. */
  passed: Schema.Array(DeadlinePassed)
}).annotate({ identifier: "EffectDeadline" })
export type EffectDeadline = typeof EffectDeadline.Type

/** A tracked effect: `EffectEvolution` in the design's words. */
export const TrackedEffect = Schema.Struct({
  id: Schema.String,
  kind: Schema.Literal("evm-log"),
  origin: Origin,
  status: EffectStatus,
  finality: Finality,
  /** The evidence that set the current status and finality. */
  evidence: EvidenceRef,
  /** The receipt's outcome (a reverted transaction emits no logs: success, or post-state-root before Byzantium). */
  outcome: Schema.Literals(["success", "failure", "post-state-root"]),
  log: EvmLog,
  /** The watches it matched. */
  watches: Schema.Array(Schema.String),
  history: Schema.Array(Move),
  /** Foreign ids that resolve to it (a bridge's message id as `{route}:{0x id}`; its transaction's hash, 0x lowercase, when proven). */
  aliases: Schema.Array(Schema.String),
  /** The other legs of its journey: a deposit's fills (target) and refunds (refund), a fill's or refund's deposit (source). */
  journeys: Schema.Array(JourneyLeg),
  /** A bridge deposit's deadline, when its watch names where the log carries it. */
  deadline: Schema.optional(EffectDeadline),
  causalDependencies: Schema.Array(Schema.String),
  causalDependents: Schema.Array(Schema.String),
  /** Set when an effect it depends on was retracted. */
  dependencyRetracted: Schema.Boolean
}).annotate({ identifier: "Effect" })
export type TrackedEffect = typeof TrackedEffect.Type

/** An active watch: what its EffectWatchAdded decided, and that message's id. */
export const EffectWatch = Schema.Union([
  Schema.Struct({ id: Schema.String, ...EvmLogWatch.fields, ...WatchOwner }),
  Schema.Struct({ id: Schema.String, ...IbcPacketWatch.fields, ...WatchOwner })
]).annotate({ identifier: "EffectWatch" })
export type EffectWatch = typeof EffectWatch.Type

/**
 * A watch's back-fill cursor: the block to observe next for it, going down, and its hash (a
 * hash the fold already proved: the scan position, or the parentHash of a block it checked),
 * until `until` (the watch's fromHeight) is passed.
 */
export const EffectBackfill = Schema.Struct({
  watch: Schema.String,
  chain: Schema.String,
  next: Schema.Number,
  hash: Schema.String,
  until: Schema.Number
}).annotate({ identifier: "EffectBackfill" })
export type EffectBackfill = typeof EffectBackfill.Type

/** A back-fill's progress as answered: the next block down it observes, and the last. */
export const EffectBackfillProgress = Schema.Struct({ next: Schema.Number, until: Schema.Number }).annotate({ identifier: "EffectBackfillProgress" })

/** A watch as GET /v1/effects/watches answers it: with its back-fill's progress (null: none running). */
export const EffectWatchView = Schema.Union([
  Schema.Struct({ id: Schema.String, ...EvmLogWatch.fields, ...WatchOwner, backfill: Schema.NullOr(EffectBackfillProgress) }),
  Schema.Struct({ id: Schema.String, ...IbcPacketWatch.fields, ...WatchOwner, backfill: Schema.NullOr(EffectBackfillProgress) })
]).annotate({ identifier: "EffectWatchView" })
export type EffectWatchView = typeof EffectWatchView.Type

/** One proven leg of an IBC packet's journey. */
export const IbcJourneyLeg = Schema.Struct({
  leg: IbcLeg,
  chain: Schema.String,
  /** The state's height; the proof is against header height + 1. */
  height: Schema.Number,
  headerHash: Schema.String,
  /** That header's time, Unix ms (verified): when the leg was known to hold. */
  time: Schema.Number,
  /** The IbcPacketEvidence message: fetch it to re-check the proof offline (verifyStoreProof). */
  message: Schema.String,
  lamport: Schema.Number
}).annotate({ identifier: "IbcJourneyLeg" })
export type IbcJourneyLeg = typeof IbcJourneyLeg.Type

/** A v1 channel end. */
export const IbcChannelEnd = Schema.Struct({ chain: Schema.String, port: Schema.String, channel: Schema.String })
/** A v2 client end. */
export const IbcClientEnd = Schema.Struct({ chain: Schema.String, clientId: Schema.String })
/** A packet's end: a v1 channel or a v2 client. */
export const IbcPacketEnd = Schema.Union([IbcChannelEnd, IbcClientEnd])

/**
 * How a packet's execution on the destination ended, as its acknowledgement says
 * (src/domain/ibc/IbcAcknowledgement.ts): read from ack bytes only when they hash to the
 * acknowledgement commitment proven in the same evidence; "unknown" when no bytes were bound
 * or the app's ack format is not ibc-go's.
 */
export const IbcExecution = Schema.Struct({
  result: Schema.Literals(["ok", "error", "unknown"]),
  /** An error ack's string (at most 256 characters kept). */
  error: Schema.optional(Schema.String),
  /** v1: the ack bytes (hex), kept when at most 512 hex characters (the evidence message holds them all). */
  acknowledgement: Schema.optional(Schema.String),
  /** v2: the apps' acks (hex), kept when at most 512 hex characters in all. */
  appAcknowledgements: Schema.optional(Schema.Array(Schema.String))
}).annotate({ identifier: "IbcExecution" })
export type IbcExecution = typeof IbcExecution.Type

/** A tracked IBC packet (v1: channel ends; v2: client ends): its status moves with the legs proven on either chain. */
export const IbcPacketEffect = Schema.Struct({
  id: Schema.String,
  kind: Schema.Literal("ibc-packet"),
  source: IbcPacketEnd,
  sequence: Schema.String,
  destination: Schema.NullOr(IbcPacketEnd),
  status: EffectStatus,
  /** CometBFT commits are final: always "finalized" while not retracted. */
  finality: Finality,
  evidence: EvidenceRef,
  /** The packet commitment (hex; v1 or v2 by its ends). */
  commitment: Schema.String,
  /** The packet's timeout, when its fields were given with the commitment (uint64 decimal strings; timestamp in ns; v2: no height, its seconds as ns). */
  timeout: Schema.NullOr(Schema.Struct({ revisionNumber: Schema.String, revisionHeight: Schema.String, timestamp: Schema.String })),
  /** The acknowledgement commitment proven on the destination (hex). */
  acknowledgement: Schema.NullOr(Schema.String),
  /** With the acknowledgement proven: the execution's result (ok, error, unknown); null before. */
  execution: Schema.NullOr(IbcExecution),
  /** The proven legs, in the order they were folded. */
  journey: Schema.Array(IbcJourneyLeg),
  watches: Schema.Array(Schema.String),
  history: Schema.Array(Move),
  aliases: Schema.Array(Schema.String),
  causalDependencies: Schema.Array(Schema.String),
  causalDependents: Schema.Array(Schema.String),
  dependencyRetracted: Schema.Boolean
}).annotate({ identifier: "IbcPacketEffect" })
export type IbcPacketEffect = typeof IbcPacketEffect.Type

/** The effect's id under the name the design gives it (`EffectEvolution.effectId`); the same as `id`. */
const EffectId = { effectId: Schema.String }

/** An EVM effect as queries and its event stream answer it: with `effectId`. */
export const EvmEffectView = Schema.Struct({ ...EffectId, ...TrackedEffect.fields }).annotate({ identifier: "EvmEffectView" })
export type EvmEffectView = typeof EvmEffectView.Type

/** An IBC packet as its event stream carries it: with `effectId`. */
export const IbcPacketEvent = Schema.Struct({ ...EffectId, ...IbcPacketEffect.fields }).annotate({ identifier: "IbcPacketEvent" })
export type IbcPacketEvent = typeof IbcPacketEvent.Type

/** An IBC packet as queries answer it: `stuck` is computed at query time (see packetView). */
export const IbcPacketView = Schema.Struct({
  ...EffectId,
  ...IbcPacketEffect.fields,
  /** In flight (sent, delivered or executed) for longer than the threshold since its last proven leg's header time; null otherwise. */
  stuck: Schema.NullOr(Schema.Struct({ sinceMs: Schema.Number, forMs: Schema.Number }))
}).annotate({ identifier: "IbcPacketView" })
export type IbcPacketView = typeof IbcPacketView.Type

/** A tracked effect of any kind, as the fold holds it (`kind` tells which). */
export type AnyEffect = TrackedEffect | IbcPacketEffect

/** A tracked effect of any kind as its event stream carries it (`kind` tells which). */
export const AnyEffectEvent = Schema.Union([EvmEffectView, IbcPacketEvent]).annotate({ identifier: "AnyEffectEvent" })
export type AnyEffectEvent = typeof AnyEffectEvent.Type

/** A tracked effect of any kind as queries answer it (a packet with `stuck`). */
export const AnyEffectView = Schema.Union([EvmEffectView, IbcPacketView]).annotate({ identifier: "AnyEffectView" })
export type AnyEffectView = typeof AnyEffectView.Type

/** An effect as its event stream carries it: with `effectId`. */
export const effectEvent = (e: AnyEffect): AnyEffectEvent => ({ effectId: e.id, ...e })
