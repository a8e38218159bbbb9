/**
 * Handlers of the operators group (OperatorsApi.ts): each reads the operators projection's
 * state and translates it into the contract's views; the MEV distribution is the domain's
 * calculateMevDistribution. No rule is decided here. Registering and removing an operator
 * call OperatorRegistration, which decides and publishes; without Author in context (a core
 * that cannot publish) they are answered 503.
 */
import { Effect, Option, Result } from "effect"
import { HttpApiBuilder } from "effect/http-api"
import type { Intent } from "../../domain/operators/Intents.ts"
import { calculateMevDistribution } from "../../domain/operators/MevDistribution.ts"
import { MAX_OPEN_INTENTS, operatorOf, operatorsOf } from "../../domain/operators/OperatorRegistry.ts"
import type { Rejection } from "../../domain/Rejection.ts"
import type { CausalLogError } from "../../ports/CausalLog.ts"
import { Projections } from "../../projections/ProjectionRunner.ts"
import { Author } from "../../services/Author.ts"
import type { Appended } from "../../services/Ingest.ts"
import { type NotOperatorAuthority as NotLeading, registerOperator, removeOperator } from "../../services/OperatorRegistration.ts"
import { InstanceKey } from "../../ports/InstanceKey.ts"
import {
  auctionOf,
  intentById,
  intentsByOperator,
  intentsByOrder,
  refusalOf
} from "../../projections/Operators/Operators.ts"
import { OperatorsView } from "../../projections/Views.ts"
import { Api } from "./Api.ts"
import { InvalidRequest } from "./EdgeApi.ts"
import {
  AuctionNotFound,
  DEFAULT_INTENTS,
  IntentNotFound,
  type IntentView,
  NotOperatorAuthority,
  OperatorNotFound,
  OperatorNotPublished,
  RefusalNotFound
} from "./OperatorsApi.ts"

const notPublished = (reason: string) => new OperatorNotPublished({ reason })

/** A registry change's failure as the contract's error; a rejection of the instance's own message is a bug unless it says who may decide. */
const registryError = (e: NotLeading | Rejection | CausalLogError): Effect.Effect<never, NotOperatorAuthority | OperatorNotPublished> => {
  switch (e._tag) {
    case "NotOperatorAuthority":
      return Effect.fail(new NotOperatorAuthority({ reason: e.reason, leader: e.leader }))
    case "NotAuthorized":
      return Effect.fail(new NotOperatorAuthority({ reason: `${e.reason}: this instance is not a member of the cluster`, leader: null }))
    case "CausalLogError":
      return Effect.fail(notPublished(`the log's storage failed during ${e.operation}; nothing was changed; retry later`))
    default:
      return Effect.die(e)
  }
}

const receipt = (operator: string) => (r: Appended) => ({ id: r.id, offset: r.offset, lamport: r.lamport, operator })

/** An intent as the API serves it. */
export const intentView = (i: Intent): IntentView => ({
  id: i.id,
  operator: i.operator,
  via: i.via,
  offset: i.offset,
  status: i.status,
  commitment: i.commitment,
  revealId: i.revealId,
  orderIds: i.body === null ? null : i.body.orderIds,
  windowStart: i.body?.windowStart ?? null,
  windowEnd: i.body?.windowEnd ?? null,
  heldFrom: i.heldFrom,
  reason: i.reason,
  conflictWith: i.conflictWith,
  settledInBatch: i.settledInBatch,
  expiredInBatch: i.expiredInBatch
})

/** The operators group's handlers, over the operators view and InstanceKey. */
export const layer = HttpApiBuilder.group(Api, "operators", (handlers) =>
  Effect.gen(function*() {
    const key = yield* InstanceKey
    const operators = yield* OperatorsView
    const { current, state } = operators
    const runner = yield* Projections
    const author = yield* Effect.serviceOption(Author)
    const deps = Option.isSome(author) ? { author: author.value, runner, operators } : undefined
    const register = deps === undefined ? undefined : registerOperator(deps)
    const remove = deps === undefined ? undefined : removeOperator(deps)

    return handlers
      .handle("operators", () =>
        Effect.map(current, ({ offset, state: s }) => ({
          operators: operatorsOf(s.registry).map((o) => ({ operator: o.operator, name: o.name, messageId: o.id, messageOffset: o.offset, since: o.since })),
          instanceCounts: true,
          maxOpenIntents: MAX_OPEN_INTENTS,
          offset
        })))
      .handle("registerOperator", ({ payload }) =>
        register === undefined
          ? Effect.fail(notPublished("this server has no instance author: it cannot publish registrations"))
          : register(payload).pipe(Effect.map(receipt(payload.operator)), Effect.catch(registryError)))
      .handle("removeOperator", ({ query }) =>
        Effect.gen(function*() {
          if (remove === undefined) return yield* notPublished("this server has no instance author: it cannot publish removals")
          const s = yield* state
          if (operatorOf(s.registry, query.key) === undefined) {
            return yield* new OperatorNotFound({ reason: `${query.key} is not a registered operator`, operator: query.key })
          }
          return yield* remove({ operator: query.key }).pipe(Effect.map(receipt(query.key)), Effect.catch(registryError))
        }))
      .handle("intent", ({ params }) =>
        state.pipe(Effect.flatMap((s) => {
          const found = intentById(s, params.id)
          return found === undefined
            ? Effect.fail(new IntentNotFound({ reason: `no intent ${params.id} (the id of a ComputationIntent or IntentCommitment)`, id: params.id }))
            : Effect.succeed(intentView(found))
        })))
      .handle("intents", ({ query }) =>
        Effect.gen(function*() {
          if ((query.operator === undefined) === (query.order === undefined)) {
            return yield* new InvalidRequest({ reason: "give exactly one of the query parameters operator and order" })
          }
          const { offset, state: st } = yield* current
          const all = query.operator !== undefined ? intentsByOperator(st, query.operator) : intentsByOrder(st, query.order ?? "")
          const from = query.fromOffset ?? 0
          const limit = query.limit ?? DEFAULT_INTENTS
          const page = all.filter((i) => i.offset >= from).slice(0, limit + 1)
          return {
            logTime: { now: st.now, openBatch: st.openBatch, offset },
            intents: page.slice(0, limit).map(intentView),
            next: page.length > limit ? (page[limit]?.offset ?? null) : null
          }
        }))
      .handle("auction", ({ params }) =>
        state.pipe(Effect.flatMap((s) => {
          const found = auctionOf(s, params.batch)
          if (found === undefined) {
            const reason = params.batch < s.openBatch
              ? `batch ${params.batch} was sealed without a bid`
              : params.batch === s.openBatch
              ? `batch ${params.batch} is open and has no bid yet`
              : `batch ${params.batch} is not open yet (the open batch is ${s.openBatch})`
            return Effect.fail(new AuctionNotFound({ reason, batch: params.batch }))
          }
          const winner = found.bids.find((b) => b.id === found.auction.winner)
          return Effect.succeed({
            batch: found.auction.batch,
            phase: found.auction.phase,
            closedBy: found.auction.closedBy,
            settledBy: found.auction.settledBy,
            winner: winner === undefined ? null : { bid: winner.id, bidder: winner.bidder, amount: winner.amount ?? "0" },
            bids: found.bids.map((b) => ({
              id: b.id,
              bidder: b.bidder,
              offset: b.offset,
              commitment: b.commitment,
              status: b.status,
              amount: b.amount,
              revealId: b.revealId
            }))
          })
        })))
      .handle("refusal", ({ params }) =>
        state.pipe(Effect.flatMap((s) => {
          const found = refusalOf(s, params.id)
          return found === undefined
            ? Effect.fail(new RefusalNotFound({ reason: `no refusal is recorded for ${params.id}: it was accepted, is not in the log yet, or is not an operator reveal or bid`, id: params.id }))
            : Effect.succeed({ id: params.id, ...found })
        })))
      .handle("mevDistribution", ({ payload }) => {
        const result = calculateMevDistribution(
          BigInt(payload.extracted),
          payload.participants.map((p) => ({ id: p.id, weight: BigInt(p.weight) }))
        )
        if (Result.isFailure(result)) return Effect.fail(result.failure)
        return Effect.succeed({
          extracted: payload.extracted,
          totalWeight: result.success.reduce((a, s) => a + s.weight, 0n).toString(),
          shares: result.success.map((s) => ({ id: s.id, weight: s.weight.toString(), share: s.share.toString() }))
        })
      })
  }))
