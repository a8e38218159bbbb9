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
 *
 * On demand (the chains HTTP group): `prove` proves a key at a header the log holds (by
 * default the latest verified one) and publishes the proof; `addWatch` / `removeWatch` start
 * and stop watching a key at run time, each decision published as ChainWatchAdded /
 * ChainWatchRemoved, so a restart or a replay knows the watches (the chain-watches
 * projection folds them and the feed starts from it); `submitTransaction` hands a raw
 * transaction to the chain's observer.
 */
import { ownsChain } from "../domain/cluster/Authority.ts"
import { Context, Data, Effect, Layer, Semaphore, Stream } from "effect"
import type { MessageType, PayloadInput } from "../domain/MessageTypes.ts"
import type { MessageId } from "../domain/Primitives.ts"
import type { Rejection } from "../domain/Rejection.ts"
import { CausalLog, type CausalLogError } from "../ports/CausalLog.ts"
import {
  type ChainObserverError,
  ChainObservers,
  type ChainObserverService,
  type HeadEvent,
  type RpcHeadClaim,
  type StateProof
} from "../ports/ChainObserver.ts"
import {
  type ChainEvent,
  type ChainState,
  chainOf,
  evolveChainState,
  followCursor,
  headerOf,
  latestProofs,
  makeChainState,
  proofHeaderHeight
} from "../projections/ChainState/ChainState.ts"
import { MAX_CHAIN_WATCHES, makeChainWatches, watchesOf, watchesOwnedBy } from "../projections/ChainWatches/ChainWatches.ts"
import { Projections } from "../projections/ProjectionRunner.ts"
import { Author } from "./Author.ts"
import type { Appended } from "./Ingest.ts"

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
  /** Most watches one API token owns, on all chains together (default WATCHES_PER_TOKEN). */
  readonly watchesPerToken?: number
}

/** Default bound on the watches of one API token across chains: a quarter of one chain's MAX_CHAIN_WATCHES. */
export const WATCHES_PER_TOKEN = 64

/** No observer follows that chain. */
export class UnknownChain extends Data.TaggedError("UnknownChain")<{ readonly chain: string }> {}

/**
 * The log holds no verified header to check a proof against: none yet, none at that height
 * (above the head, below the kept window), or the chain's header there is not the one the
 * log holds (`changed`: the chain reorganised since).
 */
export class HeaderNotHeld extends Data.TaggedError("HeaderNotHeld")<{
  readonly chain: string
  readonly height: number | undefined
  readonly changed: boolean
  readonly reason: string
}> {}

/** The key is not watched on that chain. */
export class WatchNotFound extends Data.TaggedError("WatchNotFound")<{ readonly chain: string; readonly key: string }> {}

/**
 * The chain already has as many watched keys as it may (MAX_CHAIN_WATCHES), or the API token
 * asking (`owner`) as many watches as one token may (`watchesPerToken`).
 */
export class WatchLimitReached extends Data.TaggedError("WatchLimitReached")<{ readonly chain: string; readonly limit: number; readonly owner?: string }> {}

/** The watch was configured at startup (options), not decided at run time: it cannot be removed. */
export class WatchConfigured extends Data.TaggedError("WatchConfigured")<{ readonly chain: string; readonly key: string }> {}

/** A proof published on demand: the proof, the header it was checked against, its receipt. */
export interface PublishedProof {
  readonly proof: StateProof
  /** The verified header the log holds (ChainHeadVerified message id) whose root the proof was checked against. */
  readonly header: { readonly height: number; readonly hash: string; readonly stateRoot: string; readonly id: string }
  readonly receipt: Appended
}

/** A watched key: the ChainWatchAdded message that decided it (none for a configured watch), and the API token that asked for it (none: configured, or recorded without one). */
export interface WatchView {
  readonly key: string
  readonly id: string | null
  readonly owner: string | null
}

type PublishError = UnknownChain | ChainObserverError | HeaderNotHeld | Rejection | CausalLogError

/** The feed service. */
export interface ChainFeedService {
  /** The chains followed, sorted. */
  readonly chains: ReadonlyArray<string>
  /** Prove a key at a height of a chain and publish the proof as a LightClientProof. */
  readonly publishProof: (
    chain: string,
    height: number,
    key: string
  ) => Effect.Effect<Appended, UnknownChain | ChainObserverError | Rejection | CausalLogError>
  /**
   * Prove a key at `height` (default: the latest verified header the log holds; for a
   * CometBFT chain the state committed by it, one below) against the header the log holds
   * there, and publish it as a LightClientProof depending on that header's message.
   */
  readonly prove: (chain: string, key: string, height?: number) => Effect.Effect<PublishedProof, PublishError>
  /** The keys watched on a chain, sorted. */
  readonly watches: (chain: string) => Effect.Effect<ReadonlyArray<WatchView>, UnknownChain>
  /**
   * Start watching a key: proves it at the latest verified header and publishes that proof,
   * then ChainWatchAdded (its key in proven form, and `owner`, the asking API token's name,
   * counted against its bound). An already watched key publishes nothing.
   */
  readonly addWatch: (chain: string, key: string, owner?: string) => Effect.Effect<{ readonly watch: WatchView; readonly created: boolean; readonly proof?: PublishedProof }, PublishError | WatchLimitReached>
  /** Stop watching a key (in proven form): publishes ChainWatchRemoved. */
  readonly removeWatch: (chain: string, key: string) => Effect.Effect<Appended, UnknownChain | WatchNotFound | WatchConfigured | Rejection | CausalLogError>
  /** Submit a signed raw transaction (hex) to a chain; its hash. */
  readonly submitTransaction: (chain: string, raw: string) => Effect.Effect<string, UnknownChain | ChainObserverError>
  /**
   * The latest height the chain's RPC last claimed to this instance's observer (unverified,
   * not in the log), or undefined: an observer that does not say, or that has not asked yet
   * (in a cluster, a chain another member observes is not asked here).
   */
  readonly rpcHead: (chain: string) => Effect.Effect<RpcHeadClaim | undefined>
}

/** The feed tag. */
export class ChainFeed extends Context.Service<ChainFeed, ChainFeedService>()("causeway/ChainFeed") {}

type Published = { readonly [T in MessageType]: { readonly type: T; readonly payload: PayloadInput<T> } }[MessageType]

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
    const projection = makeChainState(author.authority)
    const retryBase = options.retryBaseMs ?? 1000
    const retryMax = options.retryMaxMs ?? 30_000
    const watchProjection = makeChainWatches(author.authority)
    const perToken = options.watchesPerToken ?? WATCHES_PER_TOKEN

    /** The projection's state once it has folded the whole log (so it includes our own last messages). */
    const current = Effect.gen(function*() {
      yield* runner.awaitOffset(yield* log.endOffset)
      return (yield* runner.state(projection)).state
    })

    const publish = <T extends MessageType>(message: { readonly type: T; readonly payload: PayloadInput<T> }, deps: ReadonlyArray<MessageId>) =>
      author.publish(message.type, message.payload, { deps })

    // The watched keys by chain (key in proven form -> the ChainWatchAdded id, null when
    // configured, and its owner): the configured ones, then those the log decided.
    const registry = new Map<string, Map<string, { readonly id: string | null; readonly owner: string | null }>>()
    const keysOf = (chain: string) => {
      let keys = registry.get(chain)
      if (keys === undefined) registry.set(chain, keys = new Map())
      return keys
    }
    for (const w of options.watches ?? []) keysOf(w.chain).set(w.key, { id: null, owner: null })
    const decided = yield* Effect.gen(function*() {
      yield* runner.awaitOffset(yield* log.endOffset)
      return (yield* runner.state(watchProjection)).state
    }).pipe(Effect.catchTag("ProjectionNotFound", () =>
      Effect.as(Effect.logWarning("the chain-watches projection is not registered: watches decided at run time are not restored"), undefined)))
    if (decided !== undefined) {
      for (const chain of observers.keys()) for (const w of watchesOf(decided, chain)) keysOf(chain).set(w.key, { id: w.id, owner: w.owner ?? null })
    }
    // Proofs published outside a follower, folded into its copy of the projection before its next event.
    const external = new Map<string, Array<{ readonly event: ChainEvent; readonly id: string }>>()
    const lock = Semaphore.makeUnsafe(1)

    // One run of following a chain: from the projection's state, until the observer fails.
    const followOnce = (observer: ChainObserverService, watchesNow: () => ReadonlyArray<string>, onPublished: () => void) =>
      Effect.gen(function*() {
        const chain = observer.chain
        // A local copy of the projection's view of this chain: what would be folded is published.
        let local: ChainState = yield* current
        let last: MessageId | undefined
        // The projection keeps what retention drops; the local copy only forgets it.
        const fold = (state: ChainState, event: ChainEvent, id: string): ChainState => {
          const next = evolveChainState(state, event, id)
          return next.evicted.length === 0 ? next : { ...next, evicted: [] }
        }
        const emit = (event: ChainEvent) =>
          Effect.gen(function*() {
            const before = chainOf(local, chain)
            const next = fold(local, event, "")
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
          Effect.forEach(watchesNow(), (key) =>
            // CometBFT: a new head H commits to the state after block H - 1 (the state after H needs header H + 1).
            observer.prove(observer.kind === "cosmos" ? height - 1 : height, key).pipe(
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
              for (const e of external.get(chain)?.splice(0) ?? []) local = fold(local, e.event, e.id)
              if (event._tag === "Misbehaviour") {
                yield* Effect.logError("chain observer reported misbehaviour: two valid headers for one height").pipe(
                  Effect.annotateLogs({ chain, height: event.evidence.height, primary: event.evidence.primary.endpoint, witness: event.evidence.witness.endpoint })
                )
              }
              const folded = yield* emit(messageOf(event, observer.kind))
              if (folded && event._tag === "Head") yield* proveWatches(event.header.height)
            })
          )
        )
      })

    // A chain's observations count from its owner at their place in the log (the instance; in
    // a cluster, the member the leader assigned it to): this member follows a
    // chain only while it owns it, and a member that takes one over resumes from the
    // projection's head (nothing published twice, a reorg meanwhile still reported).
    const owns = (chain: string) =>
      runner.state(projection).pipe(
        Effect.map(({ state }) => ownsChain(state.authority, chain, author.publicKey)),
        Effect.orElseSucceed(() => false)
      )
    const OWNERSHIP_POLL_MS = 100
    const untilOwned = (chain: string) =>
      Effect.gen(function*() {
        while (!(yield* owns(chain))) yield* Effect.sleep(OWNERSHIP_POLL_MS)
        yield* Effect.logInfo("chain feed: this member observes the chain").pipe(Effect.annotateLogs({ chain }))
      })
    const whileOwned = (chain: string) =>
      Effect.gen(function*() {
        while (yield* owns(chain)) yield* Effect.sleep(OWNERSHIP_POLL_MS)
        yield* Effect.logInfo("chain feed: the chain is observed by another member now; stopping").pipe(Effect.annotateLogs({ chain }))
      })

    const follow = (observer: ChainObserverService) => {
      const watches = () => [...keysOf(observer.chain).keys()]
      let delay = retryBase
      // A run that got as far as publishing resets the delay.
      const owned = untilOwned(observer.chain).pipe(
        Effect.andThen(Effect.raceFirst(followOnce(observer, watches, () => void (delay = retryBase)), whileOwned(observer.chain)))
      )
      const attempt: Effect.Effect<void> = owned.pipe(
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

    const observerOf = (chain: string) => {
      const observer = observers.get(chain)
      return observer === undefined ? Effect.fail(new UnknownChain({ chain })) : Effect.succeed(observer)
    }

    const prove = Effect.fn("ChainFeed.prove")(function*(chain: string, key: string, height?: number) {
      const observer = yield* observerOf(chain)
      // The chain-state projection is always registered with the feed: its absence is a wiring bug.
      const c = chainOf(yield* Effect.orDie(current), chain)
      const head = c?.head ?? null
      if (c === undefined || head === null) {
        return yield* new HeaderNotHeld({ chain, height, changed: false, reason: `no verified header of ${chain} is in the log yet` })
      }
      // CometBFT: the state after block h is committed to by header h + 1, so the latest provable state is one below the head.
      const kind = observer.kind === "cosmos" ? "ics23" : "eip1186"
      const at = height ?? (kind === "ics23" ? head.height - 1 : head.height)
      const headerHeight = proofHeaderHeight({ height: at, kind })
      const held = headerOf(c, headerHeight)
      if (held === undefined) {
        const where = headerHeight > head.height ? `above the latest verified height ${head.height}` : "not among the headers the log holds"
        return yield* new HeaderNotHeld({ chain, height: at, changed: false, reason: `no verified header of ${chain} at height ${headerHeight} is held: ${where}` })
      }
      const p = yield* observer.prove(at, key)
      // The header hash commits to its state root: a proof checked against the header of this hash is checked against the root the log holds.
      if (p.headerHash !== held.hash) {
        return yield* new HeaderNotHeld({
          chain,
          height: at,
          changed: true,
          reason: `the chain's header at ${headerHeight} is ${p.headerHash}, not ${held.hash} as the log holds: it reorganised; retry once the feed has caught up`
        })
      }
      const event = proofMessageOf(p)
      const receipt = yield* publish(event, [held.id as MessageId])
      const pending = external.get(chain) ?? []
      external.set(chain, [...pending, { event, id: receipt.id }])
      return { proof: p, header: { height: held.height, hash: held.hash, stateRoot: held.stateRoot, id: held.id }, receipt } satisfies PublishedProof
    })

    const watches = (chain: string) =>
      Effect.map(observerOf(chain), () =>
        [...keysOf(chain)].map(([key, w]) => ({ key, ...w })).sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0)))

    // The watches a token owns, as the log decided them (every member's decisions; a removal
    // frees its slot). Without the projection, the watches this feed knows.
    const ownedBy = (owner: string) =>
      Effect.gen(function*() {
        yield* runner.awaitOffset(yield* log.endOffset)
        return watchesOwnedBy((yield* runner.state(watchProjection)).state, owner)
      }).pipe(Effect.catchTag("ProjectionNotFound", () =>
        Effect.sync(() => [...registry.values()].reduce((n, keys) => n + [...keys.values()].filter((w) => w.owner === owner).length, 0))))

    const addWatch = (chain: string, key: string, owner?: string) =>
      lock.withPermits(1)(Effect.gen(function*() {
        yield* observerOf(chain)
        const keys = keysOf(chain)
        // The key as given may be in another form than the proven one: find it after proving, unless given in proven form.
        const given = keys.get(key)
        if (given !== undefined) return { watch: { key, ...given }, created: false }
        // Refused before the proof: past the bound a watch would only cost work (the fold would ignore it).
        if (keys.size >= MAX_CHAIN_WATCHES) return yield* new WatchLimitReached({ chain, limit: MAX_CHAIN_WATCHES })
        // And past the token's share, before the proof too.
        if (owner !== undefined && (yield* ownedBy(owner)) >= perToken) return yield* new WatchLimitReached({ chain, limit: perToken, owner })
        const proof = yield* prove(chain, key)
        const same = keys.get(proof.proof.key)
        if (same !== undefined) return { watch: { key: proof.proof.key, ...same }, created: false, proof }
        const payload = owner === undefined ? { chain, key: proof.proof.key } : { chain, key: proof.proof.key, owner }
        const receipt = yield* publish({ type: "ChainWatchAdded", payload }, [proof.receipt.id])
        const added = { id: receipt.id, owner: owner ?? null }
        keys.set(proof.proof.key, added)
        return { watch: { key: proof.proof.key, ...added }, created: true, proof }
      }))

    const removeWatch = (chain: string, key: string) =>
      lock.withPermits(1)(Effect.gen(function*() {
        yield* observerOf(chain)
        const keys = keysOf(chain)
        if (!keys.has(key)) return yield* new WatchNotFound({ chain, key })
        const id = keys.get(key)?.id
        if (id === null || id === undefined) return yield* new WatchConfigured({ chain, key })
        const receipt = yield* publish({ type: "ChainWatchRemoved", payload: { chain, key } }, [id as MessageId])
        keys.delete(key)
        return receipt
      }))

    const submitTransaction = (chain: string, raw: string) => Effect.flatMap(observerOf(chain), (o) => o.submitTransaction(raw))

    const rpcHead = (chain: string) => observers.get(chain)?.rpcHead ?? Effect.undefined

    return { chains: [...observers.keys()].sort(), publishProof, prove, watches, addWatch, removeWatch, submitTransaction, rpcHead } satisfies ChainFeedService
  })

/** The feed as a scoped layer: one follower per observer, stopped with the scope. */
export const layer = (options: ChainFeedOptions = {}) => Layer.effect(ChainFeed, make(options))
