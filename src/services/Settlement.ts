/**
 * Settlement: the instance's decisions on operators' match proposals and fill reports. It
 * follows the log; for each MatchProposal it waits until the mempool and operators
 * projections have folded it, decides from their state (`decideMatch`,
 * src/domain/settlement/SettlementRules.ts) and publishes the verdict through Author:
 * OrdersMatched with the proposal's order ids, or MatchRefused with the reason. A FillReport
 * likewise becomes OrderFilled or FillRefused (`decideFill`); a report on a proposal whose
 * OrdersMatched the mempool refused whole at its fold is refused with that fold's reason. Each verdict names its
 * proposal or report among its deps, so a proposal's decision is its instance-authored
 * dependent (GET /v1/messages/{id}/dependents), and a restarted service skips what it
 * already decided. Decisions are made one at a time, each folded before the next, so two
 * proposals over one order never both pass. Replay folds the verdicts and never re-decides.
 *
 * Only operators' inputs are decided: a proposal or report whose sender was not an operator
 * at its place in the log (`operatorAt`, src/domain/operators/OperatorRegistry.ts; ingest
 * refuses them, so one in the log came before a removal was folded, or from a version
 * without the rule) gets no verdict, the same on every instance.
 */
import { isLeader, ledAt } from "../domain/cluster/Authority.ts"
import { operatorAt } from "../domain/operators/OperatorRegistry.ts"
import { Context, Effect, HashMap, Layer, Option, Schedule, Stream, SubscriptionRef } from "effect"
import { decideFill, decideMatch, type ProposalFacts, type Referenced, type Verdict } from "../domain/settlement/SettlementRules.ts"
import type { MessageType, PayloadInput } from "../domain/MessageTypes.ts"
import type { MessageId } from "../domain/Primitives.ts"
import { CausalLog, type LogRecord } from "../ports/CausalLog.ts"
import { Projections } from "../projections/ProjectionRunner.ts"
import { eventOf, payloadOf } from "../projections/RecordEvents.ts"
import { MempoolView, OperatorsView } from "../projections/Views.ts"
import { Author } from "./Author.ts"

/** The settlement service. */
export interface SettlementService {
  /** Wait until every record below `offset` has been looked at (and any verdict on it folded). */
  readonly awaitProcessed: (offset: number) => Effect.Effect<void>
  /** The instance's verdict on a proposal or fill report (its decision record), if it has decided. */
  readonly decisionOf: (id: string) => Effect.Effect<Option.Option<LogRecord>>
}

/** The settlement tag. */
export class Settlement extends Context.Service<Settlement, SettlementService>()("causeway/Settlement") {}

/** The types settlement decides on. */
const inputs: ReadonlySet<string> = new Set(["MatchProposal", "FillReport"])
/** The instance's verdicts, by the input type they answer. */
const verdictTypes: ReadonlySet<string> = new Set(["OrdersMatched", "MatchRefused", "OrderFilled", "FillRefused"])


/** Build settlement over Author, Projections and CausalLog; its follower lives in the layer's scope. */
export const make = Effect.gen(function*() {
  const author = yield* Author
  const runner = yield* Projections
  const log = yield* CausalLog
  const mempool = yield* MempoolView
  const operators = yield* OperatorsView
  const processed = yield* SubscriptionRef.make(0)

  // The verdict on an input: the first one naming it whose author led at the verdict's place
  // in the log (a deposed leader's late verdict does not count, and the next leader decides).
  const decisionOf = (id: string): Effect.Effect<Option.Option<LogRecord>> =>
    Effect.gen(function*() {
      const verdicts = (yield* log.dependents(id).pipe(Effect.orDie)).filter((d) => verdictTypes.has(d.type))
      if (verdicts.length === 0) return Option.none()
      yield* runner.awaitOffset(Math.max(...verdicts.map((d) => d.offset)) + 1)
      const { authority } = yield* mempool.state
      return Option.fromUndefinedOr(verdicts.find((d) => ledAt(authority, d.sender, d.offset)))
    })

  // Wait until this instance leads or someone who leads has decided: true when it should decide.
  const mayDecide = (id: string): Effect.Effect<boolean> =>
    Effect.gen(function*() {
      while (true) {
        if (Option.isSome(yield* decisionOf(id))) return false
        const { authority } = yield* mempool.state
        if (isLeader(authority, author.publicKey)) return true
        yield* Effect.sleep("250 millis")
      }
    })

  const referenced = (id: string | undefined): Effect.Effect<Referenced | undefined> =>
    id === undefined
      ? Effect.succeed(undefined)
      : log.get(id).pipe(
        Effect.map((r) => Option.isNone(r) ? undefined : { type: r.value.type, sender: r.value.sender, payload: eventOf(r.value)?.payload }),
        Effect.orDie
      )

  // Publish a verdict naming its input, and wait until the projections have folded it.
  const publish = <T extends MessageType>(type: T, payload: PayloadInput<T>, input: LogRecord) =>
    author.publish(type, payload, { deps: [input.id] }).pipe(
      Effect.tap((r) => runner.awaitOffset(r.offset + 1)),
      Effect.tapError((e) => Effect.logWarning(`settlement: ${type} was not accepted: ${e._tag}`)),
      Effect.asVoid
    )

  const states = Effect.gen(function*() {
    const m = yield* mempool.state
    const o = yield* operators.state
    return { mempool: m, operators: o, authority: m.authority }
  })

  const onProposal = Effect.fn("Settlement.proposal")(function*(record: LogRecord) {
    // The log holds only admitted envelopes (payloads decoded at ingest): a failure is a corrupt record.
    const proposal = payloadOf(record, "MatchProposal")
    if (proposal === undefined) return yield* Effect.logWarning(`settlement: proposal ${record.id} does not decode`)
    const proof = yield* referenced(proposal.proof)
    const s = yield* states
    const verdict = decideMatch(
      { operator: record.sender, proposal: proposal, deps: record.deps, proof, now: s.operators.now },
      s.mempool,
      s.operators.intents
    )
    yield* Effect.logInfo(`settlement: proposal ${record.id} over ${proposal.orders.length} orders ${verdict.ok ? "accepted" : "refused"}`)
    yield* verdict.ok
      ? publish("OrdersMatched", { orderIds: proposal.orders.map((c) => c.orderId) }, record)
      : publish("MatchRefused", { proposalId: record.id, reason: verdict.reason }, record)
  })

  // What the log says of a proposal: its sender, content, the instance's verdict, and whether
  // the mempool applied that verdict (an OrdersMatched is refused whole at its fold if a
  // cancellation or expiry landed between the decision and the verdict).
  const proposalFacts = (id: string): Effect.Effect<ProposalFacts | undefined> =>
    Effect.gen(function*() {
      const found = yield* log.get(id).pipe(Effect.orDie)
      if (Option.isNone(found) || found.value.type !== "MatchProposal") return undefined
      const proposal = payloadOf(found.value, "MatchProposal")
      if (proposal === undefined) return undefined
      const decision = yield* decisionOf(id)
      if (Option.isNone(decision) || decision.value.type !== "OrdersMatched") {
        return { operator: found.value.sender, proposal: proposal, accepted: false }
      }
      yield* runner.awaitOffset(decision.value.offset + 1)
      const m = yield* mempool.current
      const outcome = Option.getOrUndefined(HashMap.get(m.state.outcomes, decision.value.id))
      const refusedWhenApplied = outcome === undefined || outcome.accepted
        ? undefined
        : outcome.reason ?? "refused at the mempool's fold"
      return { operator: found.value.sender, proposal: proposal, accepted: true, refusedWhenApplied }
    })

  const onReport = Effect.fn("Settlement.report")(function*(record: LogRecord) {
    const report = payloadOf(record, "FillReport")
    if (report === undefined) return yield* Effect.logWarning(`settlement: fill report ${record.id} does not decode`)
    const proposal = yield* proposalFacts(report.proposalId)
    const evidence = yield* referenced(report.evidence)
    const s = yield* states
    const verdict: Verdict = decideFill(
      { reporter: record.sender, report: report, deps: record.deps, proposal, evidence, authority: s.authority },
      s.mempool
    )
    yield* verdict.ok
      ? publish("OrderFilled", { orderId: report.orderId, txHash: report.txHash }, record)
      : publish("FillRefused", { reportId: record.id, reason: verdict.reason }, record)
  })

  const handle = (record: LogRecord) =>
    Effect.gen(function*() {
      if (!inputs.has(record.type)) return
      // Decide only once the projections have folded the input itself, and only as the leader.
      yield* runner.awaitOffset(record.offset + 1)
      const o = yield* operators.state
      if (!operatorAt(o.registry, o.authority, record.sender, record.offset)) {
        return yield* Effect.logDebug(`settlement: ${record.type} ${record.id} is not from an operator; no verdict`)
      }
      if (!(yield* mayDecide(record.id))) return
      yield* record.type === "MatchProposal" ? onProposal(record) : onReport(record)
    }).pipe(Effect.catchCause((cause) => Effect.logError(`settlement: deciding on ${record.id} failed`, cause)))

  // Catch up from where it stopped (headers only, bodies of the inputs read back), then follow.
  const follow = Effect.gen(function*() {
    const from = yield* SubscriptionRef.get(processed)
    const end = yield* log.endOffset
    const due: Array<string> = []
    yield* log.scan(from, end, { withBody: false }, (r) => {
      if (inputs.has(r.type)) due.push(r.id)
    })
    for (const id of due) {
      const found = yield* log.get(id)
      if (Option.isSome(found)) yield* handle(found.value)
    }
    yield* SubscriptionRef.set(processed, end)
    yield* log.subscribe(end).pipe(
      Stream.runForEach((r) => handle(r).pipe(Effect.andThen(SubscriptionRef.set(processed, r.offset + 1))))
    )
  })
  yield* follow.pipe(
    Effect.catchCause((cause) => Effect.logError("settlement: following the log failed; resuming", cause)),
    Effect.repeat(Schedule.spaced("1 second")),
    Effect.forkScoped
  )

  const awaitProcessed = (offset: number): Effect.Effect<void> =>
    SubscriptionRef.changes(processed).pipe(Stream.filter((n) => n >= offset), Stream.runHead, Effect.asVoid)

  return { awaitProcessed, decisionOf } satisfies SettlementService
})

/** Settlement as a layer over Author, Projections and CausalLog. */
export const layer = Layer.effect(Settlement, make)
