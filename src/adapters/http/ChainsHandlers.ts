/**
 * Handlers of the chains group (ChainsApi.ts): the reads translate the chain-state
 * projection into the contract's views; the actions (prove, watch, submit) call the chain
 * feed, which decides and publishes, and translate its failures into typed statuses.
 * Without a feed in context (a core with no chain feed) every chain is unknown to them.
 */
import { Effect, HashMap, Option } from "effect"
import { HttpApiBuilder } from "effect/http-api"
import { InstanceKey } from "../../ports/InstanceKey.ts"
import {
  archivedProvenKey,
  archivedProvenOf,
  type ChainEntry,
  type ChainState,
  chainNames,
  chainOf,
  type HeaderEntry,
  headerOf,
  headersOf,
  latestProofs
} from "../../projections/ChainState/ChainState.ts"
import { ChainStateView } from "../../projections/Views.ts"
import type { CausalLogError } from "../../ports/CausalLog.ts"
import type { ChainObserverError, RpcHeadClaim } from "../../ports/ChainObserver.ts"
import { ChainFeed, type HeaderNotHeld, type PublishedProof, type UnknownChain as UnknownChainFailure } from "../../services/ChainFeed.ts"
import type { Rejection } from "../../domain/Rejection.ts"
import { Api } from "./Api.ts"
import { Caller } from "./EdgeApi.ts"
import {
  ChainAnswerInvalid,
  type ChainSummary,
  ChainUnreachable,
  type ChainView,
  HeaderChanged,
  HeaderNotFound,
  type HeaderView,
  InvalidStateKey,
  ProvenValueNotFound,
  PublishFailed,
  StateNotFound,
  TransactionRejected,
  UnknownChain,
  WatchConfigured,
  WatchLimitReached,
  WatchNotFound
} from "./ChainsApi.ts"

const headerView = (h: HeaderEntry): HeaderView => ({
  height: h.height,
  hash: h.hash,
  parentHash: h.parentHash,
  stateRoot: h.stateRoot,
  time: h.time,
  messageId: h.id
})

/** A chain as the list serves it. */
export const chainSummary = (chain: string, c: ChainEntry): ChainSummary => ({
  chain,
  kind: c.kind,
  latest: c.head,
  safe: c.safe,
  finalized: c.finalized,
  reorgCount: c.reorgCount
})

/** A chain in full, with what its RPC last claimed as its head (service state, null when unknown). */
export const chainView = (chain: string, c: ChainEntry, offset: number, rpcHead: RpcHeadClaim | null = null): ChainView => {
  const headers = headersOf(c)
  const latest = c.head === null ? undefined : headerOf(c, c.head.height)
  return {
    ...chainSummary(chain, c),
    latestHeader: latest === undefined || latest.hash !== c.head?.hash ? null : headerView(latest),
    headers: headers.length === 0 ? null : { from: headers[0]!.height, to: headers.at(-1)!.height, count: headers.length },
    reorgs: c.reorgs.map(({ id, ...r }) => ({ ...r, messageId: id })),
    proven: latestProofs(c).map(({ id, ...p }) => ({ ...p, messageId: id })),
    misbehaviours: c.misbehaviours.map(({ id, ...m }) => ({ ...m, messageId: id })),
    ignored: c.ignored,
    offset,
    rpcHead
  }
}

const unknownChain = (chain: string) =>
  new UnknownChain({ reason: `no chain ${JSON.stringify(chain)} is observed by this instance; GET /v1/chains lists them`, chain })

/** An observer's failure as the contract's error. */
const observerError = (chain: string, key: string) => (e: ChainObserverError) => {
  switch (e.reason) {
    case "InvalidKey":
      return new InvalidStateKey({ reason: e.detail, chain, key })
    case "NotFound":
      return new StateNotFound({ reason: e.detail, chain })
    case "Unreachable":
      return new ChainUnreachable({ reason: e.detail, chain })
    case "Rejected":
      return new TransactionRejected({ reason: e.detail, chain })
    case "InvalidProof":
    case "InvalidHeader":
    case "Disagreement":
      return new ChainAnswerInvalid({ reason: `${e.reason}: ${e.detail}; nothing was published`, chain, failure: e.reason })
  }
}

// Proving submits nothing: the chain cannot have refused a transaction.
const proofFailure = (chain: string, key: string, e: ChainObserverError) => {
  const mapped = observerError(chain, key)(e)
  return mapped._tag === "TransactionRejected" ? Effect.die(e) : Effect.fail(mapped)
}

const notHeld = (e: HeaderNotHeld) =>
  e.changed
    ? new HeaderChanged({ reason: e.reason, chain: e.chain, height: e.height ?? -1 })
    : new HeaderNotFound({ reason: e.reason, chain: e.chain, height: e.height ?? -1 })

// A rejection of the instance's own message is a bug (its payloads are built to decode); a storage failure may pass.
const publishFailed = (e: Rejection | CausalLogError) =>
  e._tag === "CausalLogError"
    ? Effect.fail(new PublishFailed({ reason: `the log's storage failed during ${e.operation}; nothing was published; retry later` }))
    : Effect.die(e)

/** A failure of proving and publishing as the contract's error. */
const feedFailure = (chain: string, key: string) =>
(
  e: UnknownChainFailure | ChainObserverError | HeaderNotHeld | Rejection | CausalLogError
): Effect.Effect<never, UnknownChain | InvalidStateKey | StateNotFound | HeaderNotFound | HeaderChanged | ChainAnswerInvalid | ChainUnreachable | PublishFailed> => {
  switch (e._tag) {
    case "UnknownChain":
      return Effect.fail(unknownChain(e.chain))
    case "ChainObserverError":
      return proofFailure(chain, key, e)
    case "HeaderNotHeld":
      return Effect.fail(notHeld(e))
    case "CausalLogError":
      return publishFailed(e)
    default:
      return Effect.die(e)
  }
}

const publishedView = (p: PublishedProof) => ({
  proof: { chain: p.proof.chain, height: p.proof.height, headerHash: p.proof.headerHash, kind: p.proof.kind, key: p.proof.key, value: p.proof.value, proof: p.proof.proof },
  header: { height: p.header.height, hash: p.header.hash, stateRoot: p.header.stateRoot, messageId: p.header.id },
  receipt: { id: p.receipt.id, offset: p.receipt.offset, lamport: p.receipt.lamport }
})

/** The chains group's handlers, over the chain-state view and InstanceKey (and the chain feed when there is one). */
export const layer = HttpApiBuilder.group(Api, "chains", (handlers) =>
  Effect.gen(function*() {
    const key = yield* InstanceKey
    const feed = yield* Effect.serviceOption(ChainFeed)
    const withFeed = Option.isSome(feed) ? feed.value : undefined
    const feedFor = (chain: string) =>
      withFeed === undefined || !withFeed.chains.includes(chain) ? Effect.fail(unknownChain(chain)) : Effect.succeed(withFeed)
    const { archived, current } = yield* ChainStateView
    const known = (state: ChainState, chain: string) => {
      const c = chainOf(state, chain)
      return c === undefined
        ? Effect.fail(new UnknownChain({ reason: `no chain ${JSON.stringify(chain)} is observed; GET /v1/chains lists them`, chain }))
        : Effect.succeed(c)
    }

    return handlers
      .handle("list", () => current.pipe(Effect.map(({ state }) => chainNames(state).map((name) => chainSummary(name, chainOf(state, name)!)))))
      .handle("chain", ({ params }) =>
        Effect.gen(function*() {
          const { offset, state } = yield* current
          const c = yield* known(state, params.chain)
          const claim = withFeed === undefined ? undefined : yield* withFeed.rpcHead(params.chain)
          return chainView(params.chain, c, offset, claim ?? null)
        }))
      .handle("header", ({ params }) =>
        Effect.gen(function*() {
          const { state } = yield* current
          const c = yield* known(state, params.chain)
          const h = headerOf(c, params.height)
          if (h === undefined) {
            const held = headersOf(c)
            const where = c.head === null || params.height > c.head.height
              ? `above the latest verified height ${c.head?.height ?? "(none)"}`
              : held.length > 0 && params.height < held[0]!.height
              ? `below the oldest header kept (${held[0]!.height})`
              : "not among the headers seen (the observer started or re-anchored above it)"
            return yield* new HeaderNotFound({ reason: `no header of ${params.chain} at height ${params.height}: ${where}`, chain: params.chain, height: params.height })
          }
          const finalized = c.finalized !== null && h.height <= c.finalized.height
          return { chain: params.chain, header: headerView(h), safe: finalized || (c.safe !== null && h.height <= c.safe.height), finalized }
        }))
      .handle("proven", ({ params, query }) =>
        Effect.gen(function*() {
          const { offset, state } = yield* current
          const c = yield* known(state, params.chain)
          const held = Option.getOrUndefined(HashMap.get(c.proofs, query.key))
          // Read memory first: a key the runner archives after this read is then on disk.
          const stored = held === undefined ? Option.getOrUndefined(yield* archived(archivedProvenKey(params.chain, query.key))) : undefined
          const entries = held ?? (stored === undefined ? undefined : archivedProvenOf(stored)?.proofs)
          if (entries === undefined) {
            return yield* new ProvenValueNotFound({
              reason: `no value of key ${query.key.slice(0, 80)} was proven on ${params.chain}; POST /v1/chains/${params.chain}/proofs proves one`,
              chain: params.chain,
              key: query.key
            })
          }
          return { chain: params.chain, key: query.key, proven: entries.map(({ id, ...e }) => ({ key: query.key, ...e, messageId: id })), archived: held === undefined, offset }
        }))
      .handle("prove", ({ params, payload }) =>
        Effect.flatMap(feedFor(params.chain), (f) => f.prove(params.chain, payload.key, payload.height)).pipe(
          Effect.map(publishedView),
          Effect.catch(feedFailure(params.chain, payload.key))
        ))
      .handle("watches", ({ params }) =>
        Effect.flatMap(feedFor(params.chain), (f) => f.watches(params.chain)).pipe(
          Effect.map((ws) => ({ chain: params.chain, watches: ws.map((w) => ({ key: w.key, messageId: w.id, owner: w.owner })) })),
          Effect.catchTag("UnknownChain", (e) => Effect.fail(unknownChain(e.chain)))
        ))
      .handle("watch", ({ params, payload }) =>
        Effect.flatMap(Effect.zip(feedFor(params.chain), Caller), ([f, caller]) => f.addWatch(params.chain, payload.key, caller.token)).pipe(
          Effect.map((r) => ({
            chain: params.chain,
            created: r.created,
            watch: { key: r.watch.key, messageId: r.watch.id, owner: r.watch.owner },
            proof: r.proof === undefined ? null : publishedView(r.proof)
          })),
          Effect.catch((e): Effect.Effect<never, WatchLimitReached | Effect.Error<ReturnType<ReturnType<typeof feedFailure>>>> =>
            e._tag === "WatchLimitReached"
              ? Effect.fail(
                new WatchLimitReached({
                  reason: e.owner === undefined
                    ? `${e.chain} has ${e.limit} watched keys, the most it may; remove one first (DELETE /v1/chains/${e.chain}/watches)`
                    : `the token ${JSON.stringify(e.owner)} owns ${e.limit} chain watches, the most one token may; remove one of them first (DELETE /v1/chains/{chain}/watches)`,
                  chain: e.chain,
                  limit: e.limit
                })
              )
              : feedFailure(params.chain, payload.key)(e))
        ))
      .handle("unwatch", ({ params, query }) =>
        Effect.flatMap(feedFor(params.chain), (f) => f.removeWatch(params.chain, query.key)).pipe(
          Effect.map((r) => ({ chain: params.chain, key: query.key, receipt: { id: r.id, offset: r.offset, lamport: r.lamport } })),
          Effect.catch((e): Effect.Effect<never, UnknownChain | WatchNotFound | WatchConfigured | PublishFailed> => {
            switch (e._tag) {
              case "UnknownChain":
                return Effect.fail(unknownChain(e.chain))
              case "WatchNotFound":
                return Effect.fail(new WatchNotFound({ reason: `${e.key} is not watched on ${e.chain}; GET /v1/chains/${e.chain}/watches lists the watches`, chain: e.chain, key: e.key }))
              case "WatchConfigured":
                return Effect.fail(new WatchConfigured({ reason: `${e.key} is watched by the service's configuration, not by a decision in the log; it cannot be removed here`, chain: e.chain, key: e.key }))
              case "CausalLogError":
                return publishFailed(e)
              default:
                return Effect.die(e)
            }
          })
        ))
      .handle("transaction", ({ params, payload }) =>
        Effect.flatMap(feedFor(params.chain), (f) => f.submitTransaction(params.chain, payload.raw)).pipe(
          Effect.map((hash) => ({ chain: params.chain, hash })),
          Effect.catchTags({
            UnknownChain: (e) => Effect.fail(unknownChain(e.chain)),
            ChainObserverError: (e) => {
              const mapped = observerError(params.chain, "")(e)
              // A transaction has no state key: a key error cannot come from submitting one.
              return mapped._tag === "InvalidStateKey" ? Effect.die(e) : Effect.fail(mapped)
            }
          })
        ))
  }))
