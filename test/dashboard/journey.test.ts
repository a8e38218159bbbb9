/**
 * The dashboard's journey graph (web/src/journey.ts), pure: an IBC packet's proven legs on its
 * two chains tied in the protocol's order (a receipt needs the commitment, an acknowledgement
 * the receipt, the commitment's deletion the acknowledgement; a timeout's absence proof the
 * commitment), and a bridge deposit before its fill and its refund, each leg in its chain's
 * lane and right of what it depends on.
 */
import { describe, expect, it } from "vitest"
import { type AnyEffect, journeyGraph } from "../../web/src/journey.ts"

const evidence = (kind: string, height = 1) => ({ kind, message: `m-${kind}-${height}`, header: { height, hash: `h${height}` } })

const packet = (legs: ReadonlyArray<readonly [string, string]>): AnyEffect =>
  ({
    id: "ibc-packet:hub:transfer:channel-0:7",
    effectId: "ibc-packet:hub:transfer:channel-0:7",
    kind: "ibc-packet",
    source: { chain: "hub", port: "transfer", channel: "channel-0" },
    destination: { chain: "osmo", port: "transfer", channel: "channel-9" },
    sequence: "7",
    status: "settled",
    finality: "finalized",
    evidence: evidence("ibc-commitment-deleted", 12),
    journey: legs.map(([leg, chain], i) => ({ leg, chain, height: 10 + i, headerHash: `hh${i}`, time: 1_700_000_000_000 + i, message: `msg${i}`, lamport: i })),
    causalDependencies: [],
    causalDependents: [],
    history: [],
    stuck: null
  }) as unknown as AnyEffect

const log = (id: string, chain: string, journeys: ReadonlyArray<{ role: string; effect: string }>, deps: ReadonlyArray<string> = []): AnyEffect =>
  ({
    id,
    effectId: id,
    kind: "evm-log",
    origin: { chain, height: 5, blockHash: "b", lamport: 1, transactionIndex: 0, logIndex: 0 },
    status: "included",
    finality: "latest",
    evidence: evidence("evm-receipt", 5),
    journeys,
    causalDependencies: deps,
    causalDependents: [],
    history: []
  }) as unknown as AnyEffect

describe("journeyGraph", () => {
  it("an IBC packet: one leg per proven key on its chain, in the protocol's order", () => {
    const g = journeyGraph([packet([["commitment", "hub"], ["receipt", "osmo"], ["acknowledgement", "osmo"], ["commitment-deleted", "hub"]])])
    // Left to right: the protocol's order.
    const byX = [...g.legs].sort((a, b) => a.x - b.x)
    expect(byX.map((l) => [l.label, l.chain])).toEqual([["commitment", "hub"], ["receipt", "osmo"], ["acknowledgement", "osmo"], ["commitment-deleted", "hub"]])
    const label = (key: string) => g.legs.find((l) => l.key === key)?.label
    expect(g.edges.map((d) => [label(d.from), label(d.to)])).toEqual([["commitment", "receipt"], ["receipt", "acknowledgement"], ["acknowledgement", "commitment-deleted"]])
    expect(g.lanes.map((l) => l.chain)).toEqual(["hub", "osmo"])
    // Each leg right of the one it needs (four columns); each in its chain's lane.
    expect(new Set(g.legs.map((l) => l.x)).size).toBe(4)
    for (const l of g.legs) {
      const lane = g.lanes.find((ln) => ln.chain === l.chain)!
      expect(l.y).toBeGreaterThanOrEqual(lane.y)
      expect(l.y).toBeLessThan(lane.y + lane.height)
    }
    // Its evidence: the message, and the header one above the state's height.
    expect(byX[1]?.evidence).toMatchObject({ kind: "ibc-receipt", message: "msg1", stateHeight: 11, header: { height: 12, hash: "hh1" } })
  })

  it("a timed-out packet: the receipt's absence needs the commitment, the deletion needs the absence", () => {
    const g = journeyGraph([packet([["commitment", "hub"], ["receipt-absent", "osmo"], ["commitment-deleted", "hub"]])])
    const label = (key: string) => g.legs.find((l) => l.key === key)?.label
    expect(g.edges.map((d) => [label(d.from), label(d.to)])).toEqual([["commitment", "receipt-absent"], ["receipt-absent", "commitment-deleted"]])
  })

  it("a bridge deposit before its fill and refund: roles named, one dependency each (journey and causal edges merged)", () => {
    const g = journeyGraph([
      log("dep", "eth", [{ role: "target", effect: "fill" }, { role: "refund", effect: "ref" }]),
      log("fill", "base", [{ role: "source", effect: "dep" }], ["dep"]),
      log("ref", "eth", [{ role: "source", effect: "dep" }], ["dep"])
    ])
    expect(Object.fromEntries(g.legs.map((l) => [l.key, l.label]))).toEqual({ dep: "deposit", fill: "fill", ref: "refund" })
    expect(g.edges.map((d) => `${d.from}>${d.to}:${d.label}`).sort()).toEqual(["dep>fill:fill", "dep>ref:refund"])
    expect(g.lanes.map((l) => l.chain)).toEqual(["eth", "base"])
    const at = (k: string) => g.legs.find((l) => l.key === k)!
    expect(at("fill").x).toBeGreaterThan(at("dep").x)
    expect(at("ref").x).toBe(at("fill").x)
    expect(at("ref").y).not.toBe(at("fill").y)
  })
})
