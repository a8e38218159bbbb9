/**
 * The effects group of the HTTP contract: effects tracked across chains, each with the
 * evidence that set its status (docs/effects.md), read from the effects projection; and the
 * watches that decide what is tracked (EffectWatchAdded / EffectWatchRemoved in the log).
 * Handlers: EffectsHandlers.ts.
 */
import { Schema, SchemaTransformation } from "effect"
import { HttpApiEndpoint, HttpApiGroup, HttpApiSchema, OpenApi } from "effect/http-api"
import { EvmLogWatch, IbcPacketWatch } from "../../domain/effects/EffectMessages.ts"
import { AnyEffectEvent, AnyEffectView, EffectStatus, EffectWatch, EffectWatchView, IbcPacketView, Move } from "../../domain/effects/EffectShapes.ts"
import { NeedsEffectsScope, DecodesInput, NeedsLog, OpensStream, ReadsJsonBody } from "./EdgeApi.ts"

// ---------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------

/** No effect with that id is tracked (never seen, or dropped past the retention bound). */
export class EffectNotFound extends Schema.TaggedError<EffectNotFound>()("EffectNotFound", {
  reason: Schema.String,
  id: Schema.String
}, { httpApiStatus: 404 }) {}

/** No observer follows that chain. */
export class EffectChainUnknown extends Schema.TaggedError<EffectChainUnknown>()("EffectChainUnknown", {
  reason: Schema.String,
  chain: Schema.String
}, { httpApiStatus: 404 }) {}

/** The chain's observer cannot track that kind of effect. */
export class EffectKindUnsupported extends Schema.TaggedError<EffectKindUnsupported>()("EffectKindUnsupported", {
  reason: Schema.String,
  chain: Schema.String,
  kind: Schema.String
}, { httpApiStatus: 422 }) {}

/** No active watch has that id. */
export class EffectWatchNotFound extends Schema.TaggedError<EffectWatchNotFound>()("EffectWatchNotFound", {
  reason: Schema.String,
  id: Schema.String
}, { httpApiStatus: 404 }) {}

/** The deployment has as many active effect watches as it keeps, or the token as many as one token may; remove one first. */
export class EffectWatchLimitReached extends Schema.TaggedError<EffectWatchLimitReached>()("EffectWatchLimitReached", {
  reason: Schema.String,
  limit: Schema.Finite
}, { httpApiStatus: 429 }) {}

/** The instance could not append its message to the log; retrying later may succeed. */
export class EffectPublishFailed extends Schema.TaggedError<EffectPublishFailed>()("EffectPublishFailed", {
  reason: Schema.String
}, { httpApiStatus: 503 }) {}

// ---------------------------------------------------------------------------------------
// Inputs and answers
// ---------------------------------------------------------------------------------------

const EffectId = Schema.String.check(Schema.isMinLength(1), Schema.isMaxLength(256)).annotate({
  description:
    "an effect id: evm-log:{chain}:{blockHash}:{transactionIndex}:{logIndex}, ibc-packet:{chain}:{port}:{channel}:{sequence}, ibc-packet-v2:{chain}:{clientId}:{sequence}; or an alias ({route}:{0x id}: a bridge's message id names its deposit; a proven transaction hash, 0x hex, names its first matched log's effect)"
})
const TransactionHash = Schema.String.check(Schema.isPattern(/^0x[0-9a-fA-F]{64}$/u)).annotate({
  description: "a transaction hash (0x hex): only the effects of that transaction whose transaction proof verified, in log order"
})
const EffectKind = Schema.Literals(["evm-log", "ibc-packet"]).annotate({ description: "only effects of this kind" })
/**
 * An effect stream's event id: `<offset>.<digest>`, the log offset the state was read at and
 * the first 16 hex digits of the SHA-256 of the effect's canonical JSON. A client that
 * reconnects sends it back as Last-Event-ID; a bare offset is accepted too.
 */
export const EffectEventId = Schema.String.check(Schema.isPattern(/^(?:0|[1-9][0-9]{0,15})(?:\.[0-9a-f]{16})?$/u)).annotate({
  description: "the id of the last event received (`<offset>.<digest>`, or a bare log offset): the stream resumes after it, sending the effect now only when it differs from that event's"
})
const WatchId = Schema.String.check(Schema.isPattern(/^[0-9a-f]{64}$/u)).annotate({ description: "a watch's id: its EffectWatchAdded message id" })
const Lamport = Schema.String.check(Schema.isPattern(/^(?:0|[1-9][0-9]{0,14})$/u)).pipe(
  Schema.decodeTo(Schema.Int, SchemaTransformation.numberFromString)
).annotate({ description: "a Lamport time: only effects whose status moved after it" })
const Limit = Schema.String.check(Schema.isPattern(/^(?:[1-9][0-9]{0,2}|1000)$/u)).pipe(
  Schema.decodeTo(Schema.Int, SchemaTransformation.numberFromString)
).annotate({ description: "most effects answered, 1 to 1,000 (default 100)" })

const StuckAfter = Schema.String.check(Schema.isPattern(/^(?:0|[1-9][0-9]{0,11})$/u)).pipe(
  Schema.decodeTo(Schema.Int, SchemaTransformation.numberFromString)
).annotate({ description: "a packet in flight longer than this (ms) since its last proven leg is reported stuck" })

/** Where the instance's message landed in the log. */
export const EffectLogReceipt = Schema.Struct({ id: Schema.String, offset: Schema.Finite, lamport: Schema.Finite }).annotate({ identifier: "EffectLogReceipt" })

/** One effect, with the log offset the answer covers. */
export const EffectView = Schema.Struct({
  effect: AnyEffectView,
  offset: Schema.Finite.annotate({ description: "log records folded into this answer" })
}).annotate({ identifier: "EffectAnswer" })

/** Body of POST /v1/effects/watches. */
export const EffectWatchRequest = Schema.Union([EvmLogWatch, IbcPacketWatch]).annotate({ identifier: "EffectWatchRequest" })

// ---------------------------------------------------------------------------------------
// Endpoints
// ---------------------------------------------------------------------------------------

/** Effects and their watches. */
export const EffectsGroup = HttpApiGroup.make("effects")
  .add(
    HttpApiEndpoint.get("listWatches", "/v1/effects/watches", {
      success: Schema.Struct({ watches: Schema.Array(EffectWatchView) }).annotate({ identifier: "EffectWatches" })
    })
      .annotate(OpenApi.Identifier, "listEffectWatches")
      .annotate(OpenApi.Summary, "List the effect watches")
      .annotate(OpenApi.Description, "The active watches: which chains' logs (by emitter address and topics) or IBC packets are tracked, each named by its EffectWatchAdded message id. `backfill` shows an EVM log watch's back-fill below the chain's scan position while it runs: the next block down it observes, and its first block (`until`); null when none runs."),
    HttpApiEndpoint.post("addWatch", "/v1/effects/watches", {
      payload: EffectWatchRequest,
      success: Schema.Struct({ watch: EffectWatch, receipt: EffectLogReceipt }).annotate({ identifier: "EffectWatchCreated" }).pipe(HttpApiSchema.status(201)),
      error: [EffectChainUnknown, EffectKindUnsupported, EffectWatchLimitReached, EffectPublishFailed]
    })
      .middleware(DecodesInput)
      .middleware(ReadsJsonBody)
      .middleware(NeedsEffectsScope)
      .annotate(OpenApi.Identifier, "addEffectWatch")
      .annotate(OpenApi.Summary, "Start tracking effects")
      .annotate(OpenApi.Description, "Record an EffectWatchAdded decision in the log: from the chain's next verified block on (or from `fromHeight`: blocks below the chain's scan position are back-filled, going down by parent hash), every log matching the filter (address, topics; null matches any topic) is tracked with its receipt proof. Addresses and topics are lowercase hex without 0x. 404 for a chain no observer follows, 422 for a kind the chain's observer cannot track (IBC packets on a chain that is not a Cosmos chain, IBC v2 clients). An IBC v1 watch (port, channel, and the counterparty `destination` {chain, port, channel}) tracks the packets sent on the channel from their commitment to their settlement or timeout (GET /v1/ibc/packets)."),
    HttpApiEndpoint.delete("removeWatch", "/v1/effects/watches", {
      query: { id: WatchId },
      success: Schema.Struct({ id: Schema.String, receipt: EffectLogReceipt }).annotate({ identifier: "EffectWatchRemoved" }),
      error: [EffectWatchNotFound, EffectPublishFailed]
    })
      .middleware(DecodesInput)
      .middleware(NeedsEffectsScope)
      .annotate(OpenApi.Identifier, "removeEffectWatch")
      .annotate(OpenApi.Summary, "Stop a watch")
      .annotate(OpenApi.Description, "Stop the watch `?id=` (its EffectWatchAdded message id, as GET /v1/effects/watches lists it): an EffectWatchRemoved decision is recorded in the log. No new effects are tracked for it; those tracked stay and keep following finality and reorgs."),
    HttpApiEndpoint.get("list", "/v1/effects", {
      query: {
        kind: Schema.optional(EffectKind),
        chain: Schema.optional(Schema.String),
        status: Schema.optional(EffectStatus),
        since: Schema.optional(Lamport),
        tx: Schema.optional(TransactionHash),
        limit: Schema.optional(Limit)
      },
      success: Schema.Struct({ effects: Schema.Array(AnyEffectView), offset: Schema.Finite }).annotate({ identifier: "EffectList" })
    })
      .middleware(DecodesInput)
      .annotate(OpenApi.Identifier, "listEffects")
      .annotate(OpenApi.Summary, "List tracked effects")
      .annotate(OpenApi.Description, "Tracked effects of every kind (EVM logs and IBC packets, `kind` tells which), oldest first by the Lamport time each was first tracked, filtered by kind, chain (a packet matches either end), status `since` (a Lamport time: only effects whose status moved after it) and `tx` (a transaction hash: every matched log of that transaction, in log order, when its transactions-trie proof verified). Answered from the effects projection."),
    HttpApiEndpoint.get("effect", "/v1/effects/:id", {
      params: { id: EffectId },
      success: EffectView,
      error: [EffectNotFound]
    })
      .middleware(DecodesInput)
      .annotate(OpenApi.Identifier, "getEffect")
      .annotate(OpenApi.Summary, "One effect with the evidence of its status")
      .annotate(OpenApi.Description, "An effect of any kind (an EVM log, an IBC v1 or v2 packet), by id or alias: its status, finality (latest, safe, finalized) and the evidence that set them: its kind, the message carrying it (GET /v1/messages/{id}: an EffectsObserved holds the block header and the receipt proof, to re-check offline with causeway/verify's verifyReceiptLog; and the transaction's proof for verifyTransactionProof; an IbcPacketEvidence its ICS23 proof) and the header it was checked against. A packet carries its proven journey and `stuck`. The id may be an alias: a bridge's message id answers its deposit; a transaction hash answers its first matched log's effect (GET /v1/effects?tx= lists them all)."),
    HttpApiEndpoint.get("events", "/v1/effects/:id/events", {
      params: { id: EffectId },
      headers: { "last-event-id": Schema.optionalKey(EffectEventId) },
      success: HttpApiSchema.StreamSse({ data: AnyEffectEvent }),
      error: [EffectNotFound]
    })
      .middleware(DecodesInput)
      .middleware(OpensStream)
      .annotate(OpenApi.Identifier, "streamEffect")
      .annotate(OpenApi.Summary, "Follow an effect as Server-Sent Events")
      .annotate(OpenApi.Description, "Server-Sent Events `effect` (an EVM effect or an IBC packet) with `id: <log offset>.<digest>` (the records folded into it, and a digest of the effect's canonical JSON): the effect now, then the effect again on every change (status, finality, journey, dependents). Events are states carrying their whole history, not deltas. Resumable: a client that reconnects with Last-Event-ID (an EventSource sends it) gets the effect now only when it changed since that event, then every later change, so it misses nothing and sees nothing twice; a bare log offset as Last-Event-ID resends the effect unless no record was folded since. A comment every 15 s keeps the connection alive; the stream ends when the server shuts down."),
    HttpApiEndpoint.get("history", "/v1/effects/:id/history", {
      params: { id: EffectId },
      success: Schema.Struct({ id: Schema.String, history: Schema.Array(Move) }).annotate({ identifier: "EffectHistory" }),
      error: [EffectNotFound]
    })
      .middleware(DecodesInput)
      .annotate(OpenApi.Identifier, "getEffectHistory")
      .annotate(OpenApi.Summary, "Every status move of an effect")
      .annotate(OpenApi.Description, "The effect's moves in log order (the last 32), each with its Lamport time and evidence; for an EVM effect or an IBC packet."),
    HttpApiEndpoint.get("listPackets", "/v1/ibc/packets", {
      query: { chain: Schema.optional(Schema.String), status: Schema.optional(EffectStatus), limit: Schema.optional(Limit), stuckAfterMs: Schema.optional(StuckAfter) },
      success: Schema.Struct({ packets: Schema.Array(IbcPacketView), offset: Schema.Finite }).annotate({ identifier: "IbcPacketList" })
    })
      .middleware(DecodesInput)
      .annotate(OpenApi.Identifier, "listIbcPackets")
      .annotate(OpenApi.Summary, "List tracked IBC packets")
      .annotate(OpenApi.Description, "Tracked IBC v1 packets, oldest first, filtered by chain (source or destination) and status (sent, delivered, executed, settled, timed-out, refunded, retracted); `stuck` is set on a packet in flight whose last proven leg's header time is older than `stuckAfterMs` (default 10 minutes), computed at query time."),
    HttpApiEndpoint.get("packet", "/v1/ibc/packets/:id", {
      params: { id: EffectId },
      query: { stuckAfterMs: Schema.optional(StuckAfter) },
      success: Schema.Struct({ packet: IbcPacketView, offset: Schema.Finite }).annotate({ identifier: "IbcPacketAnswer" }),
      error: [EffectNotFound]
    })
      .middleware(DecodesInput)
      .annotate(OpenApi.Identifier, "getIbcPacket")
      .annotate(OpenApi.Summary, "One IBC packet with its journey")
      .annotate(OpenApi.Description, "An IBC packet (v1 id ibc-packet:{chain}:{port}:{channel}:{sequence}; v2 id ibc-packet-v2:{chain}:{clientId}:{sequence}): its status, the proven legs of its journey (commitment, receipt, acknowledgement, commitment deleted, receipt absent; each names its IbcPacketEvidence or IbcPacketEvidenceV2 message, whose ICS23 proof re-checks offline against the app hash of the header it names), its history, and once the acknowledgement is proven its `execution` (ok or error when the ack bytes of the destination's write_acknowledgement event hash to the proven ack commitment and are in ibc-go's ack format, unknown otherwise; an error ack then the commitment's deletion is refunded).")
  )
  .middleware(NeedsLog)
  .annotate(OpenApi.Description, "On-chain effects tracked across chains: each status moved only by evidence checked against headers a light client verified, and retracted when a reorg drops its block.")
