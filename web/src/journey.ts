/**
 * An effect's journey as a graph (pure: no DOM). Nodes are legs, each on one chain: an EVM
 * effect is one leg (a bridge deposit, its fills and refunds are each an effect of their own,
 * tied by `journeys`), an IBC packet one leg per proven ICS-24 key (commitment on the source,
 * receipt and acknowledgement on the destination, …). Edges are dependencies: an effect's
 * `causalDependencies` and its journey roles (a deposit before its fills and refunds), and
 * within a packet the protocol's order (a receipt needs the commitment, an acknowledgement the
 * receipt, …). Laid out left to right by depth (each leg right of all it depends on), one
 * lane per chain.
 */
import type { EvidenceRef, EvmEffectView, IbcPacketView } from "../../src/domain/effects/EffectShapes.ts"

/** A tracked effect as the API answers it. */
export type AnyEffect = EvmEffectView | IbcPacketView

/** What proves a leg: the evidence message and the header it was checked against. */
export interface LegEvidence {
  readonly kind: string
  /** The message carrying it (GET /v1/messages/{id}). */
  readonly message: string
  readonly header: { readonly height: number; readonly hash: string }
  readonly receiptsRoot?: string | undefined
  /** When the evidence is another leg's: that effect. */
  readonly effect?: string | undefined
  /** The header's time, Unix ms (IBC legs: verified; a deadline passed: read from the header the message carries). */
  readonly time?: number | undefined
  /** IBC legs: the state's height (the proof is against the header one above). */
  readonly stateHeight?: number | undefined
}

/** One leg. */
export interface Leg {
  readonly key: string
  readonly effectId: string
  readonly chain: string
  /** What the leg is: an EVM effect's role (deposit, fill, refund, log), an IBC leg's key kind. */
  readonly label: string
  /** The effect's status (for an IBC leg, the packet's). */
  readonly status: string
  readonly finality: string
  readonly evidence: LegEvidence
  /** Earlier moves (EVM: the effect's history). */
  readonly history: ReadonlyArray<{ readonly status: string; readonly evidence: EvidenceRef }>
}

/** A dependency: `to` needs `from`. */
export interface Dependency {
  readonly from: string
  readonly to: string
  readonly label: string
}

/** A laid-out graph. */
export interface JourneyGraph {
  readonly legs: ReadonlyArray<Leg & { readonly x: number; readonly y: number }>
  readonly edges: ReadonlyArray<Dependency>
  readonly lanes: ReadonlyArray<{ readonly chain: string; readonly y: number; readonly height: number }>
  readonly width: number
  readonly height: number
}

// Within a packet, the leg each leg needs (the first of these proven).
const IBC_NEEDS: Readonly<Record<string, ReadonlyArray<string>>> = {
  receipt: ["commitment"],
  "receipt-absent": ["commitment"],
  acknowledgement: ["receipt"],
  "commitment-deleted": ["acknowledgement", "receipt-absent", "commitment"]
}

/** An effect's evidence as a leg shows it (a deadline-passed header's time, Unix seconds, in ms). */
const fromRef = (ev: EvidenceRef): LegEvidence => ({
  kind: ev.kind,
  message: ev.message,
  header: ev.header,
  receiptsRoot: ev.receiptsRoot,
  effect: ev.effect,
  time: ev.time === undefined ? undefined : Number(ev.time) * 1000
})

/** An EVM effect's role in its journey, from its own legs and those of the effects around it. */
const roleOf = (e: EvmEffectView, byId: ReadonlyMap<string, AnyEffect>): string => {
  if (e.journeys.some((j) => j.role === "target" || j.role === "refund")) return "deposit"
  for (const other of byId.values()) {
    if (other.kind !== "evm-log") continue
    const leg = other.journeys.find((j) => j.effect === e.id)
    if (leg?.role === "target") return "fill"
    if (leg?.role === "refund") return "refund"
  }
  return e.journeys.some((j) => j.role === "source") ? "fill or refund" : "log"
}

/** The legs of one effect, in order, and the dependencies among them. */
const legsOf = (e: AnyEffect, byId: ReadonlyMap<string, AnyEffect>): { legs: Array<Leg>; edges: Array<Dependency> } => {
  if (e.kind === "evm-log") {
    return {
      legs: [{
        key: e.id,
        effectId: e.id,
        chain: e.origin.chain,
        label: roleOf(e, byId),
        status: e.status,
        finality: e.finality,
        evidence: fromRef(e.evidence),
        history: e.history
      }],
      edges: []
    }
  }
  const legs: Array<Leg> = e.journey.map((l, i) => ({
    key: `${e.id}#${i}`,
    effectId: e.id,
    chain: l.chain,
    label: l.leg,
    status: e.status,
    finality: e.finality,
    evidence: { kind: `ibc-${l.leg}`, message: l.message, header: { height: l.height + 1, hash: l.headerHash }, time: l.time, stateHeight: l.height },
    history: []
  }))
  // A packet tracked but no leg proven yet (not expected: the commitment tracks it): one leg for the packet.
  if (legs.length === 0) {
    legs.push({ key: e.id, effectId: e.id, chain: e.source.chain, label: "packet", status: e.status, finality: e.finality, evidence: fromRef(e.evidence), history: e.history })
  }
  const edges: Array<Dependency> = []
  e.journey.forEach((l, i) => {
    for (const need of IBC_NEEDS[l.leg] ?? []) {
      const j = e.journey.findIndex((m) => m.leg === need)
      if (j !== -1 && j !== i) {
        edges.push({ from: `${e.id}#${j}`, to: `${e.id}#${i}`, label: "needs" })
        break
      }
    }
  })
  return { legs, edges }
}

/** The effects an effect names: its journey's legs and its causal dependencies and dependents. */
export const relatedIds = (e: AnyEffect): ReadonlyArray<string> =>
  [...(e.kind === "evm-log" ? e.journeys.map((j) => j.effect) : []), ...e.causalDependencies, ...e.causalDependents]

const LANE_LABEL = 110
const COL = 180
const NODE_W = 140
const NODE_H = 44
const ROW = 60

/** Node size, for drawing. */
export const NODE = { width: NODE_W, height: NODE_H } as const

/** The graph of these effects (the focused one and those around it), laid out. */
export const journeyGraph = (effects: ReadonlyArray<AnyEffect>): JourneyGraph => {
  const byId = new Map(effects.map((e) => [e.id, e]))
  const legs: Array<Leg> = []
  const edges: Array<Dependency> = []
  const entry = new Map<string, string>()
  const exit = new Map<string, string>()
  for (const e of effects) {
    const part = legsOf(e, byId)
    legs.push(...part.legs)
    edges.push(...part.edges)
    entry.set(e.id, part.legs[0]!.key)
    exit.set(e.id, part.legs.at(-1)!.key)
  }
  const seen = new Set(edges.map((d) => `${d.from}>${d.to}`))
  const link = (fromEffect: string, toEffect: string, label: string) => {
    const from = exit.get(fromEffect)
    const to = entry.get(toEffect)
    if (from === undefined || to === undefined || from === to || seen.has(`${from}>${to}`)) return
    seen.add(`${from}>${to}`)
    edges.push({ from, to, label })
  }
  for (const e of effects) {
    // A deposit comes before its fills and refunds.
    if (e.kind === "evm-log") for (const j of e.journeys) if (j.role !== "source") link(e.id, j.effect, j.role === "target" ? "fill" : "refund")
    for (const d of e.causalDependencies) link(d, e.id, "depends on")
  }
  // Depth: each leg right of everything it depends on (a cycle, which the fold never makes, is cut by the bound).
  const depth = new Map(legs.map((l) => [l.key, 0]))
  for (let round = 0; round < legs.length; round++) {
    let moved = false
    for (const d of edges) {
      const want = (depth.get(d.from) ?? 0) + 1
      if (want > (depth.get(d.to) ?? 0) && want < legs.length) {
        depth.set(d.to, want)
        moved = true
      }
    }
    if (!moved) break
  }
  // Lanes: one per chain, in the order its first leg comes (by depth).
  const ordered = [...legs].sort((a, b) => (depth.get(a.key) ?? 0) - (depth.get(b.key) ?? 0))
  const chains = [...new Set(ordered.map((l) => l.chain))]
  const placed: Array<Leg & { x: number; y: number }> = []
  const lanes: Array<{ chain: string; y: number; height: number }> = []
  let y = 10
  for (const chain of chains) {
    const inLane = ordered.filter((l) => l.chain === chain)
    const perColumn = new Map<number, number>()
    let rows = 1
    for (const l of inLane) {
      const d = depth.get(l.key) ?? 0
      const row = perColumn.get(d) ?? 0
      perColumn.set(d, row + 1)
      rows = Math.max(rows, row + 1)
      placed.push({ ...l, x: LANE_LABEL + d * COL, y: y + row * ROW + (ROW - NODE_H) / 2 })
    }
    lanes.push({ chain, y, height: rows * ROW })
    y += rows * ROW + 10
  }
  const columns = Math.max(1, ...[...depth.values()].map((d) => d + 1))
  return { legs: placed, edges, lanes, width: LANE_LABEL + columns * COL, height: y }
}
