/**
 * The senders group of the HTTP contract: a sender's score (issue #14), folded from its
 * misbehaviour in the log (src/domain/senders/SenderScore.ts), with why it is what it is.
 * Handlers: SendersHandlers.ts.
 */
import { Schema } from "effect"
import { HttpApiEndpoint, HttpApiGroup, OpenApi } from "effect/http-api"
import {
  BAN_SCORE,
  FULL_RATE_SCORE,
  HALF_RATE_SCORE,
  MISBEHAVIOURS,
  SCORE_DECAY_BATCHES,
  WEIGHTS
} from "../../domain/senders/SenderScore.ts"
import { DecodesInput, NeedsLog } from "./EdgeApi.ts"

/** A sender's public key as envelopes carry it in `sender`. */
export const SenderKey = Schema.String.check(Schema.isPattern(/^(?:[0-9a-f]{64}|0[23][0-9a-f]{64})$/u)).annotate({
  description: "a sender's public key as in envelopes' `sender`: ed25519 (64 hex) or compressed secp256k1 (66 hex), lowercase"
})

const weights = MISBEHAVIOURS.map((k) => `${k} ${WEIGHTS[k]}`).join(", ")

/** One reason a score is below 100. */
export const ScoreReasonView = Schema.Struct({
  kind: Schema.Literals(MISBEHAVIOURS).annotate({
    description: "badProof: a proof the authority refused (a failed ProofVerified, or a failed RSW modulus proof); refusedReveal: a reveal the mempool refused; unrevealedCommitment: an order or intent commitment left unrevealed (or an RSW order that does not open); refusedProposal, refusedFillReport: a match proposal or fill report settlement refused; unmatchedIntent: a held intent that expired without any of its orders matched"
  }),
  count: Schema.Int.annotate({ description: "units left after decay" }),
  weight: Schema.Int.annotate({ description: "what one unit takes off the score" })
}).annotate({ identifier: "ScoreReason" })

/** A sender's standing as answered. */
export const SenderStandingView = Schema.Struct({
  sender: Schema.String,
  score: Schema.Int.annotate({ description: "0..100: 100 less each unit's weight" }),
  rateFactor: Schema.Finite.annotate({ description: `the share of the per-sender rate and burst it keeps: 1 at ${FULL_RATE_SCORE} or more, 0.5 at ${HALF_RATE_SCORE} or more, 0.25 at ${BAN_SCORE} or more, 0 below (banned)` }),
  banned: Schema.Boolean.annotate({ description: "every message of the sender is refused (403 SenderBanned) until decay lifts its score" }),
  reasons: Schema.Array(ScoreReasonView).annotate({ description: "what lowers the score, by kind; empty for a clean sender" }),
  asOfBatch: Schema.Int.annotate({ description: "the sealed batches the counts are decayed to" })
}).annotate({ identifier: "SenderStanding" })

/** Senders. */
export const SendersGroup = HttpApiGroup.make("senders")
  .add(
    HttpApiEndpoint.get("sender", "/v1/senders/:key", {
      params: { key: SenderKey },
      success: SenderStandingView
    })
      .middleware(DecodesInput)
      .annotate(OpenApi.Identifier, "getSender")
      .annotate(OpenApi.Summary, "A sender's score and why")
      .annotate(
        OpenApi.Description,
        `A sender's score (0..100), what it keeps of its rate, whether it is banned, and the misbehaviour that lowered it, as every instance folds it from the log. Each unit takes its weight off 100 (${weights}); one unit of each kind is forgiven per ${SCORE_DECAY_BATCHES} sealed batches. Below ${BAN_SCORE} the sender is banned: POST /v1/messages answers 403 SenderBanned until decay lifts the score. A sender the log holds nothing against (one never seen included) has 100 and no reasons. The instance's own key is never scored down at admission.`
      )
  )
  .middleware(NeedsLog)
  .annotate(OpenApi.Description, "Senders: scores folded from each sender's misbehaviour in the log (bad proofs, refused reveals, commitments left unrevealed, refused proposals and fill reports, intents that never matched).")
