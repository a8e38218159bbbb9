/**
 * The ordering-fairness check's request body (POST /v1/mempool/verify-ordering). The endpoint
 * reads the body as bytes and the worker (OrderingCheckWorker.ts) parses and decodes it with
 * this schema, so a body of up to 8 MiB is never parsed on the event loop; the OpenAPI document
 * still describes it by this schema (MempoolApi.ts).
 */
import { Schema } from "effect"

/** Most receipts, and most processing-order entries, one ordering check takes. */
export const MAX_ORDERING_ENTRIES = 10_000

/** The ordering check's default JSON body limit: 10,000 receipts and order ids fit with room to spare. */
export const ORDERING_BODY_BYTES = 8 * 1024 * 1024

/** The ordering-fairness check's input. */
export const VerifyOrderingRequest = Schema.Struct({
  processingOrder: Schema.Array(Schema.Unknown).check(Schema.isMaxLength(MAX_ORDERING_ENTRIES)).annotate({
    description: "order ids (64 lowercase hex digits), first processed first; an entry that is not one is reported as a MalformedProcessingOrder violation"
  }),
  receipts: Schema.Array(Schema.Unknown).check(Schema.isMaxLength(MAX_ORDERING_ENTRIES)).annotate({
    description: "signed receipts (OrderReceipt, as GET /v1/mempool/orders/{id}/receipt and …/batches/{batch}/receipts serve them); one that does not decode is reported as a MalformedReceipt violation"
  }),
  instanceKey: Schema.optionalKey(Schema.String.check(Schema.isPattern(/^[0-9a-f]{64}(?:[0-9a-f]{2})?$/u)).annotate({
    description: "the instance key the receipts must be signed by (default: whichever key signed the first)"
  })),
  members: Schema.optionalKey(
    Schema.Array(Schema.String.check(Schema.isPattern(/^[0-9a-f]{64}(?:[0-9a-f]{2})?$/u))).check(Schema.isMaxLength(64)).annotate({
      description: "a cluster's members (GET /v1/cluster): receipts signed by any of them count (instanceKey is then ignored)"
    })
  )
}).annotate({ identifier: "VerifyOrderingRequest" })

