/**
 * Handlers of the chains group (ChainsApi.ts): each reads the chain-state projection and
 * translates it into the contract's views. No chain is asked anything here.
 */
import { Effect } from "effect"
import { HttpApiBuilder } from "effect/http-api"
import { InstanceKey } from "../../ports/InstanceKey.ts"
import {
  type ChainEntry,
  type ChainState,
  chainNames,
  chainOf,
  type HeaderEntry,
  headerOf,
  headersOf,
  latestProofs,
  makeChainState
} from "../../projections/ChainState/ChainState.ts"
import { Projections } from "../../projections/ProjectionRunner.ts"
import { Api } from "./Api.ts"
import { type ChainSummary, type ChainView, HeaderNotFound, type HeaderView, UnknownChain } from "./ChainsApi.ts"

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

/** A chain in full. */
export const chainView = (chain: string, c: ChainEntry, offset: number): ChainView => {
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
    offset
  }
}

/** The chains group's handlers, over Projections and InstanceKey. */
export const layer = HttpApiBuilder.group(Api, "chains", (handlers) =>
  Effect.gen(function*() {
    const runner = yield* Projections
    const key = yield* InstanceKey
    // The chain-state projection is always registered: its absence is a wiring bug.
    const current = runner.state(makeChainState({ instanceKey: key.publicKey })).pipe(
      Effect.orDie,
      Effect.map((s) => ({ offset: s.offset, state: s.state as ChainState }))
    )
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
          return chainView(params.chain, yield* known(state, params.chain), offset)
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
  }))
