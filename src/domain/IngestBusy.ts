/**
 * The instance's ingest queue is full: the message was not looked at (not even its
 * signature) and nothing was appended for it. Unlike a Rejection it is not the sender's
 * problem: the same message may be sent again after `retryAfterMs`.
 */
import { Schema } from "effect"

/** The ingest queue holds as many messages as it may: retry after `retryAfterMs`. */
export class IngestBusy extends Schema.TaggedError<IngestBusy>()("IngestBusy", {
  reason: Schema.String,
  retryAfterMs: Schema.Finite
}, { httpApiStatus: 503 }) {}
