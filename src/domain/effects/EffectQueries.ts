/**
 * Queries over every kind of tracked effect at once: EVM logs (EffectFold.ts) and IBC packets
 * (IbcPacketFold.ts, IbcPacketV2Fold.ts) answer under one id space, so `GET /v1/effects/{id}`
 * and `causeway effect show` take either.
 */
import { HashMap, Option } from "effect"
import { effectsOfTransaction, type EffectsState, resolveEffects } from "./EffectFold.ts"
import type { AnyEffect, EffectStatus, IbcPacketEffect } from "./EffectShapes.ts"

/** The kinds of effect. */
export type EffectKind = AnyEffect["kind"]

/** The Lamport time an effect was first tracked at: the order listings follow. */
const trackedAt = (e: AnyEffect): number => e.history[0]?.lamport ?? 0

/** The Lamport time of an effect's last move. */
const movedAt = (e: AnyEffect): number => e.history.at(-1)?.lamport ?? 0

/** The packet of that id, else the packets carrying it as an alias, oldest first. */
const resolvePackets = (state: EffectsState, idOrAlias: string): ReadonlyArray<IbcPacketEffect> => {
  const direct = Option.getOrUndefined(HashMap.get(state.packets, idOrAlias))
  if (direct !== undefined) return [direct]
  const out: Array<IbcPacketEffect> = []
  for (const id of state.packetOrder) {
    const p = Option.getOrUndefined(HashMap.get(state.packets, id))
    if (p !== undefined && p.aliases.includes(idOrAlias)) out.push(p)
  }
  return out
}

/**
 * The effects an id names, of any kind: an EVM effect or IBC packet of that id, else those
 * carrying it as an alias (a bridge's message id names its deposit and its fills), oldest first.
 */
export const resolveAnyEffects = (state: EffectsState, idOrAlias: string): ReadonlyArray<AnyEffect> => {
  const evm = resolveEffects(state, idOrAlias)
  return evm.length > 0 ? evm : resolvePackets(state, idOrAlias)
}

/** The effect of exactly that id, of any kind. */
export const anyEffectOf = (state: EffectsState, id: string): AnyEffect | undefined =>
  Option.getOrUndefined(HashMap.get(state.effects, id)) ?? Option.getOrUndefined(HashMap.get(state.packets, id))

/** The chains an effect touches: its origin, or a packet's two ends. */
const onChain = (e: AnyEffect, chain: string): boolean =>
  e.kind === "evm-log" ? e.origin.chain === chain : e.source.chain === chain || e.destination?.chain === chain

/**
 * Tracked effects of every kind, oldest first (by the Lamport time they were first tracked; the
 * two kinds' lists are merged), filtered by kind, chain (a packet matches either end), status,
 * `since` (only effects whose status moved after that Lamport time) and transaction.
 */
export const listAnyEffects = (
  state: EffectsState,
  query: {
    readonly kind?: EffectKind
    readonly chain?: string
    readonly status?: EffectStatus
    readonly since?: number
    /** Only that transaction's EVM effects (its hash), in log order. */
    readonly transaction?: string
    readonly limit: number
  }
): ReadonlyArray<AnyEffect> => {
  const keep = (e: AnyEffect | undefined): e is AnyEffect =>
    e !== undefined &&
    (query.kind === undefined || e.kind === query.kind) &&
    (query.chain === undefined || onChain(e, query.chain)) &&
    (query.status === undefined || e.status === query.status) &&
    (query.since === undefined || movedAt(e) > query.since)
  const evm = query.kind === "ibc-packet" ? [] : query.transaction === undefined ? state.order : effectsOfTransaction(state, query.transaction).map((e) => e.id)
  const ibc = query.kind === "evm-log" || query.transaction !== undefined ? [] : state.packetOrder
  const out: Array<AnyEffect> = []
  let i = 0
  let j = 0
  let a: AnyEffect | undefined
  let b: AnyEffect | undefined
  const nextA = () => {
    for (a = undefined; a === undefined && i < evm.length;) {
      const e = Option.getOrUndefined(HashMap.get(state.effects, evm[i++] as string))
      if (keep(e)) a = e
    }
  }
  const nextB = () => {
    for (b = undefined; b === undefined && j < ibc.length;) {
      const e = Option.getOrUndefined(HashMap.get(state.packets, ibc[j++] as string))
      if (keep(e)) b = e
    }
  }
  nextA()
  nextB()
  while (out.length < query.limit && (a !== undefined || b !== undefined)) {
    if (b === undefined || (a !== undefined && trackedAt(a) <= trackedAt(b))) {
      out.push(a as AnyEffect)
      nextA()
    } else {
      out.push(b)
      nextB()
    }
  }
  return out
}
