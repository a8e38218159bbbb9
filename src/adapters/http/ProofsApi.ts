/**
 * The proofs group of the HTTP contract (issue #15, docs/proofs.md): shared proofs by
 * commitment, listed by key and computation, followed as Server-Sent Events; and a proof
 * checked against a registered key on request, publishing nothing. Read from the proofs
 * projection; the proof's bytes from its shares in the log. Handlers: ProofsHandlers.ts.
 */
import { Schema, SchemaTransformation } from "effect"
import { HttpApiEndpoint, HttpApiGroup, HttpApiSchema, OpenApi } from "effect/http-api"
import { MAX_PUBLIC_INPUTS } from "../../domain/proofs/Groth16.ts"
import { DecimalSignal, Sha256Hex } from "../../domain/proofs/ProofMessages.ts"
import { DecodesInput, NeedsLog, NeedsProofsScope, OpensStream, ReadsJsonBody } from "./EdgeApi.ts"

// ---------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------

/** No announcement has that commitment. */
export class ProofNotFound extends Schema.TaggedError<ProofNotFound>()("ProofNotFound", {
  reason: Schema.String,
  commitment: Schema.String
}, { httpApiStatus: 404 }) {}

/** No verification key with that id is registered. */
export class VerificationKeyNotFound extends Schema.TaggedError<VerificationKeyNotFound>()("VerificationKeyNotFound", {
  reason: Schema.String,
  vkId: Schema.String
}, { httpApiStatus: 404 }) {}

/** The verifier has as many proofs waiting as it takes (or its thread failed): retry later. */
export class VerifierUnavailable extends Schema.TaggedError<VerifierUnavailable>()("VerifierUnavailable", {
  reason: Schema.String
}, { httpApiStatus: 503 }) {}

// ---------------------------------------------------------------------------------------
// Inputs and answers
// ---------------------------------------------------------------------------------------

const Commitment = Sha256Hex.annotate({ description: "a proof's commitment: the SHA-256 of its bytes, 64 lowercase hex digits" })
const VkId = Sha256Hex.annotate({ description: "a verification key's id: the SHA-256 of its canonical JSON" })
const Limit = Schema.String.check(Schema.isPattern(/^(?:[1-9][0-9]{0,2}|1000)$/u)).pipe(
  Schema.decodeTo(Schema.Int, SchemaTransformation.numberFromString)
).annotate({ description: "most proofs answered, 1 to 1,000 (default 100)" })
/**
 * A proofs stream's event id: `<offset>.<announcement id>`, the log offset of the change it
 * carries and the announcement it is about (one record may change several: a verdict that its
 * claim's other announcements take). A bare offset is accepted too.
 */
export const ProofEventId = Schema.String.check(Schema.isPattern(/^(?:0|[1-9][0-9]{0,15})(?:\.[0-9a-f]{64})?$/u)).annotate({
  description: "the id of the last event received (`<offset>.<announcement id>`, or a bare log offset): the stream resumes with the changes after it"
})
const After = Schema.String.check(Schema.isPattern(/^(?:0|[1-9][0-9]{0,15})$/u)).pipe(
  Schema.decodeTo(Schema.Int, SchemaTransformation.numberFromString)
).annotate({ description: "a log offset: only announcements after it (page on from the last one's offset)" })

const ProofStatus = Schema.Literals(["gathering", "complete", "verified", "refused", "incomplete", "rejected"]).annotate({
  description: "gathering: waiting for shares; complete: every share in, waiting for the verdict; verified / refused: the leader's verdict; incomplete: the shares did not all arrive by the deadline; rejected: the announcement did not count (unknown key, the announcer's pending bound)"
})

/** The leader's verdict on an announcement. */
export const ProofVerdictView = Schema.Struct({
  ok: Schema.Boolean,
  reason: Schema.NullOr(Schema.String).annotate({ description: "why not: the failure's tag, a colon, what happened" }),
  messageId: Schema.String.annotate({ description: "the ProofVerified message that decided it" }),
  offset: Schema.Finite,
  reusedFrom: Schema.NullOr(Schema.String).annotate({ description: "the announcement of the same claim (key, commitment, public inputs) whose verdict this is, when the proof was not verified again" })
}).annotate({ identifier: "ProofVerdict" })

/** One announced proof. */
export const ProofView = Schema.Struct({
  announcementId: Schema.String,
  offset: Schema.Finite.annotate({ description: "the announcement's log offset" }),
  announcer: Schema.String,
  computationId: Schema.String,
  proofSystem: Schema.String,
  vkId: Schema.String,
  commitment: Schema.String,
  publicInputs: Schema.Array(Schema.String),
  shares: Schema.Finite,
  bytes: Schema.Finite,
  received: Schema.Finite.annotate({ description: "shares arrived (a repeat or a stranger's share does not count)" }),
  status: ProofStatus,
  rejection: Schema.NullOr(Schema.String),
  verdict: Schema.NullOr(ProofVerdictView),
  updated: Schema.Finite.annotate({ description: "the log offset of the last record that changed it" })
}).annotate({ identifier: "Proof" })

/** A proof by commitment: its announcements, the key, and its bytes once verified. */
export const ProofAnswer = Schema.Struct({
  commitment: Schema.String,
  announcements: Schema.Array(ProofView),
  vk: Schema.NullOr(Schema.Record(Schema.String, Schema.Unknown)).annotate({ description: "the verification key the first announcement names, as registered" }),
  proof: Schema.NullOr(Schema.String).annotate({ description: "the proof's bytes in base64 once an announcement of it is verified (for Groth16, snarkjs proof.json); null before" }),
  offset: Schema.Finite.annotate({ description: "log records folded into this answer" })
}).annotate({ identifier: "ProofAnswer" })

/** Body of POST /v1/proofs/verify. */
export const ProofCheckRequest = Schema.Struct({
  vkId: VkId,
  proof: Schema.Unknown.annotate({ description: "the proof as its system writes it (Groth16: snarkjs proof.json)" }),
  publicInputs: Schema.Array(DecimalSignal).check(Schema.isMaxLength(MAX_PUBLIC_INPUTS))
}).annotate({ identifier: "ProofCheckRequest" })

/** The answer of POST /v1/proofs/verify. */
export const ProofCheckAnswer = Schema.Struct({
  vkId: Schema.String,
  proofSystem: Schema.String,
  ok: Schema.Boolean,
  reason: Schema.NullOr(Schema.String)
}).annotate({ identifier: "ProofCheckAnswer" })

// ---------------------------------------------------------------------------------------
// Endpoints
// ---------------------------------------------------------------------------------------

/** Shared proofs. */
export const ProofsGroup = HttpApiGroup.make("proofs")
  .add(
    HttpApiEndpoint.get("events", "/v1/proofs/events", {
      query: { vk: Schema.optional(VkId) },
      headers: { "last-event-id": Schema.optionalKey(ProofEventId) },
      success: HttpApiSchema.StreamSse({ data: ProofView })
    })
      .middleware(DecodesInput)
      .middleware(OpensStream)
      .annotate(OpenApi.Identifier, "streamProofs")
      .annotate(OpenApi.Summary, "Follow shared proofs as Server-Sent Events")
      .annotate(OpenApi.Description, "Server-Sent Events `proof` with `id: <log offset>.<announcement id>`: each announced proof (of the key `?vk=`, or every key) whenever a record changes it (announced, a share counted, complete, the verdict), in log order. Events are states: records folded together may come as one. Without Last-Event-ID the stream starts with the proofs changed from now on; with it (an EventSource sends it), it first sends every proof changed after that event, as it is now, then every later change, so a client that reconnects misses nothing. A comment every 15 s keeps the connection alive; the stream ends when the server shuts down."),
    HttpApiEndpoint.get("list", "/v1/proofs", {
      query: { vk: Schema.optional(VkId), computation: Schema.optional(Schema.String), after: Schema.optional(After), limit: Schema.optional(Limit) },
      success: Schema.Struct({ proofs: Schema.Array(ProofView), offset: Schema.Finite }).annotate({ identifier: "ProofList" })
    })
      .middleware(DecodesInput)
      .annotate(OpenApi.Identifier, "listProofs")
      .annotate(OpenApi.Summary, "List announced proofs")
      .annotate(OpenApi.Description, "Announced proofs, oldest first, filtered by verification key id (`vk`) and computation id (`computation`), after the log offset `after` (page on from the last one's `offset`). Answered from the proofs projection."),
    HttpApiEndpoint.get("proof", "/v1/proofs/:commitment", {
      params: { commitment: Commitment },
      success: ProofAnswer,
      error: [ProofNotFound]
    })
      .middleware(DecodesInput)
      .annotate(OpenApi.Identifier, "getProof")
      .annotate(OpenApi.Summary, "A proof by commitment")
      .annotate(OpenApi.Description, "Every announcement of the commitment (status, key id, public inputs, announcer, verdict), the verification key, and, once one of them is verified, the proof's bytes (base64) reassembled from its shares in the log. 404 when nothing was announced with that commitment."),
    HttpApiEndpoint.post("verify", "/v1/proofs/verify", {
      payload: ProofCheckRequest,
      success: ProofCheckAnswer,
      error: [VerificationKeyNotFound, VerifierUnavailable]
    })
      .middleware(DecodesInput)
      .middleware(ReadsJsonBody)
      .middleware(NeedsProofsScope)
      .annotate(OpenApi.Identifier, "verifyProof")
      .annotate(OpenApi.Summary, "Check a proof against a registered key")
      .annotate(OpenApi.Description, "Verify `proof` with `publicInputs` against the registered key `vkId` (GET /v1/proofs lists the keys' ids in use) on the instance's verifier thread, and answer the verdict; nothing is published. Scope proofs. 404 when the key is not registered, 503 when the verifier has as many proofs waiting as it takes (retry later).")
  )
  .middleware(NeedsLog)
  .annotate(OpenApi.Description, "Zero-knowledge proofs shared through the log: keys registered by content, proofs announced and sent in shares, verified once by the leader, whose verdict every instance folds.")
