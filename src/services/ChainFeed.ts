/**
 * The chain feed: follows every configured chain observer and publishes what it reports as
 * the instance's own messages (Author), so the chain-observer projection folds them and a
 * replay of the log reproduces them:
 * - Head → ChainHeadVerified, Reorg → ChainReorged (naming the fork point),
 *   Finalized → ChainFinalized, Safe → ChainSafe, Misbehaviour → ChainMisbehaviourDetected
 *   (also logged as an error);
 * - at each new head, every watched key of that chain is proven and, when its value changed,
 *   published as a LightClientProof against that head.
 *
 * Nothing is published twice across restarts: following resumes from the projection's
 * latest headers (the observer's `followFrom`, so a reorg that happened while the instance
 * was down is still reported), and an event the projection would not fold (a header at or
 * below its head, a mark that does not advance) is dropped before it is published. A failed
 * observer is retried with a growing delay (1 s doubling to 30 s), resuming the same way.
 */
import { Context, Data, Effect, Layer, Stream } from "effect"
import type { MessageType } from "../domain/MessageTypes.ts"
import type { MessageId } from "../domain/Primitives.ts"
import type { Rejection } from "../domain/Rejection.ts"
import { CausalLog, type CausalLogError } from "../ports/CausalLog.ts"
import {
  type ChainObserverError,
  ChainObservers,
  type ChainObserverService,
  type HeadEvent,
  type StateProof
} from "../ports/ChainObserver.ts"
import {
  type ChainEvent,
  type ChainState,
  chainOf,
  evolveChainState,
  followCursor,
  latestProofs,
  makeChainState
} from "../projections/ChainState/ChainState.ts"
import { Projections } from "../projections/ProjectionRunner.ts"
import { Author } from "./Author.ts"
import type { Receipt } from "./Ingest.ts"

/** A state key to prove at every new head of a chain. */
export interface Watch {
  readonly chain: string
  readonly key: string
}

/** Options of the feed. */
export interface ChainFeedOptions {
  readonly watches?: ReadonlyArray<Watch>
  /** First retry delay after an observer failed, ms (default 1,000; doubles up to `retryMaxMs`). */
  readonly retryBaseMs?: number
  /** Longest retry delay, ms (default 30,000). */
  readonly retryMaxMs?: number
}

/** No observer follows that chain. */
export class UnknownChain extends Data.TaggedError("UnknownChain")<{ readonly chain: string }> {}

/** The feed service. */
export interface ChainFeedService {
  /** The chains followed, sorted. */
  readonly chains: ReadonlyArray<string>
  /** Prove a key at a height of a chain and publish the proof as a LightClientProof. */
  readonly publishProof: (
    chain: string,
    height: number,
    key: string
  ) => Effect.Effect<Receipt, UnknownChain | ChainObserverError | Rejection | CausalLogError>
}

/** The feed tag. */
export class ChainFeed extends Context.Service<ChainFeed, ChainFeedService>()("causeway/ChainFeed") {}

type Published = { readonly type: MessageType; readonly payload: unknown }

/** The message a head event becomes, for a chain of the given kind. */
export const messageOf = (event: HeadEvent, kind: ChainObserverService["kind"]): ChainEvent => {
  switch (event._tag) {
    case "Head": {
      const h = event.header
      return { type: "ChainHeadVerified", payload: { chain: h.chain, kind, height: h.height, hash: h.hash, parentHash: h.parentHash, stateRoot: h.stateRoot, time: h.time } } as ChainEvent
    }
    case "Reorg":
      return {
        type: "ChainReorged",
        payload: {
          chain: event.chain,
          forkHeight: event.forkHeight,
          forkHash: event.forkHash,
          oldHead: { height: event.oldHead.height, hash: event.oldHead.hash },
          newHead: { height: event.newHead.height, hash: event.newHead.hash }
        }
      } as ChainEvent
    case "Finalized":
    case "Safe":
      return {
        type: event._tag === "Finalized" ? "ChainFinalized" : "ChainSafe",
        payload: { chain: event.header.chain, height: event.header.height, hash: event.header.hash }
      } as ChainEvent
    case "Misbehaviour": {
      const e = event.evidence
      return {
        type: "ChainMisbehaviourDetected",
        payload: {
          chain: e.chain,
          height: e.height,
          commonHeight: e.commonHeight,
          commonHash: e.commonHash,
          primary: { hash: e.primary.header.hash, header: e.primary.encoded },
          witness: { hash: e.witness.header.hash, header: e.witness.encoded }
        }
      } as ChainEvent
    }
  }
}

/** The LightClientProof message of a proven state value. */
export const proofMessageOf = (p: StateProof): ChainEvent =>
  ({
    type: "LightClientProof",
    payload: { chain: p.chain, height: p.height, headerHash: p.headerHash, kind: p.kind, key: p.key, value: p.value, proof: p.proof }
  }) as ChainEvent

/** Build the feed over the observers, the author and the projections in context. */
export const make = (options: ChainFeedOptions = {}) =>
  Effect.gen(function*() {
    const observers = yield* ChainObservers
    const author = yield* Author
    const runner = yield* Projections
    const log = yield* CausalLog
    const projection = makeChainState({ instanceKey: author.publicKey })
    const retryBase = options.retryBaseMs ?? 1000
    const retryMax = options.retryMaxMs ?? 30_000

    /** The projection's state once it has folded the whole log (so it includes our own last messages). */
    const current = Effect.gen(function*() {
      yield* runner.awaitOffset(yield* log.endOffset)
      return (yield* runner.state(projection)).state
    })

    const publish = (message: Published, deps: ReadonlyArray<MessageId>) =>
      author.publish(message.type, message.payload, { deps })

    // One run of following a chain: from the projection's state, until the observer fails.
    const followOnce = (observer: ChainObserverService, watches: ReadonlyArray<string>, onPublished: () => void) =>
      Effect.gen(function*() {
        const chain = observer.chain
        // A local copy of the projection's view of this chain: what would be folded is published.
        let local: ChainState = yield* current
        let last: MessageId | undefined
        const emit = (event: ChainEvent) =>
          Effect.gen(function*() {
            const before = chainOf(local, chain)
            const next = evolveChainState(local, event, "")
            const after = chainOf(next, chain)
            // The projection would not fold it (a repeat, or it does not link): dropping it changes nothing.
            if (after === undefined || (before?.ignored ?? 0) !== after.ignored) {
              if (event.type === "ChainHeadVerified" || event.type === "ChainReorged") {
                yield* Effect.logDebug("chain event not published: the chain-state projection would not fold it").pipe(
                  Effect.annotateLogs({ chain, type: event.type, height: "height" in event.payload ? event.payload.height : event.payload.forkHeight })
                )
              }
              return false
            }
            const receipt = yield* publish(event, last === undefined ? [] : [last])
            last = receipt.id
            local = next
            onPublished()
            return true
          })
        const proveWatches = (height: number) =>
          Effect.forEach(watches, (key) =>
            observer.prove(height, key).pipe(
              Effect.flatMap((p) => {
                const held = latestProofs(chainOf(local, chain)!).find((e) => e.key === p.key)
                return held !== undefined && held.value === p.value ? Effect.void : emit(proofMessageOf(p)).pipe(Effect.asVoid)
              }),
              // A failed proof is not a failed chain: the next head proves the key again.
              Effect.catchTag("ChainObserverError", (e) =>
                Effect.logWarning("could not prove a watched key").pipe(Effect.annotateLogs({ chain, key, height, reason: e.reason, detail: e.detail })))
            ), { discard: true })

        const cursor = followCursor(local, chain)
        const stream = observer.followFrom !== undefined && cursor !== undefined ? observer.followFrom(cursor) : observer.follow
        yield* stream.pipe(
          Stream.runForEach((event) =>
            Effect.gen(function*() {
              if (event._tag === "Misbehaviour") {
                yield* Effect.logError("chain observer reported misbehaviour: two valid headers for one height").pipe(
                  Effect.annotateLogs({ chain, height: event.evidence.height, primary: event.evidence.primary.endpoint, witness: event.evidence.witness.endpoint })
                )
              }
              const folded = yield* emit(messageOf(event, observer.kind))
              if (folded && event._tag === "Head" && watches.length > 0) yield* proveWatches(event.header.height)
            })
          )
        )
      })

    const follow = (observer: ChainObserverService) => {
      const watches = (options.watches ?? []).filter((w) => w.chain === observer.chain).map((w) => w.key)
      let delay = retryBase
      // A run that got as far as publishing resets the delay.
      const attempt: Effect.Effect<void> = followOnce(observer, watches, () => void (delay = retryBase)).pipe(
        Effect.matchCauseEffect({
          // Following never ends on its own; if an observer's stream does, start over after a pause.
          onSuccess: () => Effect.sleep(retryBase),
          onFailure: (cause) =>
            Effect.logWarning("following a chain failed; retrying").pipe(
              Effect.annotateLogs({ chain: observer.chain, retryInMs: delay }),
              Effect.andThen(Effect.logDebug(cause)),
              Effect.andThen(Effect.sleep(delay)),
              Effect.andThen(Effect.sync(() => (delay = Math.min(delay * 2, retryMax))))
            )
        })
      )
      return Effect.forever(attempt)
    }

    for (const observer of observers.values()) yield* Effect.forkScoped(follow(observer))

    const publishProof = Effect.fn("ChainFeed.publishProof")(function*(chain: string, height: number, key: string) {
      const observer = observers.get(chain)
      if (observer === undefined) return yield* new UnknownChain({ chain })
      const p = yield* observer.prove(height, key)
      const message = proofMessageOf(p)
      return yield* publish(message, [])
    })

    return { chains: [...observers.keys()].sort(), publishProof } satisfies ChainFeedService
  })

/** The feed as a scoped layer: one follower per observer, stopped with the scope. */
export const layer = (options: ChainFeedOptions = {}) => Layer.effect(ChainFeed, make(options))
