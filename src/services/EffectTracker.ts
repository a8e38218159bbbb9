/**
 * The effect tracker: the instance's decisions about on-chain effects (docs/effects.md).
 *
 * - Watches: `addWatch` / `removeWatch` publish EffectWatchAdded / EffectWatchRemoved, so a
 *   restart or a replay tracks the same.
 * - Scanning: for every EVM chain this member owns and has a log watch on, each block the
 *   log holds as verified (ChainHeadVerified) above the last one scanned is fetched with its
 *   receipts (the observer's `blockReceipts`: the header hashes to the block hash and the
 *   receipts rebuild its receipts root), every log is matched against the chain's watches,
 *   and the block is published as EffectsObserved with each matching receipt's trie proof
 *   (several messages when the evidence exceeds one message; the last closes the block). The
 *   effects projection checks every proof again before anything counts.
 * - After a reorg the projection moves the scan position back to the fork point, so the new
 *   branch is scanned; effects of the dropped blocks are retracted by the fold.
 *
 * A block whose fetch fails is retried at the next poll; nothing is skipped. A receipt whose
 * evidence alone exceeds a message is not published (logged): see docs/effects.md.
 */
import { bytesToHex } from "@noble/hashes/utils.js"
import { Context, Data, Effect, HashMap, Layer, Option, Semaphore } from "effect"
import { ownsChain } from "../domain/cluster/Authority.ts"
import type { EffectWatchAdded } from "../domain/effects/EffectMessages.ts"
import type { PayloadInput } from "../domain/MessageTypes.ts"
import { MAX_RECEIPTS_PER_MESSAGE } from "../domain/effects/EffectMessages.ts"
import { evmWatchesOf, matchesEvmFilter, trackOfChain } from "../domain/effects/EffectFold.ts"
import type { EffectWatch } from "../domain/effects/EffectShapes.ts"
import type { MessageId } from "../domain/Primitives.ts"
import type { Rejection } from "../domain/Rejection.ts"
import { receiptKey } from "../domain/verify/EvmReceipts.ts"
import { CausalLog, type CausalLogError } from "../ports/CausalLog.ts"
import { type BlockReceipts, ChainObservers, type ChainObserverError } from "../ports/ChainObserver.ts"
import { makeEffects } from "../projections/Effects/Effects.ts"
import { Projections } from "../projections/ProjectionRunner.ts"
import { Author } from "./Author.ts"
import type { Appended } from "./Ingest.ts"

/** Options of the tracker. */
export interface EffectTrackerOptions {
  /** How often a chain's new verified blocks are looked for, ms (default 250). */
  readonly pollIntervalMs?: number
}

/** No observer follows that chain. */
export class UnknownEffectChain extends Data.TaggedError("UnknownEffectChain")<{ readonly chain: string }> {}

/** The chain's observer cannot track this kind of effect (yet). */
export class UnsupportedEffectKind extends Data.TaggedError("UnsupportedEffectKind")<{
  readonly chain: string
  readonly kind: string
  readonly reason: string
}> {}

/** No active watch has that id. */
export class EffectWatchNotFound extends Data.TaggedError("EffectWatchNotFound")<{ readonly id: string }> {}

/** The tracker service. */
export interface EffectTrackerService {
  /** Start tracking: publishes EffectWatchAdded; the watch once the projection folded it. */
  readonly addWatch: (spec: EffectWatchAdded) => Effect.Effect<{ readonly watch: EffectWatch; readonly receipt: Appended }, UnknownEffectChain | UnsupportedEffectKind | Rejection | CausalLogError>
  /** Stop a watch: publishes EffectWatchRemoved. */
  readonly removeWatch: (id: string) => Effect.Effect<Appended, EffectWatchNotFound | Rejection | CausalLogError>
}

/** The tracker tag. */
export class EffectTracker extends Context.Service<EffectTracker, EffectTrackerService>()("causeway/EffectTracker") {}

// Blocks published per batch (one append), and fetched from the chain's RPC at a time.
const BLOCKS_PER_BATCH = 32
const FETCH_CONCURRENCY = 4

// Raw evidence bytes per message, leaving room for the header, the envelope and hex doubling under 64 KiB.
const EVIDENCE_BUDGET = 28_000

const hex = (bytes: Uint8Array): string => bytesToHex(bytes)

type Observed = PayloadInput<"EffectsObserved">
type ObservedReceipt = Observed["receipts"][number]

/**
 * The EffectsObserved messages of one block: the receipts with logs matching a watch, with
 * their proofs, split so each message stays under the budget. Always at least one message
 * (the last closes the block, with no receipts when nothing matched).
 */
export const observationsOf = (
  block: BlockReceipts,
  watches: ReadonlyArray<EffectWatch>
): { readonly messages: ReadonlyArray<Observed>; readonly oversized: ReadonlyArray<number> } => {
  const headerRlp = hex(block.headerRlp)
  const matched: Array<{ readonly entry: ObservedReceipt; readonly size: number }> = []
  const oversized: Array<number> = []
  const { receipts, encodings, trie } = block.receipts
  for (let i = 0; i < receipts.length; i++) {
    const logs: Array<number> = []
    const rpcLogs = (receipts[i] as (typeof receipts)[number]).logs
    for (let j = 0; j < rpcLogs.length; j++) {
      const l = rpcLogs[j] as (typeof rpcLogs)[number]
      const log = { address: l.address.toLowerCase(), topics: l.topics.map((t) => t.toLowerCase()), data: l.data.toLowerCase() }
      if (watches.some((w) => w.kind === "evm-log" && matchesEvmFilter(w.filter, log))) logs.push(j)
    }
    if (logs.length === 0) continue
    const encoding = encodings[i] as Uint8Array
    const proof = trie.prove(receiptKey(i))
    const size = encoding.length + proof.reduce((n, p) => n + p.length, 0)
    if (size > EVIDENCE_BUDGET) {
      oversized.push(i)
      continue
    }
    matched.push({ entry: { transactionIndex: i, receipt: hex(encoding), proof: proof.map(hex), logs }, size })
  }
  const messages: Array<Observed> = []
  let batch: Array<ObservedReceipt> = []
  let used = 0
  const flush = (last: boolean) => {
    messages.push({ chain: block.chain, height: block.height, hash: block.hash, headerRlp, receipts: batch, last })
    batch = []
    used = 0
  }
  for (const m of matched) {
    if (batch.length > 0 && (used + m.size > EVIDENCE_BUDGET || batch.length >= MAX_RECEIPTS_PER_MESSAGE)) flush(false)
    batch.push(m.entry)
    used += m.size
  }
  flush(true)
  return { messages, oversized }
}

/** Build the tracker over the observers, the author and the projections in context. */
export const make = (options: EffectTrackerOptions = {}) =>
  Effect.gen(function*() {
    const observers = yield* ChainObservers
    const author = yield* Author
    const runner = yield* Projections
    const log = yield* CausalLog
    const projection = makeEffects(author.authority)
    const pollInterval = options.pollIntervalMs ?? 250
    const lock = Semaphore.makeUnsafe(1)

    /** The effects state once it has folded the log up to now. */
    const current = Effect.gen(function*() {
      yield* runner.awaitOffset(yield* log.endOffset)
      return (yield* Effect.orDie(runner.state(projection))).state
    })

    const publishAndFold = <T extends "EffectWatchAdded" | "EffectWatchRemoved" | "EffectsObserved">(
      type: T,
      payload: PayloadInput<T>,
      deps: ReadonlyArray<MessageId>
    ) =>
      Effect.gen(function*() {
        const receipt = yield* author.publish(type, payload, { deps })
        yield* runner.awaitOffset(receipt.offset + 1)
        return receipt
      })

    /**
     * Scan the blocks the log holds as verified above the last scanned one, in order: up to
     * BLOCKS_PER_BATCH blocks fetched (FETCH_CONCURRENCY at a time) and published as one
     * batch, then folded and checked before the next batch.
     */
    const scanChain = (chain: string, blockReceipts: (hash: string) => Effect.Effect<BlockReceipts, ChainObserverError>) =>
      Effect.gen(function*() {
        const state = yield* current
        if (!ownsChain(state.authority, chain, author.publicKey)) return
        const watches = evmWatchesOf(state, chain)
        const track = trackOfChain(state, chain)
        if (watches.length === 0 || track === undefined || track.head === null) return
        const head = track.head
        // A chain first watched is scanned from its watches' first block on.
        const from = Math.min(...watches.map((w) => (w.kind === "evm-log" ? w.fromHeight : undefined) ?? head))
        let height = track.scanned === null ? from : track.scanned.height + 1
        while (height <= head) {
          const heights: Array<{ readonly height: number; readonly hash: string }> = []
          for (; height <= head && heights.length < BLOCKS_PER_BATCH; height++) {
            const hash = Option.getOrUndefined(HashMap.get(track.headers, height))
            if (hash !== undefined) heights.push({ height, hash })
          }
          if (heights.length === 0) continue
          const blocks = yield* Effect.forEach(heights, (h) => blockReceipts(h.hash), { concurrency: FETCH_CONCURRENCY })
          const messages: Array<Observed> = []
          for (const block of blocks) {
            const observed = observationsOf(block, watches)
            if (observed.oversized.length > 0) {
              yield* Effect.logWarning("effect tracker: receipts whose evidence exceeds one message were not published").pipe(
                Effect.annotateLogs({ chain, height: block.height, transactionIndexes: observed.oversized.join(",") })
              )
            }
            messages.push(...observed.messages)
          }
          const receipts = yield* author.publishMany(messages.map((payload) => ({ type: "EffectsObserved" as const, payload })))
          yield* runner.awaitOffset((receipts.at(-1)?.offset ?? 0) + 1)
          // The fold may not have taken them (a block reorged out meanwhile): start again from its state.
          const last = heights.at(-1) as { readonly hash: string }
          const after = trackOfChain((yield* Effect.orDie(runner.state(projection))).state, chain)
          if (after?.scanned?.hash !== last.hash) return
        }
      })

    const follow = (chain: string, blockReceipts: (hash: string) => Effect.Effect<BlockReceipts, ChainObserverError>) =>
      Effect.forever(
        scanChain(chain, blockReceipts).pipe(
          Effect.catchCause((cause) =>
            Effect.logWarning("effect tracker: scanning a chain failed; retrying").pipe(
              Effect.annotateLogs({ chain }),
              Effect.andThen(Effect.logDebug(cause))
            )
          ),
          Effect.andThen(Effect.sleep(pollInterval))
        )
      )

    for (const observer of observers.values()) {
      if (observer.blockReceipts !== undefined) yield* Effect.forkScoped(follow(observer.chain, observer.blockReceipts))
    }

    const addWatch = (spec: EffectWatchAdded) =>
      lock.withPermits(1)(Effect.gen(function*() {
        const observer = observers.get(spec.chain)
        if (observer === undefined) return yield* new UnknownEffectChain({ chain: spec.chain })
        if (spec.kind === "evm-log" && observer.blockReceipts === undefined) {
          return yield* new UnsupportedEffectKind({ chain: spec.chain, kind: spec.kind, reason: `${spec.chain} is not an EVM chain` })
        }
        if (spec.kind === "ibc-packet") {
          return yield* new UnsupportedEffectKind({ chain: spec.chain, kind: spec.kind, reason: "IBC packet tracking is not implemented yet" })
        }
        // Without a first block, the watch starts at the latest verified block the log holds.
        const head = trackOfChain(yield* current, spec.chain)?.head ?? undefined
        const decided = spec.fromHeight !== undefined || head === undefined || head === null ? spec : { ...spec, fromHeight: head }
        const receipt = yield* publishAndFold("EffectWatchAdded", decided, [])
        return { watch: { id: receipt.id, ...decided } as EffectWatch, receipt }
      }))

    const removeWatch = (id: string) =>
      lock.withPermits(1)(Effect.gen(function*() {
        const state = yield* current
        if (!HashMap.has(state.watches, id)) return yield* new EffectWatchNotFound({ id })
        return yield* publishAndFold("EffectWatchRemoved", { watch: id }, [id as MessageId])
      }))

    return { addWatch, removeWatch } satisfies EffectTrackerService
  })

/** The tracker as a scoped layer: one scanner per EVM observer, stopped with the scope. */
export const layer = (options: EffectTrackerOptions = {}) => Layer.effect(EffectTracker, make(options))
