/**
 * The sequences group of the HTTP contract (docs/proofs.md): an execution
 * sequence with each node's status, attempts, result and suggested claimant, and its events
 * as Server-Sent Events. Read from the sequences projection. Handlers: SequencesHandlers.ts.
 */
import { Schema, SchemaTransformation } from "effect"
import { HttpApiEndpoint, HttpApiGroup, HttpApiSchema, OpenApi } from "effect/http-api"
import { SequenceId } from "../../domain/sequences/SequenceMessages.ts"
import { MAX_EVENTS } from "../../domain/sequences/Sequences.ts"
import { DecodesInput, NeedsLog, OpensStream } from "./EdgeApi.ts"

/** No sequence of that id was announced. */
export class SequenceNotFound extends Schema.TaggedError<SequenceNotFound>()("SequenceNotFound", {
  reason: Schema.String,
  id: Schema.String
}, { httpApiStatus: 404 }) {}

/** One attempt at a node. */
export const AttemptView = Schema.Struct({
  claimId: Schema.String.annotate({ description: "the NodeClaimed message's id" }),
  operator: Schema.String,
  offset: Schema.Finite,
  end: Schema.NullOr(Schema.Literals(["completed", "failed", "expired"])).annotate({ description: "how it ended; null while it holds" }),
  reason: Schema.NullOr(Schema.String)
}).annotate({ identifier: "SequenceNodeAttempt" })

/** A node as answered. */
export const SequenceNodeView = Schema.Struct({
  id: Schema.String,
  deps: Schema.Array(Schema.String),
  spec: Schema.Unknown,
  status: Schema.Literals(["blocked", "runnable", "claimed", "proving", "completed", "exhausted"]).annotate({
    description: "blocked: a dependency has not completed; runnable: open to a claim; claimed: held by its last attempt; proving: its result waits for its proof's verdict; exhausted: it used up its attempts"
  }),
  suggestedClaimant: Schema.NullOr(Schema.String).annotate({
    description: "who should take it: the registered operator of highest SHA-256(key ‖ 0x00 ‖ sequenceId ‖ 0x00 ‖ nodeId) (rendezvous hashing); null once completed or with no operator registered"
  }),
  attempts: Schema.Array(AttemptView),
  result: Schema.NullOr(Schema.Struct({
    id: Schema.String.annotate({ description: "the NodeResultSubmitted message's id" }),
    offset: Schema.Finite,
    value: Schema.Unknown,
    proof: Schema.NullOr(Schema.String)
  }).annotate({ identifier: "SequenceNodeResult" }))
}).annotate({ identifier: "SequenceNode" })

/** A sequence as answered. */
export const SequenceView = Schema.Struct({
  sequenceId: Schema.String,
  status: Schema.Literals(["running", "completed", "failed"]),
  reason: Schema.NullOr(Schema.String).annotate({ description: "why it failed" }),
  announcedBy: Schema.String,
  announceId: Schema.String,
  leaseMs: Schema.Finite,
  maxAttempts: Schema.Finite,
  nodes: Schema.Array(SequenceNodeView),
  offset: Schema.Finite.annotate({ description: "the log offset the sequences projection has folded up to" })
}).annotate({ identifier: "ExecutionSequence" })
export type SequenceView = typeof SequenceView.Type

/** What one record did to a sequence. */
export const SequenceEventView = Schema.Struct({
  offset: Schema.Finite,
  id: Schema.String.annotate({ description: "the message's id" }),
  type: Schema.String.annotate({ description: "the message's type" }),
  sender: Schema.String,
  nodeId: Schema.NullOr(Schema.String),
  accepted: Schema.Boolean,
  reason: Schema.NullOr(Schema.String).annotate({ description: "why it was refused" })
}).annotate({ identifier: "SequenceEvent" })

const Offset = Schema.String.check(Schema.isPattern(/^(?:0|[1-9][0-9]{0,14})$/u)).pipe(
  Schema.decodeTo(Schema.Int, SchemaTransformation.numberFromString)
).annotate({ description: "the log offset of the last event received: the stream resumes after it" })

/** Execution sequences. */
export const SequencesGroup = HttpApiGroup.make("sequences")
  .add(
    HttpApiEndpoint.get("sequence", "/v1/sequences/:id", {
      params: { id: SequenceId },
      success: SequenceView,
      error: [SequenceNotFound]
    })
      .middleware(DecodesInput)
      .annotate(OpenApi.Identifier, "getSequence")
      .annotate(OpenApi.Summary, "An execution sequence and its nodes")
      .annotate(
        OpenApi.Description,
        "An execution sequence (a DAG of nodes announced by an operator): its status and, per node, whether it is blocked, runnable, claimed, proving, completed or exhausted, its attempts (each claim, and how it ended), its result, and who should take it (rendezvous hashing over the registered operators, so operators split the work without talking). A claim holds for `leaseMs` until the authority expires it (NodeLeaseExpired); a node gets `maxAttempts` claims; the authority completes the sequence once every node completed, or fails it once a node used up its attempts (docs/proofs.md)."
      ),
    HttpApiEndpoint.get("sequenceEvents", "/v1/sequences/:id/events", {
      params: { id: SequenceId },
      headers: { "last-event-id": Schema.optionalKey(Offset) },
      success: HttpApiSchema.StreamSse({ data: SequenceEventView }),
      error: [SequenceNotFound]
    })
      .middleware(DecodesInput)
      .middleware(OpensStream)
      .annotate(OpenApi.Identifier, "streamSequence")
      .annotate(OpenApi.Summary, "Follow a sequence as Server-Sent Events")
      .annotate(
        OpenApi.Description,
        `Server-Sent Events \`sequence\` with \`id: <log offset>\`: what each record did to the sequence (announced, a claim, a result, a proof's verdict, a lease expired, completed, failed), accepted or refused with the reason; first the events kept so far (the latest ${MAX_EVENTS}), then each new one. Last-Event-ID N resumes after offset N (an EventSource sends it when it reconnects). A comment every 15 s keeps the connection alive; the stream ends when the server shuts down.`
      )
  )
  .middleware(NeedsLog)
  .annotate(OpenApi.Description, "Execution sequences: DAGs of work claimed by registered operators, with leases, retries and proofs, coordinated through the log.")
