/**
 * Register state synchronization (issue #15, docs/proofs.md): a register
 * is a named JSON object whose state hash is the SHA-256 of its canonical JSON
 * (`stateHashOf`, src/domain/registers/Registers.ts). Operators move it by
 *
 * - `RegisterUpdated {registerId, previousStateHash, newStateHash, delta | fullState, proof?}`:
 *   the operations of `delta` (set a key, delete a key) applied in order on top of the state
 *   whose hash is `previousStateHash`, or `fullState` replacing it; `previousStateHash` is null
 *   for a register's first update. `proof` names a ProofAnnouncement whose public inputs open
 *   with the two hashes' limbs (src/domain/proofs/ProofBinding.ts): the update counts only
 *   once the authority verified that proof.
 */
import { Schema } from "effect"
import { MessageId, Name } from "../Primitives.ts"
import { Sha256Hex } from "../proofs/ProofMessages.ts"

/** Most operations one delta carries. */
export const MAX_DELTA_OPS = 256
/** Most keys a register holds. */
export const MAX_REGISTER_KEYS = 4096
/** Most bytes of a register's canonical JSON (its state hash's preimage). */
export const MAX_REGISTER_BYTES = 262_144

/** A register's name. */
export const RegisterId = Name.annotate({ description: "a register's name: 1 to 64 printable ASCII characters" })

/** A key of a register: 1 to 128 characters. */
export const RegisterKey = Schema.String.check(Schema.isMinLength(1), Schema.isMaxLength(128)).annotate({ description: "a key of a register, 1 to 128 characters" })

/** A register's contents: a JSON object. */
export const RegisterContents = Schema.Record(RegisterKey, Schema.Unknown).annotate({ description: "a register's contents: a JSON object" })
export type RegisterContents = typeof RegisterContents.Type

/** One operation of a delta. */
export const RegisterOperation = Schema.Union([
  Schema.Struct({ op: Schema.Literal("set"), key: RegisterKey, value: Schema.Unknown }),
  Schema.Struct({ op: Schema.Literal("delete"), key: RegisterKey })
])
export type RegisterOperation = typeof RegisterOperation.Type

/** An update of a register, by delta or full state. */
export const RegisterUpdated = Schema.Struct({
  registerId: RegisterId,
  previousStateHash: Schema.NullOr(Sha256Hex),
  newStateHash: Sha256Hex,
  delta: Schema.optionalKey(Schema.Array(RegisterOperation).check(Schema.isMinLength(1), Schema.isMaxLength(MAX_DELTA_OPS))),
  fullState: Schema.optionalKey(RegisterContents),
  proof: Schema.optionalKey(MessageId)
}).check(Schema.makeFilter((u) => (u.delta === undefined) !== (u.fullState === undefined) || "an update carries either delta or fullState, not both"))
export type RegisterUpdated = typeof RegisterUpdated.Type

/** The registers' payload schemas, by message type. */
export const RegisterPayloads = { RegisterUpdated } as const
