/**
 * The chain-observer projection's fold: linking, reorg rollback above the fork point,
 * finality marks, proofs held only against held headers, trust in the instance key only,
 * retention; and two properties over random event scripts: a snapshot taken anywhere and
 * resumed reaches the live digest, and a reorg at f leaves exactly what folding the chain
 * up to f left (headers, head, proven values).
 */
import { sha256 } from "@noble/hashes/sha2.js"
import { bytesToHex } from "@noble/hashes/utils.js"
import { describe, expect, it } from "@effect/vitest"
import { HashMap } from "effect"
import fc from "fast-check"
import { canonicalize } from "../../src/domain/CanonicalJson.ts"
import { idOf } from "../../src/domain/Envelope.ts"
import { signEnvelope } from "../../src/domain/Keys.ts"
import type { MessageId } from "../../src/domain/Primitives.ts"
import type { LogRecord } from "../../src/ports/CausalLog.ts"
import {
  chainOf,
  followCursor,
  headerOf,
  headersOf,
  latestProofs,
  makeChainState,
  RETAINED_HEADERS,
  type ChainState
} from "../../src/projections/ChainState/ChainState.ts"
import { digestOf, serialize } from "../../src/projections/Projection.ts"
import { testKey } from "../support/fixtures.ts"

const instance = testKey("instance")
const projection = makeChainState({ instanceKey: instance.publicKey })
const hash = (label: string) => bytesToHex(sha256(new TextEncoder().encode(label)))

let offset = 0
/** A log record of a payload, as the instance (or `sender`) would author it; the body is only parsed. */
const rec = (type: string, payload: unknown, sender = instance.publicKey): LogRecord => {
  const o = offset++
  return { offset: o, id: hash(`id:${o}`) as MessageId, lamport: o + 1, type, sender, nonce: o, deps: [], body: JSON.stringify({ type, payload }) }
}
const fold = (records: ReadonlyArray<LogRecord>, from: typeof projection.initialState = projection.initialState) => records.reduce(projection.evolve, from)

interface H { height: number; hash: string; parentHash: string }
const branch = (name: string, from: H | undefined, n: number): Array<H> => {
  const out: Array<H> = []
  let parent = from
  for (let i = 0; i < n; i++) {
    const height = parent === undefined ? 0 : parent.height + 1
    const h = { height, hash: hash(`${name}:${height}`), parentHash: parent?.hash ?? "00".repeat(32) }
    out.push(h)
    parent = h
  }
  return out
}
const head = (h: H, chain = "eth") =>
  rec("ChainHeadVerified", { chain, kind: "evm", height: h.height, hash: h.hash, parentHash: h.parentHash, stateRoot: hash(`root:${h.hash}`), time: h.height * 12_000 })
const reorg = (fork: H, oldHead: H, newHead: H, chain = "eth") =>
  rec("ChainReorged", { chain, forkHeight: fork.height, forkHash: fork.hash, oldHead: { height: oldHead.height, hash: oldHead.hash }, newHead: { height: newHead.height, hash: newHead.hash } })
const mark = (type: "ChainFinalized" | "ChainSafe", h: H, chain = "eth") => rec(type, { chain, height: h.height, hash: h.hash })
const proof = (h: H, key: string, value: string, chain = "eth") =>
  rec("LightClientProof", { chain, height: h.height, headerHash: h.hash, kind: "eip1186", key, value, proof: "00" })

const eth = (s: ChainState) => chainOf(s, "eth")!

describe("ChainState evolve", () => {
  it("links headers to the head, accepts a gap, and ignores what does not link", () => {
    const main = branch("main", undefined, 6)
    const stray = branch("stray", main[0], 2)[1]! // height 2, its parent not main[1]
    const s = fold([head(main[0]!), head(main[1]!), head(main[1]!), head(stray), head(main[2]!), head(main[5]!)])
    expect(eth(s).head).toEqual({ height: 5, hash: main[5]!.hash })
    expect(headersOf(eth(s)).map((h) => h.height)).toEqual([0, 1, 2, 5])
    expect(eth(s).ignored).toBe(2) // the duplicate of 1, and a 2 whose parent is not the head
    expect(headerOf(eth(s), 2)).toMatchObject({ hash: main[2]!.hash, stateRoot: hash(`root:${main[2]!.hash}`), time: 24_000 })
  })

  it("rolls back headers, marks and proven values above the fork point, then links the new branch", () => {
    const main = branch("main", undefined, 8)
    const side = branch("side", main[4], 4) // 5'..8'
    const before = fold([
      ...main.map((h) => head(h)),
      mark("ChainSafe", main[6]!),
      mark("ChainFinalized", main[3]!),
      proof(main[3]!, "aa", "01"),
      proof(main[6]!, "aa", "02"),
      proof(main[7]!, "bb", "03")
    ])
    expect(latestProofs(eth(before)).map((p) => [p.key, p.value])).toEqual([["aa", "02"], ["bb", "03"]])
    const after = fold([reorg(main[4]!, main[7]!, side[3]!)], before)
    const c = eth(after)
    expect(c.head).toEqual({ height: 4, hash: main[4]!.hash })
    expect(headersOf(c).at(-1)?.height).toBe(4)
    expect(c.safe).toEqual({ height: 4, hash: main[4]!.hash })
    expect(c.finalized).toEqual({ height: 3, hash: main[3]!.hash })
    expect(latestProofs(c).map((p) => [p.key, p.value, p.height])).toEqual([["aa", "01", 3]])
    expect(c.reorgs).toEqual([expect.objectContaining({ forkHeight: 4, depth: 3, finalityViolated: false, oldHead: { height: 7, hash: main[7]!.hash } })])
    const relinked = fold(side.map((h) => head(h)), after)
    expect(eth(relinked).head).toEqual({ height: 8, hash: side[3]!.hash })
    expect(eth(relinked).ignored).toBe(0)
    // A header of yet another branch does not link to the fork point.
    expect(eth(fold([head(branch("other", main[3], 2)[1]!)], after)).ignored).toBe(1)
  })

  it("flags a reorg below the finalized height, and ignores reorgs that do not fit", () => {
    const main = branch("main", undefined, 6)
    const s = fold([...main.map((h) => head(h)), mark("ChainFinalized", main[4]!)])
    const wrongFork = { ...main[2]!, hash: hash("elsewhere") }
    expect(eth(fold([reorg(wrongFork, main[5]!, main[5]!)], s)).ignored).toBe(1)
    expect(eth(fold([reorg(main[5]!, main[5]!, main[5]!)], s)).ignored).toBe(1)
    const violated = eth(fold([reorg(main[2]!, main[5]!, main[5]!)], s))
    expect(violated.reorgs[0]?.finalityViolated).toBe(true)
    expect(violated.finalized).toEqual({ height: 2, hash: main[2]!.hash })
  })

  it("moves marks only forward, never above the head or onto another branch", () => {
    const main = branch("main", undefined, 5)
    const s = fold([...main.map((h) => head(h)), mark("ChainFinalized", main[3]!)])
    const side = branch("side", main[1], 1)[0]!
    for (const bad of [mark("ChainFinalized", main[2]!), mark("ChainFinalized", { ...main[4]!, height: 9 }), mark("ChainFinalized", side)]) {
      expect(eth(fold([bad], s)).finalized).toEqual({ height: 3, hash: main[3]!.hash })
    }
    expect(eth(fold([mark("ChainFinalized", main[4]!)], s)).finalized?.height).toBe(4)
  })

  it("holds a proof only against the header it names", () => {
    const main = branch("main", undefined, 3)
    const s = fold([...main.map((h) => head(h)), proof({ ...main[1]!, hash: hash("other") }, "aa", "01"), proof(main[1]!, "aa", "02")])
    expect(latestProofs(eth(s)).map((p) => p.value)).toEqual(["02"])
    expect(eth(s).ignored).toBe(1)
  })

  it("holds each misbehaviour report once, through reorgs, and ignores one about a chain never announced", () => {
    const main = branch("main", undefined, 4)
    const report = (chain = "eth") => rec("ChainMisbehaviourDetected", {
      chain,
      height: 3,
      commonHeight: 2,
      commonHash: main[2]!.hash,
      primary: { hash: main[3]!.hash, header: "7b7d" },
      witness: { hash: hash("conflict"), header: "7b7d" }
    })
    const s = fold([...main.map((h) => head(h)), report(), report(), reorg(main[1]!, main[3]!, main[3]!), report("cosmoshub")])
    expect(eth(s).misbehaviours).toEqual([expect.objectContaining({ height: 3, primaryHash: main[3]!.hash, witnessHash: hash("conflict") })])
    expect(eth(s).ignored).toBe(1)
    expect(s.ignored).toBe(1)
    expect(chainOf(s, "cosmoshub")).toBeUndefined()
  })

  it("trusts only the instance key: the same messages from anyone else change nothing", () => {
    const mallory = testKey("mallory").publicKey
    const main = branch("main", undefined, 3)
    const s = fold(main.map((h) => rec("ChainHeadVerified", JSON.parse(head(h).body).payload, mallory)))
    expect(digestOf(projection, s)).toBe(digestOf(projection, projection.initialState))
    // A real signed envelope of the instance is folded.
    const env = signEnvelope(instance, { v: 1, flags: 0, type: "ChainHeadVerified", nonce: 1, lamport: 1, deps: [], expiry: null, payload: JSON.parse(head(main[0]!).body).payload })
    const r: LogRecord = { offset: 0, id: idOf(env), lamport: 1, type: env.type, sender: env.sender, nonce: 1, deps: [], body: canonicalize(env as never) }
    expect(eth(projection.evolve(projection.initialState, r)).head?.hash).toBe(main[0]!.hash)
  })

  it("retention: a key whose newest proof's header left the window leaves memory into the outbox; the projection archives it by chain and key", () => {
    const main = branch("main", undefined, RETAINED_HEADERS + 20)
    const records: Array<LogRecord> = []
    for (const h of main) {
      records.push(head(h))
      if (h.height === 5) records.push(proof(h, "aa", "01"), proof(h, "bb", "02"))
      if (h.height === 6) records.push(proof(h, "aa", "03"))
      // bb is proven again inside the window: it stays, its older value with it.
      if (h.height === RETAINED_HEADERS) records.push(proof(h, "bb", "04"))
    }
    const held = fold(records.slice(0, records.findIndex((r) => r.type === "ChainHeadVerified" && JSON.parse(r.body).payload.height === RETAINED_HEADERS + 5)))
    const s = fold(records)
    // The window is the last RETAINED_HEADERS heights: header 6 left when the head reached RETAINED_HEADERS + 6.
    expect(latestProofs(eth(s)).map((p) => [p.key, p.value])).toEqual([["bb", "04"]])
    expect(eth(s).proofs.pipe(HashMap.get("bb"))).toMatchObject({ _tag: "Some", value: [{ value: "02" }, { value: "04" }] })
    expect(s.evicted).toEqual([{ chain: "eth", key: "aa", proofs: eth(held).proofs.pipe(HashMap.get("aa"), (o) => (o._tag === "Some" ? o.value : [])) }])
    expect(s.evicted[0]?.proofs.map((p) => p.value)).toEqual(["01", "03"])
    const { state: drained, archived } = projection.drain!(s)
    expect(drained.evicted).toEqual([])
    expect(serialize(projection, drained)).toBe(serialize(projection, s))
    expect(archived).toEqual([{ key: "p:3:eth:aa", value: { chain: "eth", key: "aa", proofs: s.evicted[0]!.proofs.map((p) => ({ ...p })) } }])
    // Replay from a snapshot taken before the drop drops it at the same record.
    const cut = records.length - 30
    const resumed = fold(records.slice(cut), projection.decode(JSON.parse(serialize(projection, fold(records.slice(0, cut))))))
    expect(digestOf(projection, resumed)).toBe(digestOf(projection, s))
  })

  it("keeps the last RETAINED_HEADERS headers, and the cursor resumes from them", () => {
    const main = branch("main", undefined, RETAINED_HEADERS + 100)
    const s = fold(main.map((h) => head(h)))
    const hs = headersOf(eth(s))
    expect(hs.length).toBe(RETAINED_HEADERS)
    expect(hs[0]!.height).toBe(100)
    expect(headerOf(eth(s), 99)).toBeUndefined()
    const cursor = followCursor(s, "eth", 10)!
    expect(cursor.headers.map((h) => h.height)).toEqual(main.slice(-10).map((h) => h.height))
    expect(cursor.headers.at(-1)).toMatchObject({ chain: "eth", hash: main.at(-1)!.hash })
    expect(followCursor(s, "nope")).toBeUndefined()
  })
})

/** A random but coherent script of chain events on two chains (plus noise). */
const script = fc.array(fc.tuple(fc.integer({ min: 0, max: 9 }), fc.nat(), fc.constantFrom("eth", "op")), { maxLength: 120 }).map((ops) => {
  const records: Array<LogRecord> = []
  const tips = new Map<string, Array<H>>()
  let n = 0
  for (const [op, x, chain] of ops) {
    const known = tips.get(chain) ?? []
    const tip = known.at(-1)
    if (op <= 4 || tip === undefined) {
      const next = branch(`${chain}:${n++}`, tip, 1 + (x % 3))
      for (const h of next) records.push(head(h, chain))
      tips.set(chain, [...known, ...next])
    } else if (op === 5 && known.length > 1) {
      const fork = known[x % (known.length - 1)]!
      const side = branch(`${chain}:${n++}`, fork, 1 + (x % 4))
      records.push(reorg(fork, tip, side.at(-1)!, chain), ...side.map((h) => head(h, chain)))
      tips.set(chain, [...known.slice(0, known.indexOf(fork) + 1), ...side])
    } else if (op === 6) records.push(mark("ChainFinalized", known[x % known.length]!, chain))
    else if (op === 7) records.push(mark("ChainSafe", known[x % known.length]!, chain))
    else if (op === 8) records.push(proof(known[x % known.length]!, `k${x % 3}`, (x % 256).toString(16).padStart(2, "0"), chain))
    else if (x % 2 === 0) records.push(rec("ChainHeadVerified", JSON.parse(head(tip, chain).body).payload, testKey("mallory").publicKey))
    else {
      const at = known[x % known.length]!
      records.push(rec("ChainMisbehaviourDetected", {
        chain,
        height: at.height,
        commonHeight: Math.max(0, at.height - 1),
        commonHash: at.parentHash,
        primary: { hash: at.hash, header: "7b7d" },
        witness: { hash: hash(`w:${x % 5}`), header: "7b7d" }
      }))
    }
  }
  return records
})

describe("ChainState properties", () => {
  it("a snapshot taken anywhere and resumed reaches the live digest (replay = live)", () => {
    fc.assert(
      fc.property(script, fc.nat(), (records, cut) => {
        const at = records.length === 0 ? 0 : cut % (records.length + 1)
        const live = fold(records)
        const snapshot = serialize(projection, fold(records.slice(0, at)))
        const resumed = fold(records.slice(at), projection.decode(JSON.parse(snapshot)))
        expect(serialize(projection, projection.decode(JSON.parse(snapshot)))).toBe(snapshot)
        expect(digestOf(projection, resumed)).toBe(digestOf(projection, live))
      }),
      { numRuns: 150 }
    )
  })

  it("a reorg at f leaves the headers, head and proven values of the chain folded up to f", () => {
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 40 }), fc.nat(), fc.array(fc.nat(), { maxLength: 30 }), (length, forkSeed, proofSeeds) => {
        const main = branch("main", undefined, length)
        const fork = main[forkSeed % (length - 1)]!
        const events: Array<LogRecord> = []
        let upToFork = 0
        for (const h of main) {
          events.push(head(h))
          for (const p of proofSeeds.filter((s) => s % length === h.height)) events.push(proof(h, `k${p % 4}`, (p % 256).toString(16).padStart(2, "0")))
          if (h.height === fork.height) upToFork = events.length
        }
        const expected = eth(fold(events.slice(0, upToFork)))
        const rolled = eth(fold([...events, reorg(fork, main.at(-1)!, main.at(-1)!)]))
        expect(rolled.head).toEqual(expected.head)
        expect(headersOf(rolled)).toEqual(headersOf(expected))
        expect([...HashMap.entries(rolled.proofs)].sort()).toEqual([...HashMap.entries(expected.proofs)].sort())
      }),
      { numRuns: 150 }
    )
  })
})
