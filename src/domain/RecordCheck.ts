/**
 * Checking a log record again, from its bytes alone: what a reader does with a record it did
 * not admit itself (another instance's, or anything a Kafka writer produced). The record's
 * body must be an admissible envelope (the ingest pipeline's stateless checks, expiry aside:
 * a record's place in the log does not depend on when it is read), stored exactly as its
 * canonical encoding, whose id is the record's id and whose fields are the record's header
 * fields. What is left is the signature, which needs the verifier port: the check returns the
 * request to hand it.
 *
 * Every step is a pure function of the record, so every reader refuses the same records.
 */
import { Data, Result } from "effect"
import { admit, nobleTextSha256, type TextSha256 } from "./Admission.ts"
import { fromHex, type Scheme, signingBytes } from "./Envelope.ts"

/** The fields of a log record this check reads. */
export interface CheckedFields {
  readonly id: string
  readonly lamport: number
  readonly type: string
  readonly sender: string
  readonly nonce: number
  readonly deps: ReadonlyArray<string>
  readonly body: string
}

/** The signature still to verify (the SignatureVerifier port's request, field for field). */
export interface SignatureToCheck {
  readonly scheme: Scheme
  readonly publicKey: string
  readonly message: Uint8Array
  readonly signature: Uint8Array
}

/** Why a record is refused; `kind` is a short label for metrics. */
export class RecordRefused extends Data.TaggedError("RecordRefused")<{
  readonly kind: RefusalKind
  readonly reason: string
}> {}

/** The kinds of refusal: the body, its encoding, its id, a header, the signature. */
export type RefusalKind = "body" | "encoding" | "id" | "header" | "signature"

// Records are bounded by the transport (Kafka's record size, SQLite's row); the ingest limit
// is configuration and must not decide what a log holds.
const limits = { maxMessageBytes: Number.MAX_SAFE_INTEGER }

const sameDeps = (a: ReadonlyArray<string>, b: ReadonlyArray<string>): boolean => {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}

/**
 * Check everything of a record but its signature; on success, the signature to verify.
 * `sha256Text` as in `admit` (node:crypto's in the adapters).
 */
export const checkRecord = (
  record: CheckedFields,
  sha256Text: TextSha256 = nobleTextSha256
): Result.Result<SignatureToCheck, RecordRefused> => {
  let value: unknown
  try {
    value = JSON.parse(record.body)
  } catch {
    return Result.fail(new RecordRefused({ kind: "body", reason: "the body is not JSON" }))
  }
  const admitted = admit(value, undefined, limits, sha256Text)
  if (Result.isFailure(admitted)) {
    return Result.fail(new RecordRefused({ kind: "body", reason: `the body is not an admissible envelope: ${admitted.failure.reason}` }))
  }
  const c = admitted.success
  if (c.body !== record.body) {
    return Result.fail(new RecordRefused({ kind: "encoding", reason: "the body is not the canonical encoding of its envelope" }))
  }
  if (c.id !== record.id) {
    return Result.fail(new RecordRefused({ kind: "id", reason: `the id is ${record.id}, the body hashes to ${c.id}` }))
  }
  const e = c.envelope
  const differs = e.lamport !== record.lamport ? "lamport"
    : e.type !== record.type ? "type"
    : e.sender !== record.sender ? "sender"
    : e.nonce !== record.nonce ? "nonce"
    : !sameDeps(e.deps, record.deps) ? "deps"
    : undefined
  if (differs !== undefined) {
    return Result.fail(new RecordRefused({ kind: "header", reason: `the ${differs} header differs from the body's` }))
  }
  return Result.succeed({ scheme: e.scheme, publicKey: e.sender, message: signingBytes(c.idBytes), signature: fromHex(e.sig) })
}

/** The refusal of a record whose signature does not verify. */
export const badSignature = (record: Pick<CheckedFields, "sender">): RecordRefused =>
  new RecordRefused({ kind: "signature", reason: `the signature does not verify for sender ${record.sender}` })
