/**
 * The effect tracker's pure fold on a real block (test/vectors/evm-receipts: hive block 0x36,
 * 11 logs in 4 receipts): effects appear only with receipt proofs that verify against the
 * header the log holds as verified; marks move finality; a reorg retracts and flags
 * dependents; a forged receipt, a header not held, a log no watch matches count for nothing.
 * Transaction proofs (execution-apis transactions put in the block's header as its
 * transactionsRoot) alias the effects by the transaction hash; a forged one costs only the alias.
 * Past MAX_EFFECTS the oldest effects leave memory, and a server answers for them from the
 * projection's archive (by id, alias, history and event stream).
 */
import { readFileSync } from "node:fs"
import path from "node:path"
import { keccak_256 } from "@noble/hashes/sha3.js"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { afterAll, describe, expect, it, layer } from "@effect/vitest"
import { Effect, HashMap, Result } from "effect"
import * as SqliteProjectionStore from "../../src/adapters/storage/SqliteProjectionStore.ts"
import * as InstanceKeyFile from "../../src/adapters/files/InstanceKeyFile.ts"
import { instanceKeyPath, snapshotPath } from "../../src/Config.ts"
import * as Server from "../http/support/server.ts"
import {
  effectOf,
  type EffectsState,
  MAX_EFFECTS,
  evmLogEffectId,
  initialEffectsState,
  listEffects,
  onHead,
  onMark,
  onObserved,
  onReorg,
  onWatchAdded,
  onWatchRemoved,
  resolveEffects
} from "../../src/domain/effects/EffectFold.ts"
import type { ChainHeadVerified, ChainReorged } from "../../src/domain/chain/ChainMessages.ts"
import type { EffectsObserved, EffectWatchAdded } from "../../src/domain/effects/EffectMessages.ts"
import { onBackfillObserved } from "../../src/domain/effects/EffectBackfill.ts"
import { buildReceiptsTrie, receiptKey } from "../../src/domain/verify/EvmReceipts.ts"
import { decodeRlp, encodeRlp, type RlpItem, scalarToBytes } from "../../src/domain/verify/Rlp.ts"
import { makeEffects } from "../../src/projections/Effects/Effects.ts"
import { projections } from "../../src/main.ts"
import { serialize } from "../../src/projections/Projection.ts"
import { buildTransactionsTrie, transactionKey } from "../../src/domain/verify/EvmTransactions.ts"

const file = JSON.parse(readFileSync(path.resolve(import.meta.dirname, "../vectors/evm-receipts/receipts.json"), "utf8"))
const block = file.blocks.find((b: any) => b.name === "hive-2026-block-54-legacy-logs")
const HEIGHT = 0x36
const HASH = (block.hash as string).slice(2)
const EMITTER = "b1917d669e2a9307d342d04ab74e68ea94c4d11c"
const OTHER = "7dcd17433742f4c0ca53122ab541d0ba67fc27df"
const hex = (b: Uint8Array) => Buffer.from(b).toString("hex")

const built = (() => {
  const r = buildReceiptsTrie(block.receipts)
  if (Result.isFailure(r)) throw new Error(r.failure._tag)
  return r.success
})()
// The receipts' proofs over one node table, each node once, as the tracker builds them.
const nodeTable = (indexes: ReadonlyArray<[number, ReadonlyArray<number>]>) => {
  const nodes: Array<string> = []
  const receipts = indexes.map(([i, logs]) => ({
    transactionIndex: i,
    proof: built.trie.prove(receiptKey(i)).map(hex).map((n) => {
      const at = nodes.indexOf(n)
      return at >= 0 ? at : nodes.push(n) - 1
    }),
    logs
  }))
  return { nodes, receipts }
}
const observed = (indexes: ReadonlyArray<[number, ReadonlyArray<number>]>, over: Partial<EffectsObserved> = {}): EffectsObserved =>
  ({
    chain: "hive",
    height: HEIGHT,
    hash: HASH,
    headerRlp: (block.headerRlp as string).slice(2),
    ...nodeTable(indexes),
    last: true,
    ...over
  }) as EffectsObserved

const head = (height: number, hash: string): ChainHeadVerified =>
  ({ chain: "hive", kind: "evm", height, hash, parentHash: "", stateRoot: "", time: 0 }) as unknown as ChainHeadVerified
const watch = (filter: object): EffectWatchAdded => ({ chain: "hive", kind: "evm-log", filter }) as EffectWatchAdded
const meta = (n: number) => ({ id: n.toString(16).padStart(64, "0"), lamport: n })

const withHead = (): EffectsState => onWatchAdded(onHead(initialEffectsState, head(HEIGHT, HASH)), watch({ address: EMITTER }), meta(1))

describe("effects fold", () => {
  it("tracks every log a watch matches, with the receipt proof's evidence; nothing else", () => {
    const s = onObserved(withHead(), observed([[1, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]], [3, [0]]]), meta(2))
    const effects = listEffects(s, { limit: 100 })
    // Receipt 3's log is from another address: the author said it matched, the fold does not agree.
    expect(effects.map((e) => e.id)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9].map((j) => evmLogEffectId("hive", HASH, 1, j)))
    expect(s.ignored).toBe(1)
    const first = effects[0]!
    expect(first).toMatchObject({
      status: "included",
      finality: "latest",
      outcome: "success",
      origin: { chain: "hive", height: HEIGHT, blockHash: HASH, transactionIndex: 1, logIndex: 0, lamport: 2 },
      evidence: { kind: "evm-receipt", message: meta(2).id, header: { height: HEIGHT, hash: HASH }, receiptsRoot: (block.receiptsRoot as string).slice(2) },
      log: block.receipts[1].logs[0] && { address: `0x${EMITTER}`, topics: block.receipts[1].logs[0].topics, data: block.receipts[1].logs[0].data }
    })
    expect(s.chains.pipe(HashMap.get("hive"))).toMatchObject({ _tag: "Some", value: { scanned: { height: HEIGHT, hash: HASH, id: meta(2).id } } })
  })

  it("filters by topics (null matches any)", () => {
    const topic0 = (block.receipts[1].logs[4].topics[0] as string).slice(2)
    const s0 = onWatchAdded(onHead(initialEffectsState, head(HEIGHT, HASH)), watch({ address: EMITTER, topics: [topic0] }), meta(1))
    const s = onObserved(s0, observed([[1, [0, 4]]]), meta(2))
    expect(listEffects(s, { limit: 10 }).map((e) => e.origin.logIndex)).toEqual([4])
    const any = onObserved(onWatchAdded(onHead(initialEffectsState, head(HEIGHT, HASH)), watch({ topics: [null] }), meta(1)), observed([[3, [0]]]), meta(2))
    expect(listEffects(any, { limit: 10 }).map((e) => e.log.address)).toEqual([`0x${OTHER}`])
  })

  it("ignores a block whose header is not the verified one held, or does not hash to it", () => {
    const notHeld = onObserved(onWatchAdded(initialEffectsState, watch({}), meta(1)), observed([[1, [0]]]), meta(2))
    expect([HashMap.size(notHeld.effects), notHeld.ignored]).toEqual([0, 1])
    const otherHash = onObserved(onWatchAdded(onHead(initialEffectsState, head(HEIGHT, "11".repeat(32))), watch({}), meta(1)), observed([[1, [0]]], { hash: "11".repeat(32) } as Partial<EffectsObserved>), meta(2))
    expect([HashMap.size(otherHash.effects), otherHash.ignored]).toEqual([0, 1])
  })

  it("skips a receipt whose proof fails: altered receipt, wrong index, cut proof", () => {
    const good = observed([[1, [0]]])
    const r = good.receipts[0]!
    const leaf = r.proof.at(-1)!
    const flipped = good.nodes.map((n, i) => (i === leaf ? n.slice(0, -2) + (n.endsWith("00") ? "01" : "00") : n))
    const variants = [
      { ...good, nodes: flipped }, // the receipt altered
      { ...good, receipts: [{ ...r, transactionIndex: 2 }] }, // another transaction's place
      { ...good, receipts: [{ ...r, proof: r.proof.slice(0, 1) }] }, // a proof cut short
      { ...good, receipts: [{ ...r, proof: [...r.proof.slice(0, -1), good.nodes.length] }] } // a node the table lacks
    ]
    for (const bad of variants) {
      const s = onObserved(withHead(), bad as unknown as EffectsObserved, meta(2))
      expect([HashMap.size(s.effects), s.ignored]).toEqual([0, 1])
    }
  })

  it("a repeat of a tracked effect changes nothing but the ignored count; a removed watch tracks nothing new", () => {
    const once = onObserved(withHead(), observed([[1, [0]]]), meta(2))
    const twice = onObserved(once, observed([[1, [0]]]), meta(3))
    expect([HashMap.size(twice.effects), twice.ignored - once.ignored]).toEqual([1, 1])
    const removed = onWatchRemoved(withHead(), meta(1).id)
    expect(HashMap.size(onObserved(removed, observed([[1, [0]]]), meta(2)).effects)).toBe(0)
    expect(onWatchRemoved(removed, meta(1).id).ignored).toBe(removed.ignored + 1)
  })

  it("moves finality with the chain's marks, each move with the mark as evidence", () => {
    const s = onObserved(withHead(), observed([[1, [0]]]), meta(2))
    const id = evmLogEffectId("hive", HASH, 1, 0)
    const below = onMark(s, "safe", { chain: "hive", height: HEIGHT - 1, hash: "aa".repeat(32) } as any, meta(3))
    expect(effectOf(below, id)?.finality).toBe("latest")
    const safe = onMark(below, "safe", { chain: "hive", height: HEIGHT, hash: HASH } as any, meta(4))
    const final = onMark(safe, "finalized", { chain: "hive", height: HEIGHT + 2, hash: "bb".repeat(32) } as any, meta(5))
    const e = effectOf(final, id)!
    expect(e.history.map((m) => [m.status, m.finality, m.evidence.kind, m.lamport])).toEqual([
      ["included", "latest", "evm-receipt", 2],
      ["included", "safe", "chain-safe", 4],
      ["included", "finalized", "chain-finalized", 5]
    ])
    // An effect observed after its block was finalized is final at once.
    const late = onObserved(onMark(withHead(), "finalized", { chain: "hive", height: HEIGHT, hash: HASH } as any, meta(2)), observed([[1, [0]]]), meta(3))
    expect(effectOf(late, id)?.finality).toBe("finalized")
  })

  it("retracts effects above a reorg's fork point, flags their dependents, and rescans from the fork", () => {
    const s = onObserved(withHead(), observed([[1, [0, 1]]]), meta(2))
    const a = evmLogEffectId("hive", HASH, 1, 0)
    const b = evmLogEffectId("hive", HASH, 1, 1)
    // b depends on a (as a journey's later leg would).
    const linked: EffectsState = {
      ...s,
      effects: HashMap.set(HashMap.set(s.effects, a, { ...effectOf(s, a)!, causalDependents: [b] }), b, { ...effectOf(s, b)!, causalDependencies: [a] })
    }
    const reorg = { chain: "hive", forkHeight: HEIGHT - 1, forkHash: "cc".repeat(32), oldHead: { height: HEIGHT, hash: HASH }, newHead: { height: HEIGHT + 1, hash: "dd".repeat(32) } } as unknown as ChainReorged
    const after = onReorg(linked, reorg, meta(3))
    expect(effectOf(after, a)).toMatchObject({ status: "retracted", evidence: { kind: "chain-reorged", message: meta(3).id } })
    expect(effectOf(after, b)?.dependencyRetracted).toBe(true)
    expect(listEffects(after, { status: "retracted", limit: 10 })).toHaveLength(2)
    expect(after.chains.pipe(HashMap.get("hive"))).toMatchObject({ _tag: "Some", value: { head: HEIGHT - 1, scanned: { height: HEIGHT - 1 } } })
    // A reorg above the block leaves it alone.
    const above = onReorg(linked, { ...reorg, forkHeight: HEIGHT } as ChainReorged, meta(3))
    expect(effectOf(above, a)?.status).toBe("included")
  })

  describe("journeys: a bridge deposit and its fill, correlated by an id the logs carry", () => {
    const topic0 = (block.receipts[1].logs[0].topics[0] as string).slice(2)
    const dataWord0 = `0x${(block.receipts[1].logs[0].data as string).slice(2, 66)}`
    const onChain = (chain: string, o: EffectsObserved): EffectsObserved => ({ ...o, chain }) as EffectsObserved
    const correlated = (chain: string, role: "deposit" | "fill") =>
      ({ chain, kind: "evm-log", filter: { address: EMITTER, topics: [topic0] }, correlate: { route: "bridge", role, id: { dataWord: 0 } } }) as unknown as EffectWatchAdded
    // Two chains (the same real block serves as both): deposits on "hive", fills on "dest".
    const base = (): EffectsState => {
      let s = onHead(initialEffectsState, head(HEIGHT, HASH))
      s = onHead(s, { ...head(HEIGHT, HASH), chain: "dest" } as ChainHeadVerified)
      s = onWatchAdded(s, correlated("hive", "deposit"), meta(1))
      return onWatchAdded(s, correlated("dest", "fill"), meta(2))
    }
    const depositId = evmLogEffectId("hive", HASH, 1, 0)
    const fillId = evmLogEffectId("dest", HASH, 1, 0)

    it("a fill seen before its deposit is held, and linked when the deposit arrives: the deposit is delivered", () => {
      const fillFirst = onObserved(base(), onChain("dest", observed([[1, [0]]])), meta(3))
      expect(effectOf(fillFirst, fillId)).toMatchObject({ aliases: [`bridge:${dataWord0}`], journeys: [], causalDependencies: [] })
      const both = onObserved(fillFirst, observed([[1, [0]]]), meta(4))
      expect(effectOf(both, depositId)).toMatchObject({
        status: "delivered",
        aliases: [`bridge:${dataWord0}`],
        journeys: [{ role: "target", effect: fillId }],
        causalDependents: [fillId],
        evidence: { kind: "evm-receipt", effect: fillId, chain: "dest", message: meta(3).id }
      })
      expect(effectOf(both, fillId)).toMatchObject({ journeys: [{ role: "source", effect: depositId }], causalDependencies: [depositId] })
    })

    it("deposit first, then the fill; the fill finalized settles the deposit; a reorg of the fill rolls it back", () => {
      const depositFirst = onObserved(base(), observed([[1, [0]]]), meta(3))
      expect(effectOf(depositFirst, depositId)?.status).toBe("included")
      const filled = onObserved(depositFirst, onChain("dest", observed([[1, [0]]])), meta(4))
      expect(effectOf(filled, depositId)?.status).toBe("delivered")
      // Finality of the deposit's own chain does not settle it; its fill's does.
      const depositFinal = onMark(filled, "finalized", { chain: "hive", height: HEIGHT, hash: HASH } as any, meta(5))
      expect(effectOf(depositFinal, depositId)).toMatchObject({ status: "delivered", finality: "finalized" })
      const settled = onMark(depositFinal, "finalized", { chain: "dest", height: HEIGHT, hash: HASH } as any, meta(6))
      expect(effectOf(settled, depositId)?.history.map((m) => [m.status, m.evidence.kind, m.evidence.chain ?? "hive"])).toEqual([
        ["included", "evm-receipt", "hive"],
        ["delivered", "evm-receipt", "dest"],
        ["delivered", "chain-finalized", "hive"],
        ["settled", "chain-finalized", "dest"]
      ])
      // Before the fill is final, a reorg of its chain retracts it and the deposit is back to included.
      const reorg = { chain: "dest", forkHeight: HEIGHT - 1, forkHash: "cc".repeat(32), oldHead: { height: HEIGHT, hash: HASH }, newHead: { height: HEIGHT, hash: "dd".repeat(32) } } as unknown as ChainReorged
      const rolled = onReorg(filled, reorg, meta(7))
      expect(effectOf(rolled, fillId)?.status).toBe("retracted")
      expect(effectOf(rolled, depositId)).toMatchObject({ status: "included", evidence: { kind: "chain-reorged", effect: fillId, chain: "dest" } })
      // A deposit reorged out flags its fill.
      const depositGone = onReorg(filled, { ...reorg, chain: "hive" } as ChainReorged, meta(7))
      expect(effectOf(depositGone, fillId)?.dependencyRetracted).toBe(true)
    })

    it("an id in a topic works the same; a log without the word the watch names joins no journey", () => {
      const byTopic = { ...correlated("hive", "deposit"), correlate: { route: "r", role: "deposit", id: { topic: 1 } } } as unknown as EffectWatchAdded
      const s = onObserved(onWatchAdded(onHead(initialEffectsState, head(HEIGHT, HASH)), byTopic, meta(1)), observed([[1, [0]]]), meta(2))
      // Log 0 of receipt 1 has one topic only: no topic 1, no journey.
      expect(effectOf(s, depositId)?.aliases).toEqual([])
      const farWord = { ...correlated("hive", "deposit"), correlate: { route: "r", role: "deposit", id: { dataWord: 5 } } } as unknown as EffectWatchAdded
      const t = onObserved(onWatchAdded(onHead(initialEffectsState, head(HEIGHT, HASH)), farWord, meta(1)), observed([[1, [0]]]), meta(2))
      expect(effectOf(t, depositId)?.aliases).toEqual([])
    })
  })

  describe("deadlines and refunds: a deposit with no fill expires past its deadline; a refund leg refunds it", () => {
    const header = (() => {
      const d = decodeRlp(Buffer.from((block.headerRlp as string).slice(2), "hex"))
      if (Result.isFailure(d) || d.success instanceof Uint8Array) throw new Error("header")
      return d.success as ReadonlyArray<RlpItem>
    })()
    // A header of the block's receipts at another height and time (its receiptsRoot is the block's: the same proofs hold).
    const crafted = (height: number, time: number) => {
      const rlp = encodeRlp([...header.slice(0, 8), scalarToBytes(BigInt(height)), ...header.slice(9, 11), scalarToBytes(BigInt(time)), ...header.slice(12)])
      return { rlp: hex(rlp), hash: hex(keccak_256(rlp)) }
    }
    // A verified block of `chain` at `height` with header time `time`, scanned with the logs `indexes`.
    const block_ = (s: EffectsState, chain: string, height: number, time: number, n: number, indexes: ReadonlyArray<[number, ReadonlyArray<number>]> = []) => {
      const h = crafted(height, time)
      const held = onHead(s, { ...head(height, h.hash), chain } as ChainHeadVerified)
      return onObserved(held, observed(indexes, { chain, height, hash: h.hash, headerRlp: h.rlp } as Partial<EffectsObserved>), meta(n))
    }
    const correlated = (chain: string, role: "deposit" | "fill" | "refund", deadline = true) =>
      ({
        chain,
        kind: "evm-log",
        filter: { address: EMITTER },
        correlate: { route: "bridge", role, id: { dataWord: 0 }, ...(deadline && role === "deposit" ? { deadline: { dataWord: 0 } } : {}) }
      }) as unknown as EffectWatchAdded
    // Log 9's data word is 10: its id, and (as the deposit watch reads it) its deadline, Unix second 10.
    const depositId = evmLogEffectId("hive", HASH, 1, 9)
    const deposited = (watches: ReadonlyArray<EffectWatchAdded>): EffectsState => {
      let s = onWatchAdded(onHead(initialEffectsState, head(HEIGHT, HASH)), correlated("hive", "deposit"), meta(1))
      watches.forEach((w, i) => s = onWatchAdded(s, w, meta(2 + i)))
      return onObserved(s, observed([[1, [9]]]), meta(10))
    }
    const twoFillChains = () => deposited([correlated("dest", "fill"), correlated("dest2", "fill"), correlated("back", "refund")])

    it("keeps the deadline; expires only once every fill chain's scanned block is past it, with that message as evidence", () => {
      let s = twoFillChains()
      expect(effectOf(s, depositId)).toMatchObject({ status: "included", deadline: { time: "10", passed: [] } })
      // dest at the deadline (time 10 is not past 10), then past it; dest2 not yet scanned.
      s = block_(s, "dest", 100, 10, 11)
      expect(effectOf(s, depositId)?.status).toBe("included")
      s = block_(s, "dest", 101, 11, 12)
      expect(effectOf(s, depositId)?.status).toBe("included")
      // Neither the deposit's own chain nor a refund chain proves a fill's absence.
      s = block_(s, "back", 7, 99, 13)
      expect(effectOf(s, depositId)?.status).toBe("included")
      s = block_(s, "dest2", 50, 12, 14)
      const e = effectOf(s, depositId)!
      expect(e).toMatchObject({
        status: "expired",
        evidence: { kind: "deadline-passed", message: meta(14).id, header: { height: 50, hash: crafted(50, 12).hash }, chain: "dest2", time: "12" },
        deadline: {
          time: "10",
          passed: [
            { chain: "dest", height: 101, hash: crafted(101, 11).hash, message: meta(12).id, time: "11" },
            { chain: "dest2", height: 50, hash: crafted(50, 12).hash, message: meta(14).id, time: "12" }
          ]
        }
      })
      expect(s.deadlines).toEqual([])
      expect(s.expired).toEqual([depositId])
      // Once: later blocks move nothing more.
      expect(effectOf(block_(s, "dest", 102, 20, 15), depositId)?.history.length).toBe(e.history.length)
    })

    it("no fill watch for the route: nothing expires; a fill watch back-filling holds expiry until it is done; a deposit without the deadline word never expires", () => {
      const noFill = block_(deposited([correlated("back", "refund")]), "back", 7, 99, 11)
      expect(effectOf(noFill, depositId)?.status).toBe("included")
      // A fill watch added below dest's scan position back-fills: a fill may still be found below.
      let s = block_(deposited([correlated("dest", "fill")]), "dest", 100, 5, 11)
      s = onWatchAdded(s, { ...correlated("dest", "fill"), fromHeight: 90 } as EffectWatchAdded, meta(12))
      s = block_(s, "dest", 101, 11, 13)
      expect(effectOf(s, depositId)?.status).toBe("included")
      s = onWatchRemoved(s, meta(12).id)
      s = block_(s, "dest", 102, 12, 14)
      expect(effectOf(s, depositId)).toMatchObject({ status: "expired", evidence: { message: meta(14).id } })
      const noWord = { ...correlated("hive", "deposit"), correlate: { route: "bridge", role: "deposit", id: { dataWord: 0 }, deadline: { dataWord: 3 } } } as unknown as EffectWatchAdded
      let t = onWatchAdded(onWatchAdded(onHead(initialEffectsState, head(HEIGHT, HASH)), noWord, meta(1)), correlated("dest", "fill"), meta(2))
      t = block_(onObserved(t, observed([[1, [9]]]), meta(10)), "dest", 100, 1_000, 11)
      expect(effectOf(t, depositId)).toMatchObject({ status: "included" })
      expect(effectOf(t, depositId)?.deadline).toBeUndefined()
    })

    it("a reorg below the block that passed the deadline un-expires the deposit; the new branch expires it again; a reorg above leaves it", () => {
      let s = block_(block_(twoFillChains(), "dest", 101, 11, 11), "dest2", 50, 12, 12)
      expect(effectOf(s, depositId)?.status).toBe("expired")
      const reorg = (chain: string, forkHeight: number) =>
        ({ chain, forkHeight, forkHash: "cc".repeat(32), oldHead: { height: 101, hash: "" }, newHead: { height: 101, hash: "dd".repeat(32) } }) as unknown as ChainReorged
      expect(effectOf(onReorg(s, reorg("dest", 101), meta(13)), depositId)?.status).toBe("expired")
      s = onReorg(s, reorg("dest", 100), meta(13))
      expect(effectOf(s, depositId)).toMatchObject({ status: "included", evidence: { kind: "chain-reorged", message: meta(13).id, chain: "dest" }, deadline: { passed: [] } })
      expect([s.deadlines, s.expired]).toEqual([[depositId], []])
      // The new branch's block 101, past the deadline: expired again, by it.
      s = block_(s, "dest", 101, 13, 14)
      expect(effectOf(s, depositId)).toMatchObject({ status: "expired", evidence: { message: meta(14).id, chain: "dest", time: "13" } })
      expect(effectOf(s, depositId)?.history.map((m) => [m.status, m.evidence.kind])).toEqual([
        ["included", "evm-receipt"],
        ["expired", "deadline-passed"],
        ["included", "chain-reorged"],
        ["expired", "deadline-passed"]
      ])
    })

    it("a fill proven after expiry (found late) still delivers the deposit", () => {
      let s = block_(block_(twoFillChains(), "dest", 101, 11, 11), "dest2", 50, 12, 12)
      s = block_(s, "dest", 102, 13, 13, [[1, [9]]])
      const fillId = evmLogEffectId("dest", crafted(102, 13).hash, 1, 9)
      expect(effectOf(s, depositId)).toMatchObject({ status: "delivered", evidence: { kind: "evm-receipt", effect: fillId, chain: "dest" }, deadline: { passed: [] } })
    })

    it("a refund proven moves the deposit to refunded, with the refund as evidence; one seen first is held and linked; a reorg of the refund un-refunds", () => {
      let s = block_(twoFillChains(), "back", 7, 1, 11, [[1, [9]]])
      const refundId = evmLogEffectId("back", crafted(7, 1).hash, 1, 9)
      expect(effectOf(s, depositId)).toMatchObject({
        status: "refunded",
        evidence: { kind: "evm-receipt", effect: refundId, chain: "back", message: meta(11).id },
        journeys: [{ role: "refund", effect: refundId }],
        causalDependents: [refundId]
      })
      expect(effectOf(s, refundId)).toMatchObject({ journeys: [{ role: "source", effect: depositId }], causalDependencies: [depositId] })
      // Refunded is not expired: fill chains passing the deadline move nothing.
      s = block_(block_(s, "dest", 101, 11, 12), "dest2", 50, 12, 13)
      expect(effectOf(s, depositId)?.status).toBe("refunded")
      // The refund's block reorged out: the deposit is included again, and expires on the next fill-chain block past its deadline.
      const reorg = { chain: "back", forkHeight: 6, forkHash: "cc".repeat(32), oldHead: { height: 7, hash: "" }, newHead: { height: 7, hash: "dd".repeat(32) } } as unknown as ChainReorged
      s = onReorg(s, reorg, meta(14))
      expect(effectOf(s, depositId)).toMatchObject({ status: "included", evidence: { kind: "chain-reorged", effect: refundId, chain: "back" } })
      expect(effectOf(block_(s, "dest", 102, 14, 15), depositId)).toMatchObject({ status: "expired", evidence: { message: meta(15).id } })

      // The refund before its deposit: held, then linked when the deposit lands.
      let t = onWatchAdded(onHead(initialEffectsState, head(HEIGHT, HASH)), correlated("hive", "deposit"), meta(1))
      t = onWatchAdded(t, correlated("back", "refund"), meta(2))
      t = block_(t, "back", 7, 1, 3, [[1, [9]]])
      expect(effectOf(t, refundId)).toMatchObject({ journeys: [], aliases: [`bridge:0x${"00".repeat(31)}0a`] })
      t = onObserved(t, observed([[1, [9]]]), meta(4))
      expect(effectOf(t, depositId)).toMatchObject({ status: "refunded", journeys: [{ role: "refund", effect: refundId }], evidence: { effect: refundId, message: meta(3).id } })
      // An expired deposit is refunded too; a finalized refund does not settle it.
      let u = block_(block_(twoFillChains(), "dest", 101, 11, 11), "dest2", 50, 12, 12)
      u = block_(u, "back", 8, 30, 13, [[1, [9]]])
      u = onMark(u, "finalized", { chain: "back", height: 8, hash: crafted(8, 30).hash } as any, meta(14))
      expect(effectOf(u, depositId)).toMatchObject({ status: "refunded", deadline: { passed: [] } })
      // A fill and a refund: the first to land decides; the other takes over when the first is reorged out.
      let v = block_(block_(twoFillChains(), "dest", 101, 5, 11, [[1, [9]]]), "back", 7, 1, 12, [[1, [9]]])
      const fillId = evmLogEffectId("dest", crafted(101, 5).hash, 1, 9)
      expect(effectOf(v, depositId)?.journeys).toEqual([{ role: "target", effect: fillId }, { role: "refund", effect: refundId }])
      expect(effectOf(v, depositId)?.status).toBe("delivered")
      v = onReorg(v, { ...reorg, chain: "dest", forkHeight: 100 } as ChainReorged, meta(13))
      expect(effectOf(v, depositId)).toMatchObject({ status: "refunded", evidence: { kind: "chain-reorged", effect: fillId, chain: "dest" } })
    })

    it("the projection's snapshot carries deadlines, the expired and refunds; replayed from it, expiry goes on the same", () => {
      const projection = makeEffects({ instanceKey: "00".repeat(32) })
      const s = block_(block_(twoFillChains(), "dest", 101, 11, 11), "dest2", 50, 12, 12)
      const text = serialize(projection, { ...projection.initialState, ...s })
      const restored = projection.decode(JSON.parse(text))
      expect(serialize(projection, restored)).toBe(text)
      expect(effectOf(restored, depositId)).toEqual(effectOf(s, depositId))
      const before = block_(twoFillChains(), "dest", 101, 11, 11)
      const again = projection.decode(JSON.parse(serialize(projection, { ...projection.initialState, ...before })))
      expect(serialize(projection, { ...projection.initialState, ...block_(again, "dest2", 50, 12, 12) })).toBe(text)
    })
  })

  describe("back-fill: a watch whose first block is below the scan position", () => {
    // The block's child, made for the test: the same receipts (so the same logs), parentHash the real block's hash.
    const fields = (() => {
      const d = decodeRlp(Buffer.from((block.headerRlp as string).slice(2), "hex"))
      if (Result.isFailure(d) || d.success instanceof Uint8Array) throw new Error("header")
      return d.success as ReadonlyArray<RlpItem>
    })()
    const PARENT = hex(fields[0] as Uint8Array)
    const childRlp = encodeRlp([Buffer.from(HASH, "hex"), ...fields.slice(1, 8), scalarToBytes(BigInt(HEIGHT + 1)), ...fields.slice(9)])
    const CHILD = hex(keccak_256(childRlp))
    // A block of another branch at the same height: the same fields but the timestamp.
    const siblingRlp = encodeRlp([...fields.slice(0, 11), scalarToBytes(0x5eedn), ...fields.slice(12)])
    const child = (indexes: ReadonlyArray<[number, ReadonlyArray<number>]>, over: Partial<EffectsObserved> = {}) =>
      observed(indexes, { height: HEIGHT + 1, hash: CHILD, headerRlp: hex(childRlp), ...over } as Partial<EffectsObserved>)
    const fromHeight = (filter: object, from: number): EffectWatchAdded => ({ ...watch(filter), fromHeight: from }) as EffectWatchAdded
    const B = meta(3).id
    const cursorOf = (s: EffectsState, w: string) => s.backfills.pipe(HashMap.get(w))
    // Watch A (the emitter) scanned the block; B (the other address's logs) is added after, from the block on.
    const scanned = (): EffectsState => onObserved(withHead(), observed([[1, [0, 1]]]), meta(2))
    const withB = (filter: object = { address: OTHER }, from = HEIGHT) => onWatchAdded(scanned(), fromHeight(filter, from), meta(3))
    const backfill = (o: EffectsObserved, w = B) => ({ ...o, backfill: w }) as EffectsObserved

    it("a watch added at or below the scan position gets a cursor from the scan position down; above it, or on a chain never scanned, none", () => {
      expect(cursorOf(withB(), B)).toMatchObject({ _tag: "Some", value: { watch: B, chain: "hive", next: HEIGHT, hash: HASH, until: HEIGHT } })
      expect(cursorOf(withB({}, HEIGHT - 7), B)).toMatchObject({ value: { next: HEIGHT, until: HEIGHT - 7 } })
      expect(cursorOf(withB({}, HEIGHT + 1), B)._tag).toBe("None")
      expect(cursorOf(onWatchAdded(scanned(), watch({}), meta(3)), B)._tag).toBe("None")
      expect(HashMap.size(onWatchAdded(withHead(), fromHeight({}, 0), meta(3)).backfills)).toBe(0)
      // Removing the watch stops its back-fill.
      expect(HashMap.size(onWatchRemoved(withB(), B).backfills)).toBe(0)
    })

    it("the cursor's block: its logs for that watch only, with proofs; the cursor moves to its parent, and past the first block it is dropped", () => {
      const s = onBackfillObserved(withB({ address: OTHER }, HEIGHT - 1), backfill(observed([[3, [0]]])), meta(4))
      const id = evmLogEffectId("hive", HASH, 3, 0)
      expect(effectOf(s, id)).toMatchObject({
        status: "included",
        watches: [B],
        origin: { height: HEIGHT, blockHash: HASH, lamport: 4 },
        evidence: { kind: "evm-receipt", message: meta(4).id, header: { height: HEIGHT, hash: HASH }, receiptsRoot: (block.receiptsRoot as string).slice(2) }
      })
      expect(cursorOf(s, B)).toMatchObject({ value: { next: HEIGHT - 1, hash: PARENT, until: HEIGHT - 1 } })
      // The forward scan position is the forward scan's.
      expect(s.chains.pipe(HashMap.get("hive"))).toMatchObject({ value: { scanned: { height: HEIGHT, id: meta(2).id } } })
      // Down to the first block: the cursor is dropped.
      expect(cursorOf(onBackfillObserved(withB(), backfill(observed([[3, [0]]])), meta(4)), B)._tag).toBe("None")
    })

    it("refuses a block other than the cursor's: another branch's, another height, a header that does not hash to it, no cursor", () => {
      const base = withB()
      const wrongHash = backfill(observed([[3, [0]]], { hash: hex(keccak_256(siblingRlp)), headerRlp: hex(siblingRlp) } as Partial<EffectsObserved>))
      const wrongHeight = backfill(child([[3, [0]]]))
      const forged = backfill({ ...observed([[3, [0]]]), headerRlp: hex(childRlp) } as EffectsObserved)
      const noCursor = backfill(observed([[3, [0]]]), meta(1).id)
      for (const bad of [wrongHash, wrongHeight, forged, noCursor]) {
        const s = onBackfillObserved(base, bad, meta(4))
        expect([HashMap.size(s.effects), s.ignored - base.ignored, cursorOf(s, B)]).toEqual([HashMap.size(base.effects), 1, cursorOf(base, B)])
      }
    })

    it("a log the forward scan already tracked gains the watch, not a second effect; a receipt whose proof fails is skipped", () => {
      const base = withB({ address: EMITTER })
      const s = onBackfillObserved(base, backfill(observed([[1, [0, 1, 2]]])), meta(4))
      const first = evmLogEffectId("hive", HASH, 1, 0)
      expect(effectOf(s, first)).toMatchObject({ watches: [meta(1).id, B], origin: { lamport: 2 }, history: [{ lamport: 2 }] })
      expect(effectOf(s, evmLogEffectId("hive", HASH, 1, 2))).toMatchObject({ watches: [B], origin: { lamport: 4 } })
      expect([HashMap.size(s.effects), s.order.length, s.ignored - base.ignored]).toEqual([3, 3, 0])
      const good = observed([[3, [0]]])
      const cut = backfill({ ...good, receipts: [{ ...good.receipts[0]!, proof: good.receipts[0]!.proof.slice(0, 1) }] } as EffectsObserved)
      const t = onBackfillObserved(withB(), cut, meta(4))
      expect([HashMap.size(t.effects) - HashMap.size(withB().effects), t.ignored - withB().ignored]).toEqual([0, 1])
    })

    it("walks the parent hashes below the headers held: a message that is not the block's last leaves the cursor", () => {
      // Only the child's header is held; the chain is first scanned there, and B is added from the real block on.
      let s = onWatchAdded(onHead(initialEffectsState, head(HEIGHT + 1, CHILD)), fromHeight({ address: EMITTER }, HEIGHT + 1), meta(1))
      s = onObserved(s, child([[1, [0]]]), meta(2))
      s = onWatchAdded(s, fromHeight({ address: OTHER }, HEIGHT), meta(3))
      expect(cursorOf(s, B)).toMatchObject({ value: { next: HEIGHT + 1, hash: CHILD } })
      s = onBackfillObserved(s, backfill(child([[3, [0]]], { last: false })), meta(4))
      expect(cursorOf(s, B)).toMatchObject({ value: { next: HEIGHT + 1, hash: CHILD } })
      s = onBackfillObserved(s, backfill(child([], { last: true })), meta(5))
      expect(cursorOf(s, B)).toMatchObject({ value: { next: HEIGHT, hash: HASH } })
      expect(s.chains.pipe(HashMap.get("hive"))).toMatchObject({ value: { headers: HashMap.make([HEIGHT + 1, CHILD]) } })
      s = onBackfillObserved(s, backfill(observed([[3, [0]]])), meta(6))
      expect(listEffects(s, { limit: 10 }).map((e) => [e.origin.height, e.origin.transactionIndex, e.watches])).toEqual([
        [HEIGHT + 1, 1, [meta(1).id]],
        [HEIGHT + 1, 3, [B]],
        [HEIGHT, 3, [B]]
      ])
      expect(HashMap.size(s.backfills)).toBe(0)
      // Pending stays by ascending height: the back-filled block is below the others.
      expect(s.chains.pipe(HashMap.get("hive"))).toMatchObject({
        value: { pending: [evmLogEffectId("hive", HASH, 3, 0), evmLogEffectId("hive", CHILD, 1, 0), evmLogEffectId("hive", CHILD, 3, 0)] }
      })
    })

    it("a chain first scanned above a watch's first block (no longer held) back-fills it from the first scanned block's parent", () => {
      let s = onWatchAdded(onHead(initialEffectsState, head(HEIGHT + 1, CHILD)), fromHeight({ address: OTHER }, HEIGHT - 10), meta(1))
      s = onObserved(s, child([[3, [0]]]), meta(2))
      expect(cursorOf(s, meta(1).id)).toMatchObject({ value: { next: HEIGHT, hash: HASH, until: HEIGHT - 10 } })
      s = onBackfillObserved(s, backfill(observed([[3, [0]]]), meta(1).id), meta(3))
      expect(listEffects(s, { limit: 10 }).map((e) => e.origin.height)).toEqual([HEIGHT + 1, HEIGHT])
    })

    it("the projection's snapshot carries the cursors", () => {
      const projection = makeEffects({ instanceKey: "00".repeat(32) })
      const s = onBackfillObserved(withB({ address: OTHER }, HEIGHT - 3), backfill(observed([[3, [0]]])), meta(4))
      const state = { ...projection.initialState, ...s }
      const text = serialize(projection, state)
      const restored = projection.decode(JSON.parse(text))
      expect(cursorOf(restored, B)).toEqual(cursorOf(s, B))
      expect(serialize(projection, restored)).toBe(text)
    })

    it("finality follows the chain's marks by height; a reorg below the cursor moves it to the fork point and retracts what it found above", () => {
      const final = onBackfillObserved(onMark(withB(), "finalized", { chain: "hive", height: HEIGHT, hash: HASH } as any, meta(4)), backfill(observed([[3, [0]]])), meta(5))
      expect(effectOf(final, evmLogEffectId("hive", HASH, 3, 0))?.finality).toBe("finalized")
      let s = onObserved(onHead(withHead(), head(HEIGHT + 1, CHILD)), child([[1, [0]]]), meta(2))
      s = onWatchAdded(s, fromHeight({ address: OTHER }, HEIGHT - 5), meta(3))
      s = onBackfillObserved(s, backfill(child([[3, [0]]])), meta(4))
      expect(cursorOf(s, B)).toMatchObject({ value: { next: HEIGHT, hash: HASH } })
      const reorg = { chain: "hive", forkHeight: HEIGHT - 2, forkHash: "cc".repeat(32), oldHead: { height: HEIGHT + 1, hash: CHILD }, newHead: { height: HEIGHT + 1, hash: "dd".repeat(32) } } as unknown as ChainReorged
      const after = onReorg(s, reorg, meta(5))
      expect(cursorOf(after, B)).toMatchObject({ value: { next: HEIGHT - 2, hash: "cc".repeat(32), until: HEIGHT - 5 } })
      expect(effectOf(after, evmLogEffectId("hive", CHILD, 3, 0))?.status).toBe("retracted")
      // A fork above the cursor leaves it; a fork below the watch's first block drops it.
      expect(cursorOf(onReorg(s, { ...reorg, forkHeight: HEIGHT } as ChainReorged, meta(5)), B)).toEqual(cursorOf(s, B))
      expect(cursorOf(onReorg(s, { ...reorg, forkHeight: HEIGHT - 6 } as ChainReorged, meta(5)), B)._tag).toBe("None")
    })
  })

  describe("transaction hashes: the transactions trie under the header's transactionsRoot", () => {
    // Block 0x36 with a transactions root of its own: four vector transactions at positions 0-3
    // (the receipts stay the block's); the header's hash is recomputed, and that header is the one held.
    const vectors = JSON.parse(readFileSync(path.resolve(import.meta.dirname, "../verify/effects/vectors/evm-transactions/transactions.json"), "utf8"))
    const txs = (vectors.transactions as Array<any>).slice(0, 4).map((c, i) => ({ ...c.transaction, transactionIndex: `0x${i}` }))
    const txTrie = (() => {
      const r = buildTransactionsTrie(txs)
      if (Result.isFailure(r)) throw new Error(r.failure._tag)
      return r.success
    })()
    const fields = (() => {
      const r = decodeRlp(Buffer.from((block.headerRlp as string).slice(2), "hex"))
      if (Result.isFailure(r) || r.success instanceof Uint8Array) throw new Error("header")
      return [...r.success]
    })()
    fields[4] = txTrie.root
    const headerRlp = hex(encodeRlp(fields))
    const hash = hex(keccak_256(encodeRlp(fields)))
    const txHash = (i: number) => `0x${txTrie.hashes[i]}`
    const withTransactions = (indexes: ReadonlyArray<[number, ReadonlyArray<number>]>, proofIndex = (i: number) => i): EffectsObserved => {
      const base = observed(indexes, { hash, headerRlp } as unknown as Partial<EffectsObserved>)
      const nodes: Array<string> = [...base.nodes]
      const at = (n: string) => {
        const i = nodes.indexOf(n)
        return i >= 0 ? i : nodes.push(n) - 1
      }
      const receipts = base.receipts.map((r) => ({ ...r, transactionProof: txTrie.trie.prove(transactionKey(proofIndex(r.transactionIndex))).map(hex).map(at) }))
      return { ...base, nodes, receipts } as unknown as EffectsObserved
    }
    const held = () => onWatchAdded(onHead(initialEffectsState, head(HEIGHT, hash)), watch({}), meta(1))

    it("aliases each effect of a proven transaction by its hash; the hash resolves to them in log order", () => {
      const s = onObserved(held(), withTransactions([[1, [0, 1, 2]], [3, [0]]]), meta(2))
      const effects = listEffects(s, { limit: 10 })
      expect(effects.map((e) => [e.origin.transactionIndex, e.origin.transactionHash, e.aliases])).toEqual([
        [1, txHash(1), [txHash(1)]],
        [1, txHash(1), [txHash(1)]],
        [1, txHash(1), [txHash(1)]],
        [3, txHash(3), [txHash(3)]]
      ])
      expect(txHash(1)).toBe(vectors.transactions[1].hash)
      expect(resolveEffects(s, txHash(1)).map((e) => e.origin.logIndex)).toEqual([0, 1, 2])
      expect(resolveEffects(s, txHash(1).toUpperCase().replace("0X", "0x")).length).toBe(3)
      expect(listEffects(s, { transaction: txHash(3), limit: 10 }).map((e) => e.id)).toEqual([evmLogEffectId("hive", hash, 3, 0)])
      expect(listEffects(s, { transaction: txHash(0), limit: 10 })).toEqual([])
      expect(s.ignored).toBe(0)
    })

    it("a forged transaction proof gives no alias, and the receipt still counts", () => {
      const good = withTransactions([[1, [0]]])
      const r = good.receipts[0]!
      const leaf = r.transactionProof!.at(-1)!
      const flipped = good.nodes.map((n, i) => (i === leaf ? n.slice(0, -2) + (n.endsWith("00") ? "01" : "00") : n)) as unknown as EffectsObserved["nodes"]
      const variants: Array<EffectsObserved> = [
        { ...good, nodes: flipped }, // the transaction altered
        withTransactions([[1, [0]]], () => 2), // another transaction's proof
        { ...good, receipts: [{ ...r, transactionProof: r.transactionProof!.slice(0, 1) }] }, // cut short
        { ...good, receipts: [{ ...r, transactionProof: [good.nodes.length] }] }, // a node the table lacks
        { ...good, receipts: [{ ...r, transactionProof: r.proof }] } // the receipt's proof, against the transactions root
      ]
      for (const bad of variants) {
        const s = onObserved(held(), bad, meta(2))
        const e = effectOf(s, evmLogEffectId("hive", hash, 1, 0))
        expect([e?.status, e?.aliases, e?.origin.transactionHash, s.ignored]).toEqual(["included", [], undefined, 0])
        expect(resolveEffects(s, txHash(1))).toEqual([])
      }
      // The block's real header holds another transactions root: the same proofs prove nothing there.
      const real = onObserved(withHead(), { ...good, hash: HASH, headerRlp: (block.headerRlp as string).slice(2) } as EffectsObserved, meta(2))
      expect(effectOf(real, evmLogEffectId("hive", HASH, 1, 0))?.aliases).toEqual([])
    })
  })
})

describe("effects retention by count", () => {
  it("past MAX_EFFECTS the oldest effects leave memory into the outbox, as they were last; the projection drains them under their id and aliases without changing the digest", () => {
    const first = onObserved(withHead(), observed([[1, [0, 1]]], { last: false } as Partial<EffectsObserved>), meta(2))
    const old = [evmLogEffectId("hive", HASH, 1, 0), evmLogEffectId("hive", HASH, 1, 1)]
    expect(old.map((id) => effectOf(first, id)?.status)).toEqual(["included", "included"])
    // Ids that name nothing stand for the other effects up to the bound (the fold reads them as dropped already).
    const full: EffectsState = { ...first, order: [...first.order, ...Array.from({ length: MAX_EFFECTS - first.order.length }, (_, i) => `filler-${i}`)] }
    const next = onObserved(full, observed([[1, [2]]]), meta(3))
    // One more effect: the oldest one leaves, the other stays.
    expect(effectOf(next, old[0]!)).toBeUndefined()
    expect(effectOf(next, old[1]!)?.status).toBe("included")
    expect(effectOf(next, evmLogEffectId("hive", HASH, 1, 2))?.status).toBe("included")
    expect([next.order.length, next.evicted]).toEqual([MAX_EFFECTS, [effectOf(first, old[0]!)]])
    const p = makeEffects({ instanceKey: "00".repeat(32) })
    const withAuthority = { ...p.initialState, ...next }
    const { state: drained, archived } = p.drain!(withAuthority)
    expect(drained.evicted).toEqual([])
    expect(serialize(p, drained)).toBe(serialize(p, withAuthority))
    expect(archived.map((r) => r.key)).toEqual([`e:${old[0]}`])
    expect(archived[0]?.value).toEqual(JSON.parse(JSON.stringify(effectOf(first, old[0]!))))
  })
})

describe("the bound is the deployment's (--max-effects)", () => {
  it("a state's bound decides what leaves; the snapshot records it, and one folded under another bound is refused; the composition root passes it", () => {
    const small = { ...withHead(), maxEffects: 2 }
    const s = onObserved(small, observed([[1, [0, 1, 2]]]), meta(2))
    expect(s.order).toEqual([1, 2].map((j) => evmLogEffectId("hive", HASH, 1, j)))
    expect(s.evicted.map((e) => e.id)).toEqual([evmLogEffectId("hive", HASH, 1, 0)])
    const two = makeEffects({ instanceKey: "00".repeat(32), maxEffects: 2 })
    const text = serialize(two, { ...two.initialState, ...s, evicted: [] })
    expect(JSON.parse(text).maxEffects).toBe(2)
    expect(serialize(two, two.decode(JSON.parse(text)))).toBe(text)
    const other = makeEffects({ instanceKey: "00".repeat(32) })
    expect(() => other.decode(JSON.parse(text))).toThrow(`a bound of 2 effects, not ${MAX_EFFECTS}`)
    const built = projections({ instanceKey: "00".repeat(32), maxEffects: 7 }).find((p) => p.name === "effects")
    expect((built?.initialState as EffectsState).maxEffects).toBe(7)
  })
})

describe("effects retention by count (HTTP)", () => {
  // A server whose archive holds an effect the bound dropped, with an alias, as the runner writes it.
  const dataDir = mkdtempSync(path.join(tmpdir(), "causeway-effects-archive-"))
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }))
  const first = onObserved(withHead(), observed([[1, [0]]], { last: false } as Partial<EffectsObserved>), meta(2))
  const id = evmLogEffectId("hive", HASH, 1, 0)
  const dropped = { ...effectOf(first, id)!, aliases: ["route:0xfeed"] }
  const p = makeEffects({ instanceKey: "00".repeat(32) })
  const { archived } = p.drain!({ ...p.initialState, evicted: [dropped] })
  Effect.runSync(Effect.scoped(Effect.gen(function*() {
    yield* InstanceKeyFile.loadOrCreate(instanceKeyPath(dataDir))
    const store = yield* SqliteProjectionStore.make(snapshotPath(dataDir))
    yield* store.archive(p.name, archived.map((r) => ({ key: r.key, value: JSON.stringify(r.value) })))
  })))
  const view = JSON.parse(JSON.stringify({ effectId: id, ...dropped }))

  layer(Server.layer({ dataDir }), { excludeTestServices: true, timeout: "60 seconds" })((it) => {
    it.effect("answers for a dropped effect by id and alias, its history and its stream (one event), as it was last", () =>
      Effect.gen(function*() {
        const byId = yield* Server.get(`/v1/effects/${id}`)
        expect([byId.status, byId.json.effect]).toEqual([200, view])
        const byAlias = yield* Server.get(`/v1/effects/${encodeURIComponent("route:0xfeed")}`)
        expect([byAlias.status, byAlias.json.effect?.effectId]).toEqual([200, id])
        const history = yield* Server.get(`/v1/effects/${id}/history`)
        expect([history.status, history.json]).toEqual([200, { id, history: view.history }])
        const stream = yield* Server.get(`/v1/effects/${id}/events`)
        expect(stream.status).toBe(200)
        expect(stream.text.match(/^event: effect$/gm)).toHaveLength(1)
        expect(stream.text).toContain(`"effectId":"${id}"`)
        // Never tracked: still 404; a prefix of an alias names nothing.
        expect((yield* Server.get(`/v1/effects/${evmLogEffectId("hive", HASH, 1, 9)}`)).status).toBe(404)
        expect((yield* Server.get(`/v1/effects/${encodeURIComponent("route:0xfe")}`)).status).toBe(404)
      }))
  })
})
