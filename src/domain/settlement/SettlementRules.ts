/**
 * Settlement's decisions as pure functions of the projections' state: whether an operator's
 * match proposal may become an OrdersMatched, and whether its fill report may become an
 * OrderFilled. The settlement service (src/services/Settlement.ts) calls them and publishes
 * the verdict as an event, so replay folds the verdict and never re-decides; anyone holding
 * the log can re-run them on the state the log folds to (docs/mempool.md, Settlement).
 *
 * Time is the operators projection's: the `sealedAt` of the latest seal (docs/operators.md).
 */
import { type AuthorityState, isMember } from "../cluster/Authority.ts"
import { HashMap, Option } from "effect"
import type { IntentsState } from "../operators/Intents.ts"
import { entryOf, type MempoolState, statusOf } from "../mempool/MempoolFold.ts"
import type { FillReport, MatchProposal } from "./SettlementMessages.ts"

/** A verdict: accepted, or refused with the first reason found. */
export type Verdict = { readonly ok: true } | { readonly ok: false; readonly reason: string }

const refused = (reason: string): Verdict => ({ ok: false, reason: reason.slice(0, 512) })
const accepted: Verdict = { ok: true }

/** A record the proposal or report names (its proof or evidence), as found in the log; undefined if it is not. */
export interface Referenced {
  readonly type: string
  readonly sender: string
  /** Its decoded payload, for CrossChainEvent and LightClientProof. */
  readonly payload: unknown
}

/** Does `operator` hold an intent over `orderId` at log time `now`? Held, and its window begun. */
export const holdsLive = (intents: IntentsState, operator: string, orderId: string, now: number): boolean => {
  const holders = Option.getOrUndefined(HashMap.get(intents.holders, orderId))
  if (holders === undefined) return false
  for (const id of holders) {
    const intent = Option.getOrUndefined(HashMap.get(intents.intents, id))
    if (intent === undefined || intent.operator !== operator || intent.status !== "held" || intent.body === null) continue
    if ((intent.heldFrom ?? Infinity) <= now && now < intent.body.windowEnd) return true
  }
  return false
}

/** Who else holds `orderId` now, for the refusal's reason. */
const otherHolder = (intents: IntentsState, operator: string, orderId: string): string | undefined => {
  const holders = Option.getOrUndefined(HashMap.get(intents.holders, orderId))
  if (holders === undefined) return undefined
  for (const id of holders) {
    const intent = Option.getOrUndefined(HashMap.get(intents.intents, id))
    if (intent !== undefined && intent.status === "held" && intent.operator !== operator) return id
  }
  return undefined
}

/**
 * May `operator`'s proposal match its orders? Checked in the proposal's order, the first
 * failure is the reason: the proof (if named) is the operator's ProofAnnouncement among the
 * deps; no order twice; each order is revealed and sealed (not locked, committed, matched,
 * cancelled, expired or refused); the operator holds a live intent over it; its clearing
 * takes 0 < amountIn ≤ the order's amountIn and pays amountOut with
 * amountOut · order.amountIn ≥ order.minAmountOut · amountIn (the order's own rate, pro
 * rata; exact integers); and every order of its bundle is in the proposal.
 */
export const decideMatch = (
  input: {
    readonly operator: string
    readonly proposal: MatchProposal
    readonly deps: ReadonlyArray<string>
    readonly proof: Referenced | undefined
    /** The log's time: the operators projection's `now`. */
    readonly now: number
  },
  mempool: MempoolState,
  intents: IntentsState
): Verdict => {
  const { operator, proposal, now } = input
  if (proposal.proof !== undefined) {
    if (!input.deps.includes(proposal.proof)) return refused(`the proof ${proposal.proof} must be among the proposal's deps`)
    if (input.proof?.type !== "ProofAnnouncement") return refused(`${proposal.proof} is not a ProofAnnouncement`)
    if (input.proof.sender !== operator) return refused(`the ProofAnnouncement ${proposal.proof} is not the operator's`)
  }
  const ids = new Set<string>()
  for (const c of proposal.orders) {
    if (ids.has(c.orderId)) return refused(`order ${c.orderId} is named twice`)
    ids.add(c.orderId)
  }
  for (const c of proposal.orders) {
    const entry = entryOf(mempool, c.orderId)
    if (entry === undefined) return refused(`order ${c.orderId}: no such order in the mempool`)
    const status = statusOf(mempool, entry)
    if (status === "committed" || status === "sequenced") {
      return refused(`order ${c.orderId} is ${status}: its content is not revealed (committed or still locked)`)
    }
    if (status !== "revealed" || entry.order === null) return refused(`order ${c.orderId} is ${status}, not revealed`)
    if (!holdsLive(intents, operator, c.orderId, now)) {
      const other = otherHolder(intents, operator, c.orderId)
      return refused(`the operator holds no live intent over order ${c.orderId} at log time ${now}${other === undefined ? "" : ` (intent ${other} of another operator holds it)`}`)
    }
    const inOrder = BigInt(entry.order.amountIn)
    const minOut = BigInt(entry.order.minAmountOut)
    const amountIn = BigInt(c.amountIn)
    const amountOut = BigInt(c.amountOut)
    if (amountIn === 0n) return refused(`order ${c.orderId}: amountIn must be positive`)
    if (amountIn > inOrder) return refused(`order ${c.orderId}: amountIn ${amountIn} exceeds the order's amountIn ${inOrder}`)
    if (amountOut * inOrder < minOut * amountIn) {
      return refused(`order ${c.orderId}: amountOut ${amountOut} for amountIn ${amountIn} is below the order's minAmountOut ${minOut} per amountIn ${inOrder}`)
    }
    for (const b of entry.order.bundle ?? []) {
      if (!ids.has(b)) return refused(`order ${c.orderId} must execute with its bundle, but ${b} is not in the proposal`)
    }
  }
  return accepted
}

/** What the log says of the proposal a fill report names. */
export interface ProposalFacts {
  /** Its sender. */
  readonly operator: string
  readonly proposal: MatchProposal
  /** The instance accepted it (an OrdersMatched of the instance names it among its deps). */
  readonly accepted: boolean
  /**
   * Why the mempool refused that OrdersMatched whole when it folded it (a cancellation or
   * expiry landed between the decision and the verdict), or undefined if it was applied: the
   * verdict's outcome in the mempool state.
   */
  readonly refusedWhenApplied?: string | undefined
}

/**
 * May this fill report become an OrderFilled? The reporter made the named proposal, which the
 * instance accepted, whose OrdersMatched the mempool applied (not refused whole at its fold),
 * and which clears the order; the order is matched (not yet filled); the
 * chain is the order's; and the evidence, if named, is among the deps and is the instance's
 * CrossChainEvent from that chain with that tx hash, or its LightClientProof on that chain.
 */
export const decideFill = (
  input: {
    readonly reporter: string
    readonly report: FillReport
    readonly deps: ReadonlyArray<string>
    readonly proposal: ProposalFacts | undefined
    readonly evidence: Referenced | undefined
    /** Who decides (the evidence must be a member's: the instance of a deployment of one). */
    readonly authority: AuthorityState
  },
  mempool: MempoolState
): Verdict => {
  const { report, proposal } = input
  if (proposal === undefined || proposal.operator !== input.reporter) return refused(`no match proposal of the reporter with id ${report.proposalId}`)
  if (!proposal.accepted) return refused(`the proposal ${report.proposalId} was not accepted`)
  if (proposal.refusedWhenApplied !== undefined) {
    return refused(`the proposal ${report.proposalId} was refused when applied: ${proposal.refusedWhenApplied}`)
  }
  if (!proposal.proposal.orders.some((c) => c.orderId === report.orderId)) return refused(`order ${report.orderId} is not in the proposal`)
  const entry = entryOf(mempool, report.orderId)
  if (entry === undefined || entry.order === null) return refused(`order ${report.orderId}: no such order in the mempool`)
  if (entry.status !== "matched") return refused(`order ${report.orderId} is ${statusOf(mempool, entry)}, not matched`)
  if (entry.order.chain !== report.chain) return refused(`order ${report.orderId} is on chain ${entry.order.chain}, not ${report.chain}`)
  if (report.evidence !== undefined) {
    const ev = input.evidence
    if (!input.deps.includes(report.evidence)) return refused(`the evidence ${report.evidence} must be among the report's deps`)
    if (ev === undefined || !isMember(input.authority, ev.sender)) return refused(`the evidence ${report.evidence} is not a record the instance verified`)
    const p = ev.payload as Record<string, unknown> | undefined
    if (ev.type === "CrossChainEvent") {
      if (p?.["sourceChain"] !== report.chain || p["txHash"] !== report.txHash) {
        return refused(`the CrossChainEvent ${report.evidence} is not transaction ${report.txHash} on ${report.chain}`)
      }
    } else if (ev.type === "LightClientProof") {
      if (p?.["chain"] !== report.chain) return refused(`the LightClientProof ${report.evidence} is not on ${report.chain}`)
    } else {
      return refused(`the evidence ${report.evidence} is a ${ev.type}, not a CrossChainEvent or LightClientProof`)
    }
  }
  return accepted
}
