/**
 * The effect tracker's pure fold on a real block (test/vectors/evm-receipts: hive block 0x36,
 * 11 logs in 4 receipts): effects appear only with receipt proofs that verify against the
 * header the log holds as verified; marks move finality; a reorg retracts and flags
 * dependents; a forged receipt, a header not held, a log no watch matches count for nothing.
 * Transaction proofs (execution-apis transactions put in the block's header as its
 * transactionsRoot) alias the effects by the transaction hash; a forged one costs only the alias.
 */
import { readFileSync } from "node:fs"
import path from "node:path"
import { keccak_256 } from "@noble/hashes/sha3.js"
import { describe, expect, it } from "@effect/vitest"
import { HashMap, Result } from "effect"
import {
  effectOf,
  type EffectsState,
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
import { buildReceiptsTrie, receiptKey } from "../../src/domain/verify/EvmReceipts.ts"
import { buildTransactionsTrie, transactionKey } from "../../src/domain/verify/EvmTransactions.ts"
import { decodeRlp, encodeRlp } from "../../src/domain/verify/Rlp.ts"

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
