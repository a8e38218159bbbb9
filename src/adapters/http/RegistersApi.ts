/**
 * The registers group of the HTTP contract (docs/proofs.md): a register's
 * contents and state hash, and lazy loading: the updates since a state the reader holds, or
 * the full state when that state is not among those kept. Read from the registers projection.
 * Handlers: RegistersHandlers.ts.
 */
import { Schema } from "effect"
import { HttpApiEndpoint, HttpApiGroup, OpenApi } from "effect/http-api"
import { RegisterId } from "../../domain/registers/RegisterMessages.ts"
import { MAX_HISTORY, MAX_RECENT } from "../../domain/registers/Registers.ts"
import { DecodesInput, NeedsLog } from "./EdgeApi.ts"

/** No register of that id was ever updated. */
export class RegisterNotFound extends Schema.TaggedError<RegisterNotFound>()("RegisterNotFound", {
  reason: Schema.String,
  id: Schema.String
}, { httpApiStatus: 404 }) {}

const Hash = Schema.String.annotate({ description: "a state hash: SHA-256 of the register's canonical JSON, 64 lowercase hex" })

/** An applied update, as a reader replays it. */
export const AppliedUpdateView = Schema.Struct({
  id: Schema.String.annotate({ description: "the RegisterUpdated message's id" }),
  offset: Schema.Finite,
  previousStateHash: Schema.NullOr(Hash),
  newStateHash: Hash,
  delta: Schema.NullOr(Schema.Array(Schema.Unknown)).annotate({ description: "the operations ({op: set, key, value} or {op: delete, key}) in order, or null for a full state" }),
  fullState: Schema.NullOr(Schema.Record(Schema.String, Schema.Unknown)).annotate({ description: "the state that replaced the previous one, or null for a delta" })
}).annotate({ identifier: "RegisterAppliedUpdate" })

/** What became of an update. */
export const UpdateOutcomeView = Schema.Struct({
  id: Schema.String.annotate({ description: "the RegisterUpdated message's id" }),
  offset: Schema.Finite,
  sender: Schema.String,
  status: Schema.Literals(["applied", "refused", "pending"]).annotate({ description: "pending: waiting for the authority's verdict on its proof" }),
  reason: Schema.NullOr(Schema.String).annotate({ description: "why it was refused" }),
  proof: Schema.NullOr(Schema.String).annotate({ description: "the ProofAnnouncement it names" }),
  previousStateHash: Schema.NullOr(Hash),
  newStateHash: Hash
}).annotate({ identifier: "RegisterUpdateOutcome" })

/** A register as answered. */
export const RegisterView = Schema.Struct({
  registerId: Schema.String,
  hash: Schema.NullOr(Hash).annotate({ description: "the current state hash; null before any update applied" }),
  version: Schema.Finite.annotate({ description: "updates applied so far" }),
  kind: Schema.Literals(["full", "deltas"]).annotate({ description: "full: `contents` is the whole state; deltas: `updates` lead from `since` to `hash`" }),
  contents: Schema.optionalKey(Schema.Record(Schema.String, Schema.Unknown)),
  since: Schema.optionalKey(Hash),
  updates: Schema.optionalKey(Schema.Array(AppliedUpdateView)),
  recent: Schema.Array(UpdateOutcomeView).annotate({ description: `the latest ${MAX_RECENT} updates' outcomes, oldest first` }),
  offset: Schema.Finite.annotate({ description: "the log offset the registers projection has folded up to" })
}).annotate({ identifier: "Register" })
export type RegisterView = typeof RegisterView.Type

/** Registers. */
export const RegistersGroup = HttpApiGroup.make("registers")
  .add(
    HttpApiEndpoint.get("register", "/v1/registers/:id", {
      params: { id: RegisterId },
      query: { since: Schema.optionalKey(Schema.String.check(Schema.isPattern(/^[0-9a-f]{64}$/u)).annotate({ description: "the state hash the reader holds" })) },
      success: RegisterView,
      error: [RegisterNotFound]
    })
      .middleware(DecodesInput)
      .annotate(OpenApi.Identifier, "getRegister")
      .annotate(OpenApi.Summary, "A register's state, or the deltas since a state")
      .annotate(
        OpenApi.Description,
        `A register's contents (a JSON object) and state hash (SHA-256 of its canonical JSON), with its latest updates' outcomes (applied, refused with the reason, or pending on a proof). With ?since=<hash> (lazy loading): the applied updates that lead from that state to the current one (kind deltas; none when it is current), or the full state (kind full) when the hash is not among the last ${MAX_HISTORY} states. An update applies only on top of the state whose hash it names; one naming a proof only once the authority verified it (docs/proofs.md).`
      )
  )
  .middleware(NeedsLog)
  .annotate(OpenApi.Description, "Registers: named JSON states moved by operators' deltas checked against state hashes, optionally bound to proofs.")
