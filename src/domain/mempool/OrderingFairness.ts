/**
 * `verifyOrderingFairness(processingOrder, receipts)`: did whoever processed these orders
 * follow the sequence the instance signed? Anyone can run it offline with the receipts the
 * instance handed out (GET /v1/mempool/orders/{id}/receipt, /v1/mempool/batches/{n}/receipts).
 *
 * Checks, in order:
 * 1. every receipt decodes and its signature verifies; all are signed by one instance key
 *    (the expected one, when given), or, given a cluster's membership (`members`, from
 *    GET /v1/cluster), each by any member: every member serves the same position for an order,
 *    each under its own key, so receipts for one order from two members must agree on the
 *    order, batch, position, Lamport time and offset;
 * 2. the receipts are consistent: one receipt per order id, no two orders at one
 *    (batch, position), and sequence order (batch, position) agrees with arrival order (log
 *    offset) — positions are given in receive order, so a contradiction proves the instance
 *    sequenced by something else;
 * 3. every processed id has a receipt and appears once;
 * 4. the processing order follows the sequence: each processed order comes after every
 *    processed order with a smaller (batch, position).
 * Orders with a receipt but absent from the processing order (expired, cancelled, refused)
 * are allowed: fairness is about the order of what was processed.
 */
import { Result, Schema } from "effect"
import { MessageId } from "../Primitives.ts"
import { type SignedReceipt, SignedReceipt as SignedReceiptSchema, verifyReceiptSignature } from "./Receipt.ts"

/** One way an ordering fails the check. */
export const Violation = Schema.Union([
  Schema.Struct({ kind: Schema.Literal("MalformedReceipt"), index: Schema.Finite, reason: Schema.String }),
  Schema.Struct({ kind: Schema.Literal("InvalidSignature"), orderId: Schema.String }),
  Schema.Struct({ kind: Schema.Literal("ForeignSigner"), orderId: Schema.String, signer: Schema.String }),
  Schema.Struct({ kind: Schema.Literal("ConflictingReceipts"), orderId: Schema.String }),
  Schema.Struct({ kind: Schema.Literal("DuplicatePosition"), batch: Schema.Finite, position: Schema.Finite, orderIds: Schema.Array(Schema.String) }),
  Schema.Struct({ kind: Schema.Literal("PositionContradictsArrival"), first: Schema.String, second: Schema.String }),
  Schema.Struct({ kind: Schema.Literal("MalformedProcessingOrder"), reason: Schema.String }),
  Schema.Struct({ kind: Schema.Literal("MissingReceipt"), orderId: Schema.String }),
  Schema.Struct({ kind: Schema.Literal("DuplicateInProcessing"), orderId: Schema.String }),
  Schema.Struct({ kind: Schema.Literal("OutOfOrder"), index: Schema.Finite, processed: Schema.String, after: Schema.String })
]).annotate({ identifier: "OrderingViolation" })
export type Violation = typeof Violation.Type

/** The processing order follows the signed sequence. */
export interface FairOrdering {
  readonly signer: string | null
  readonly processed: number
  readonly receipts: number
}

/** The processing order, or the receipts, fail the check. */
export class UnfairOrdering extends Schema.TaggedError<UnfairOrdering>()("UnfairOrdering", {
  reason: Schema.String,
  violations: Schema.Array(Violation)
}) {}

/** Options of the check. */
export interface FairnessOptions {
  /** The instance key the receipts must be signed by (hex); default: whichever key signed the first. */
  readonly instanceKey?: string
  /** A cluster's members (hex keys, GET /v1/cluster): receipts signed by any of them count (instanceKey is then ignored). */
  readonly members?: ReadonlyArray<string>
}

const decodeReceipt = Schema.decodeUnknownResult(SignedReceiptSchema)
const isMessageId = Schema.is(MessageId)
const MAX_REPORTED = 100

const before = (a: SignedReceipt, b: SignedReceipt): boolean => a.batch < b.batch || (a.batch === b.batch && a.position < b.position)

/**
 * Check a processing order (order ids, first processed first) against signed receipts.
 * `checkSignature` is the receipts' signature check: noble by default; the server's worker
 * passes OpenSSL's, with the same verdicts.
 */
export const verifyOrderingFairness = (
  processingOrder: ReadonlyArray<unknown>,
  receipts: ReadonlyArray<unknown>,
  options: FairnessOptions = {},
  checkSignature: (r: SignedReceipt) => boolean = verifyReceiptSignature
): Result.Result<FairOrdering, UnfairOrdering> => {
  const violations: Array<Violation> = []
  const byId = new Map<string, SignedReceipt>()
  const members = options.members === undefined ? undefined : new Set(options.members)
  let signer: string | null = members === undefined ? options.instanceKey ?? null : null
  const sameFacts = (a: SignedReceipt, b: SignedReceipt): boolean =>
    a.batch === b.batch && a.position === b.position && a.lamport === b.lamport && a.offset === b.offset

  // 1. decode, signatures, one signer
  receipts.forEach((raw, index) => {
    const decoded = decodeReceipt(raw, { onExcessProperty: "error" })
    if (Result.isFailure(decoded)) {
      violations.push({ kind: "MalformedReceipt", index, reason: decoded.failure.message.replace(/\s*\n\s*/g, " ").slice(0, 300) })
      return
    }
    const r = decoded.success
    if (!checkSignature(r)) return void violations.push({ kind: "InvalidSignature", orderId: r.orderId })
    if (members !== undefined) {
      if (!members.has(r.instance)) return void violations.push({ kind: "ForeignSigner", orderId: r.orderId, signer: r.instance })
    } else {
      if (signer === null) signer = r.instance
      if (r.instance !== signer) return void violations.push({ kind: "ForeignSigner", orderId: r.orderId, signer: r.instance })
    }
    const seen = byId.get(r.orderId)
    if (seen === undefined) byId.set(r.orderId, r)
    else if (!sameFacts(seen, r)) violations.push({ kind: "ConflictingReceipts", orderId: r.orderId })
  })

  // 2. consistency of the signed sequence with itself and with arrival order
  const sorted = [...byId.values()].sort((a, b) => a.batch - b.batch || a.position - b.position || a.offset - b.offset)
  for (let i = 1; i < sorted.length; i++) {
    const a = sorted[i - 1] as SignedReceipt
    const b = sorted[i] as SignedReceipt
    if (a.batch === b.batch && a.position === b.position) {
      violations.push({ kind: "DuplicatePosition", batch: a.batch, position: a.position, orderIds: [a.orderId, b.orderId] })
    } else if (a.offset >= b.offset) {
      violations.push({ kind: "PositionContradictsArrival", first: a.orderId, second: b.orderId })
    }
  }

  // 3. and 4. the processing order
  const seen = new Set<string>()
  let previous: SignedReceipt | undefined
  processingOrder.forEach((id, index) => {
    if (typeof id !== "string" || !isMessageId(id)) {
      return void violations.push({ kind: "MalformedProcessingOrder", reason: `entry ${index} is not an order id (64 lowercase hex digits)` })
    }
    if (seen.has(id)) return void violations.push({ kind: "DuplicateInProcessing", orderId: id })
    seen.add(id)
    const r = byId.get(id)
    if (r === undefined) return void violations.push({ kind: "MissingReceipt", orderId: id })
    // Adjacent pairs suffice: the sequence is a total order, so it is transitive.
    if (previous !== undefined && !before(previous, r)) {
      violations.push({ kind: "OutOfOrder", index, processed: id, after: previous.orderId })
    }
    previous = r
  })

  if (violations.length === 0) return Result.succeed({ signer, processed: seen.size, receipts: byId.size })
  const kinds = [...new Set(violations.map((v) => v.kind))].join(", ")
  return Result.fail(new UnfairOrdering({
    reason: `${violations.length} violation(s): ${kinds}`,
    violations: violations.slice(0, MAX_REPORTED)
  }))
}
