/**
 * Following an EVM chain's head: each poll asks for the latest header and links it to the
 * chain already reported by walking back through parent hashes (each parent fetched by its
 * hash and checked to hash to it). Where the walk meets a reported header, that header is
 * the common ancestor: if it is below the reported head, the headers above it were replaced
 * and a Reorg names it as the fork point. Finality comes from a confirmation depth over the
 * linked headers, or from the node's `safe` / `finalized` tags.
 *
 * The tracker keeps the last `maxReorgDepth` reported headers; a reorg deeper than that
 * cannot be linked and fails the poll. A gap longer than `maxCatchUp` headers (a long
 * downtime) is not walked: the tracker re-anchors on the newest `maxCatchUp` headers.
 */
import { Effect } from "effect"
import { ChainObserverError, type FollowCursor, type HeadEvent, type VerifiedHeader } from "../../ports/ChainObserver.ts"

/** Where headers come from; every header it returns has been verified (hash recomputed). */
export interface HeaderSource {
  readonly chain: string
  readonly latest: Effect.Effect<VerifiedHeader, ChainObserverError>
  /** The header that hashes to `hash`. */
  readonly byHash: (hash: string) => Effect.Effect<VerifiedHeader, ChainObserverError>
  /** The header a finality tag points at; NotFound when the node has none. */
  readonly tagged: (tag: "safe" | "finalized") => Effect.Effect<VerifiedHeader, ChainObserverError>
}

/** How the tracker links and finalizes. */
export interface TrackerOptions {
  /** Finality by depth: the header this many below the head is final. Without it, the node's tags. */
  readonly confirmations?: number
  /** Reported headers kept to find a fork point (default 256). */
  readonly maxReorgDepth?: number
  /** Longest gap walked header by header (default 1024). */
  readonly maxCatchUp?: number
}

/** A head tracker: `poll` reports what changed since the last successful poll. */
export interface HeadTracker {
  readonly poll: Effect.Effect<ReadonlyArray<HeadEvent>, ChainObserverError>
  /** The reported headers kept, ascending. */
  readonly window: () => ReadonlyArray<VerifiedHeader>
}

interface State {
  readonly window: ReadonlyArray<VerifiedHeader>
  readonly finalizedHeight: number
  readonly safeHeight: number
}

/** A tracker over a source, resuming from a cursor (or from the chain's head now). */
export const makeHeadTracker = (source: HeaderSource, options: TrackerOptions = {}, cursor?: FollowCursor): HeadTracker => {
  const maxReorgDepth = options.maxReorgDepth ?? 256
  const maxCatchUp = Math.max(options.maxCatchUp ?? 1024, maxReorgDepth)
  const confirmations = options.confirmations
  if (confirmations !== undefined && !(Number.isInteger(confirmations) && confirmations >= 0 && confirmations < maxReorgDepth)) {
    throw new RangeError(`confirmations must be an integer in 0..${maxReorgDepth - 1}`)
  }
  const fail = (reason: ChainObserverError["reason"], detail: string) =>
    new ChainObserverError({ chain: source.chain, reason, detail })

  let state: State = {
    window: [...(cursor?.headers ?? [])].sort((a, b) => a.height - b.height).slice(-maxReorgDepth),
    finalizedHeight: cursor?.finalizedHeight ?? -1,
    safeHeight: cursor?.safeHeight ?? -1
  }

  // Walk from the tip back to a reported header; the new headers (ascending) and where they attach.
  const link = (tip: VerifiedHeader, window: ReadonlyArray<VerifiedHeader>) =>
    Effect.gen(function*() {
      const head = window.at(-1)
      const byHeight = new Map(window.map((h) => [h.height, h]))
      const lowest = window[0]?.height ?? 0
      const segment: Array<VerifiedHeader> = [tip]
      let cur = tip
      for (;;) {
        const known = byHeight.get(cur.height - 1)
        if (known !== undefined && known.hash === cur.parentHash) return { segment, ancestor: known }
        if (head === undefined) {
          // A fresh start: enough headers below the tip to finalize by depth.
          if (segment.length > (confirmations ?? 0) || cur.height === 0) return { segment, ancestor: undefined }
        } else {
          if (cur.height === 0) return yield* fail("InvalidHeader", "the chain's genesis is not the one followed")
          if (cur.height - 1 < lowest) {
            return yield* fail("InvalidHeader", `reorg deeper than the ${window.length} headers kept: no common ancestor at or above height ${lowest}`)
          }
          // Long downtime: re-anchor on the newest headers rather than walk the whole gap.
          if (segment.length >= maxCatchUp && cur.height - 1 > head.height) return { segment, ancestor: undefined }
        }
        const parent = yield* source.byHash(cur.parentHash)
        if (parent.height !== cur.height - 1) {
          return yield* fail("InvalidHeader", `the parent of ${cur.height} (0x${cur.hash}) is at height ${parent.height}`)
        }
        segment.unshift(parent)
        cur = parent
      }
    })

  const finality = (window: ReadonlyArray<VerifiedHeader>, reported: State) =>
    Effect.gen(function*() {
      const events: Array<HeadEvent> = []
      const head = window.at(-1)
      let { finalizedHeight, safeHeight } = reported
      if (head === undefined) return { events, finalizedHeight, safeHeight }
      const byHeight = new Map(window.map((h) => [h.height, h]))
      if (confirmations !== undefined) {
        const final = byHeight.get(head.height - confirmations)
        if (final !== undefined && final.height > finalizedHeight) {
          events.push({ _tag: "Finalized", header: final })
          finalizedHeight = final.height
        }
        return { events, finalizedHeight, safeHeight }
      }
      for (const tag of ["safe", "finalized"] as const) {
        const marked = yield* source.tagged(tag).pipe(
          Effect.catchIf((e) => e.reason === "NotFound", () => Effect.succeed(undefined))
        )
        if (marked === undefined || marked.height > head.height) continue
        // Not on the linked chain (a reorg between the two requests): the next poll links it.
        const known = byHeight.get(marked.height)
        if (known !== undefined && known.hash !== marked.hash) continue
        if (tag === "safe" && marked.height > safeHeight) {
          events.push({ _tag: "Safe", header: marked })
          safeHeight = marked.height
        }
        if (tag === "finalized" && marked.height > finalizedHeight) {
          events.push({ _tag: "Finalized", header: marked })
          finalizedHeight = marked.height
        }
      }
      return { events, finalizedHeight, safeHeight }
    })

  const poll = Effect.gen(function*() {
    const before = state
    const head = before.window.at(-1)
    const tip = yield* source.latest
    const events: Array<HeadEvent> = []
    let window = before.window
    const lagging = head !== undefined && tip.height < head.height &&
      window.some((h) => h.height === tip.height && h.hash === tip.hash)
    if (!lagging && tip.hash !== head?.hash) {
      const { ancestor, segment } = yield* link(tip, window)
      if (head !== undefined && ancestor !== undefined && ancestor.height < head.height) {
        events.push({ _tag: "Reorg", chain: source.chain, forkHeight: ancestor.height, forkHash: ancestor.hash, oldHead: head, newHead: tip })
        window = window.filter((h) => h.height <= ancestor.height)
      }
      if (ancestor === undefined) window = []
      for (const h of segment) events.push({ _tag: "Head", header: h })
      window = [...window, ...segment].slice(-maxReorgDepth)
    }
    const final = yield* finality(window, before)
    state = { window, finalizedHeight: final.finalizedHeight, safeHeight: final.safeHeight }
    return [...events, ...final.events]
  }).pipe(Effect.withSpan("EvmHeadTracker.poll"))

  return { poll, window: () => state.window }
}
