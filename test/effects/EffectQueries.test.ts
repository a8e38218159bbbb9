/**
 * The queries over both kinds of effect (src/domain/effects/EffectQueries.ts): one id space for
 * EVM effects and IBC packets, listings merged by the Lamport time each was first tracked.
 */
import { describe, expect, it } from "@effect/vitest"
import { HashMap } from "effect"
import { describeEffect } from "../../src/cli/EffectCommand.ts"
import { type EffectsState, initialEffectsState } from "../../src/domain/effects/EffectFold.ts"
import { anyEffectOf, listAnyEffects, resolveAnyEffects } from "../../src/domain/effects/EffectQueries.ts"
import type { EffectStatus, IbcPacketEffect, TrackedEffect } from "../../src/domain/effects/EffectShapes.ts"
import { packetView } from "../../src/domain/effects/IbcPacketFold.ts"

const header = { height: 7, hash: "ab".repeat(32) }

const evm = (n: number, lamport: number, chain = "anvil", status: EffectStatus = "included"): TrackedEffect => ({
  id: `evm-log:${chain}:${"0".repeat(63)}${n}:0:0`,
  kind: "evm-log",
  origin: { chain, height: 7, blockHash: "0".repeat(63) + n, lamport, transactionIndex: 0, logIndex: 0 },
  status,
  finality: "latest",
  evidence: { kind: "evm-receipt", message: "m".repeat(64), header },
  outcome: "success",
  log: { address: "0x" + "11".repeat(20), topics: [], data: "0x" },
  watches: [],
  history: [{ status, finality: "latest", lamport, evidence: { kind: "evm-receipt", message: "m".repeat(64), header } }],
  aliases: [],
  journeys: [],
  causalDependencies: [],
  causalDependents: [],
  dependencyRetracted: false
})

const packet = (n: number, lamports: ReadonlyArray<number>, aliases: ReadonlyArray<string> = []): IbcPacketEffect => ({
  id: `ibc-packet:chain-a:transfer:channel-0:${n}`,
  kind: "ibc-packet",
  source: { chain: "chain-a", port: "transfer", channel: "channel-0" },
  sequence: String(n),
  destination: { chain: "chain-b", port: "transfer", channel: "channel-1" },
  status: "sent",
  finality: "finalized",
  evidence: { kind: "ibc-commitment", message: "p".repeat(64), header },
  commitment: "cc".repeat(32),
  timeout: null,
  acknowledgement: null,
  execution: null,
  journey: [{ leg: "commitment", chain: "chain-a", height: 6, headerHash: header.hash, time: 1_000, message: "p".repeat(64), lamport: lamports[0] as number }],
  watches: [],
  history: lamports.map((lamport) => ({ status: "sent" as const, finality: "finalized" as const, lamport, evidence: { kind: "ibc-commitment" as const, message: "p".repeat(64), header } })),
  aliases,
  causalDependencies: [],
  causalDependents: [],
  dependencyRetracted: false
})

const stateOf = (effects: ReadonlyArray<TrackedEffect>, packets: ReadonlyArray<IbcPacketEffect>): EffectsState => ({
  ...initialEffectsState,
  effects: HashMap.fromIterable(effects.map((e) => [e.id, e] as const)),
  order: effects.map((e) => e.id),
  packets: HashMap.fromIterable(packets.map((p) => [p.id, p] as const)),
  packetOrder: packets.map((p) => p.id)
})

describe("effect queries over EVM effects and IBC packets", () => {
  const e1 = evm(1, 10)
  const e2 = evm(2, 30, "other", "retracted")
  const p1 = packet(1, [20, 40], ["transfer:0xfeed"])
  const p2 = packet(2, [50])
  const state = stateOf([e1, e2], [p1, p2])

  it("lists both kinds merged by the Lamport time each was first tracked", () => {
    expect(listAnyEffects(state, { limit: 10 }).map((e) => e.id)).toEqual([e1.id, p1.id, e2.id, p2.id])
    expect(listAnyEffects(state, { limit: 3 }).map((e) => e.id)).toEqual([e1.id, p1.id, e2.id])
  })

  it("filters by kind, chain (a packet by either end), status and since", () => {
    expect(listAnyEffects(state, { kind: "ibc-packet", limit: 10 }).map((e) => e.id)).toEqual([p1.id, p2.id])
    expect(listAnyEffects(state, { kind: "evm-log", limit: 10 }).map((e) => e.id)).toEqual([e1.id, e2.id])
    expect(listAnyEffects(state, { chain: "chain-b", limit: 10 }).map((e) => e.id)).toEqual([p1.id, p2.id])
    expect(listAnyEffects(state, { chain: "other", limit: 10 }).map((e) => e.id)).toEqual([e2.id])
    expect(listAnyEffects(state, { status: "retracted", limit: 10 }).map((e) => e.id)).toEqual([e2.id])
    // since: the last move's Lamport time (p1 moved at 40).
    expect(listAnyEffects(state, { since: 35, limit: 10 }).map((e) => e.id)).toEqual([p1.id, p2.id])
  })

  it("resolves an id or an alias of either kind", () => {
    expect(anyEffectOf(state, p2.id)).toBe(p2)
    expect(anyEffectOf(state, e1.id)).toBe(e1)
    expect(anyEffectOf(state, "nothing")).toBeUndefined()
    expect(resolveAnyEffects(state, "transfer:0xfeed")).toEqual([p1])
    expect(resolveAnyEffects(state, e2.id)).toEqual([e2])
    expect(resolveAnyEffects(state, "transfer:0xbeef")).toEqual([])
  })

  it("describes a packet for people", () => {
    const text = describeEffect(packetView(p1, 1_000 + 3_600_000, 600_000))
    expect(text).toContain(`${p1.id}\n  sent (finalized)  [stuck for 3600 s]`)
    expect(text).toContain("sequence 1 from chain-a transfer/channel-0 to chain-b transfer/channel-1")
    expect(text).toContain("leg: commitment on chain-a at 6")
  })
})
