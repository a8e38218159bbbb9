/**
 * Payloads of settlement: an operator's match proposal and fill report, and the instance's
 * refusals of them. Accepted ones become the mempool's OrdersMatched and OrderFilled, which
 * the instance publishes naming the proposal or report among their deps
 * (src/services/Settlement.ts, docs/mempool.md). Registered through `MempoolPayloads`.
 */
import { Schema } from "effect"
import { DecimalAmount, MessageId, Name } from "../Primitives.ts"

/** The most orders one proposal may match (its OrdersMatched stays far below the 64 KiB cap). */
export const MAX_MATCH_ORDERS = 256

/** How much of one order the match clears: input taken from the order, output delivered to it. */
export const Clearing = Schema.Struct({
  orderId: MessageId,
  amountIn: DecimalAmount,
  amountOut: DecimalAmount
})
export type Clearing = typeof Clearing.Type

/**
 * An operator proposes to match these orders at these amounts. It must hold a live intent
 * over each of them; `proof` optionally names a ProofAnnouncement of the operator's
 * computation (it must also be among the envelope's deps).
 */
export const MatchProposal = Schema.Struct({
  orders: Schema.Array(Clearing).check(Schema.isMinLength(1), Schema.isMaxLength(MAX_MATCH_ORDERS)),
  proof: Schema.optionalKey(MessageId)
})
export type MatchProposal = typeof MatchProposal.Type

/** A reason the instance gives, at most 512 characters. */
const Reason = Schema.String.check(Schema.isMinLength(1), Schema.isMaxLength(512))

/** The instance refuses a proposal (it names it among its deps too). */
export const MatchRefused = Schema.Struct({
  proposalId: MessageId,
  reason: Reason
})

/** A transaction hash: 1..64 bytes as lowercase hex. */
export const TxHash = Schema.String.check(Schema.isPattern(/^(?:[0-9a-f]{2}){1,64}$/u))

/**
 * The proposing operator reports that a matched order of its accepted proposal was executed
 * on the order's chain in `txHash`. `evidence` optionally names an instance-verified
 * CrossChainEvent (same chain and tx hash) or LightClientProof (same chain); it must also be
 * among the envelope's deps.
 */
export const FillReport = Schema.Struct({
  proposalId: MessageId,
  orderId: MessageId,
  chain: Name,
  txHash: TxHash,
  evidence: Schema.optionalKey(MessageId)
})
export type FillReport = typeof FillReport.Type

/** The instance refuses a fill report (it names it among its deps too). */
export const FillRefused = Schema.Struct({
  reportId: MessageId,
  reason: Reason
})

/** Settlement payload schemas, by message type. */
export const SettlementPayloads = {
  MatchProposal,
  MatchRefused,
  FillReport,
  FillRefused
} as const
