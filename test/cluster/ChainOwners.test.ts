/**
 * Chains owned apart (ADR 0002): the leader's `ChainOwnersAssigned` folded into the authority
 * (who may assign, what an assignment must name, one owner per chain, how a member set that
 * drops an owner leaves its chain unobserved until the leader reassigns it), `heedsChain` at
 * each point of the log (in a cluster an unassigned chain is observed by nobody, the leader
 * neither), the chain-state projection over real signed records heeding each chain's owner,
 * and `chainsMismatch`.
 */
import { sha256 } from "@noble/hashes/sha2.js"
import { bytesToHex } from "@noble/hashes/utils.js"
import { describe, expect, it } from "@effect/vitest"
import {
  type AuthorityConfig,
  type AuthorityState,
  MAX_CHAINS,
  assignChains,
  evolveAuthority,
  heedsChain,
  hrwOwner,
  initialAuthority,
  ownsChain,
  refusalOf
} from "../../src/domain/cluster/Authority.ts"
import type { KeyFile } from "../../src/domain/Keys.ts"
import type { LogRecord } from "../../src/ports/CausalLog.ts"
import { type ChainState, chainOf, headersOf, latestProofs, makeChainState } from "../../src/projections/ChainState/ChainState.ts"
import { digestOf, type Projection, serialize } from "../../src/projections/Projection.ts"
import { chainsMismatch } from "../../src/services/Leadership.ts"
import { clusterConfig, clusterLog, keys, soloConfig } from "./support.ts"

const { admin, a, b, c, alice } = keys
const trio = [a, b, c] as const
const fold = (records: ReadonlyArray<LogRecord>, config: AuthorityConfig = clusterConfig()): AuthorityState =>
  records.reduce(evolveAuthority, initialAuthority(config))
const foldOn = (s: AuthorityState, records: ReadonlyArray<LogRecord>, from: number): AuthorityState => records.slice(from).reduce(evolveAuthority, s)
const pk = (...ks: ReadonlyArray<KeyFile>) => ks.map((k) => k.publicKey)
const byKey = (key: string): KeyFile => {
  const k = trio.find((m) => m.publicKey === key)
  if (k === undefined) throw new Error(`not a member: ${key}`)
  return k
}

/** The owner HRW gives `chain` over {a, b, c}, and the two other members (neither owns it). */
const roles = (chain: string) => {
  const owner = byKey(hrwOwner(chain, pk(...trio)) ?? "")
  const [first, second] = trio.filter((k) => k !== owner) as [KeyFile, KeyFile]
  return { owner, first, second }
}

type Log = ReturnType<typeof clusterLog>
const assign = (log: Log, by: KeyFile, payload: unknown) => log.append(by, "ChainOwnersAssigned", payload)
/** An assignment as the leader writes it: `chains` over `live` by rendezvous hashing. */
const hrwAssignment = (chains: ReadonlyArray<string>, live: ReadonlyArray<KeyFile>) => ({ chains, live: pk(...live).sort(), owners: assignChains(chains, pk(...live)) })
const owner = (chain: string, k: KeyFile) => ({ chain, owner: k.publicKey })

/** The admin names {a, b, c} (offset 0) and `leader` claims term 1 (offset 1). */
const ledBy = (leader: KeyFile) => {
  const log = clusterLog()
  log.set(trio)
  log.claim(leader, 1)
  return log
}

describe("ChainOwnersAssigned", () => {
  it("from the current term's leader: chains sorted and without repeats, owners sorted by chain, its offset recorded", () => {
    const log = ledBy(a)
    const r = assign(log, a, { chains: ["op", "eth", "base", "eth"], live: pk(a, b, c), owners: [owner("op", c), owner("base", b), owner("eth", a)] })
    const s = fold(log.records)
    expect(refusalOf(fold(log.records.slice(0, r.offset)), r)).toBeNull()
    expect(s.chains).toEqual(["base", "eth", "op"])
    expect(s.owners).toEqual([owner("base", b), owner("eth", a), owner("op", c)])
    expect(s.ownersAt).toBe(r.offset)
    // The rest of the authority is untouched.
    expect(s).toMatchObject({ members: pk(a, b, c).sort(), term: 1, leader: a.publicKey, membersAt: 0, termAt: 1 })
  })

  it("may leave a chain of `chains` without an owner (nobody observes it, the leader neither)", () => {
    const log = ledBy(a)
    assign(log, a, { chains: ["eth", "op"], live: pk(a, b), owners: [owner("op", b)] })
    const s = fold(log.records)
    expect(s.chains).toEqual(["eth", "op"])
    expect(s.owners).toEqual([owner("op", b)])
    expect([a, b, c, admin, alice].map((k) => heedsChain(s, "eth", k.publicKey))).toEqual([false, false, false, false, false])
    expect([a, b, c, admin, alice].map((k) => heedsChain(s, "op", k.publicKey))).toEqual([false, true, false, false, false])
  })

  it("is ignored from a member that does not lead, a non-member, the admin, or anyone before the first claim", () => {
    const early = clusterLog()
    early.set(trio)
    const before = fold(early.records)
    const n = early.records.length
    const beforeAnyLeader = assign(early, a, hrwAssignment(["eth"], trio))
    expect(foldOn(before, early.records, n)).toBe(before)
    expect(refusalOf(before, beforeAnyLeader)).toBe("only the current term's leader may assign chains")

    const log = ledBy(a)
    const led = fold(log.records)
    const m = log.records.length
    const refused = [assign(log, b, hrwAssignment(["eth"], trio)), assign(log, alice, hrwAssignment(["eth"], trio)), assign(log, admin, hrwAssignment(["eth"], trio))]
    expect(foldOn(led, log.records, m)).toBe(led)
    for (const r of refused) expect(refusalOf(led, r)).toBe("only the current term's leader may assign chains")
  })

  it("is ignored from a deposed leader (after the next term's claim) and while a set has left no leader", () => {
    const log = ledBy(a)
    log.claim(b, 2)
    const deposed = fold(log.records)
    const n = log.records.length
    const late = assign(log, a, hrwAssignment(["eth"], trio))
    expect(foldOn(deposed, log.records, n)).toBe(deposed)
    expect(refusalOf(deposed, late)).toBe("only the current term's leader may assign chains")

    log.set([a, c]) // drops the leader b
    const leaderless = fold(log.records)
    expect(leaderless.leader).toBeNull()
    const m = log.records.length
    for (const k of [a, b, c]) assign(log, k, hrwAssignment(["eth"], [a, c]))
    expect(foldOn(leaderless, log.records, m)).toBe(leaderless)
  })

  it("is ignored whole when an owner is not a member, even if the other owners are", () => {
    const log = ledBy(a)
    log.set([a, b]) // keeps the leader, drops c
    const s = fold(log.records)
    const n = log.records.length
    const r = assign(log, a, { chains: ["eth", "op"], live: pk(a, b, c), owners: [owner("eth", a), owner("op", c)] })
    const byUser = assign(log, a, { chains: ["eth"], live: pk(a), owners: [owner("eth", alice)] })
    const byAdmin = assign(log, a, { chains: ["eth"], live: pk(a), owners: [owner("eth", admin)] })
    expect(foldOn(s, log.records, n)).toBe(s)
    expect(refusalOf(s, r)).toBe("the owner of op is not a member")
    expect(refusalOf(s, byUser)).toBe("the owner of eth is not a member")
    expect(refusalOf(s, byAdmin)).toBe("the owner of eth is not a member")
  })

  it("is ignored whole when an owner's chain is not among its chains", () => {
    const log = ledBy(a)
    const s = fold(log.records)
    const n = log.records.length
    const r = assign(log, a, { chains: ["eth"], live: pk(a, b), owners: [owner("eth", a), owner("op", b)] })
    const none = assign(log, a, { chains: [], live: pk(a, b), owners: [owner("eth", a)] })
    expect(foldOn(s, log.records, n)).toBe(s)
    expect(refusalOf(s, r)).toBe("op is not among the assignment's chains")
    expect(refusalOf(s, none)).toBe("eth is not among the assignment's chains")
  })

  it("is ignored when its payload is not an assignment or its body is not an envelope's JSON", () => {
    const log = ledBy(a)
    const s = fold(log.records)
    const n = log.records.length
    const good = hrwAssignment(["eth"], trio)
    const tooMany = Array.from({ length: MAX_CHAINS + 1 }, (_, i) => `chain-${i}`)
    const bad = [
      assign(log, a, { chains: ["eth"], live: pk(a) }),
      assign(log, a, { live: pk(a), owners: [owner("eth", a)] }),
      assign(log, a, { ...good, owners: [{ chain: "eth", owner: "not a key" }] }),
      assign(log, a, { ...good, owners: [{ chain: "eth", owner: a.publicKey.toUpperCase() }] }),
      assign(log, a, { ...good, owners: [{ chain: "eth" }] }),
      assign(log, a, { ...good, chains: ["e th"], owners: [owner("e th", a)] }),
      assign(log, a, { ...good, chains: [""], owners: [owner("", a)] }),
      assign(log, a, { ...good, live: ["not a key"] }),
      assign(log, a, { chains: tooMany, live: pk(a), owners: [] }),
      assign(log, a, [good]),
      log.raw(a, "ChainOwnersAssigned", "{not json"),
      log.raw(a, "ChainOwnersAssigned", JSON.stringify(good)),
      log.raw(a, "ChainOwnersAssigned", "null")
    ]
    expect(foldOn(s, log.records, n)).toBe(s)
    for (const r of bad) expect(refusalOf(s, r)).toBe("the payload is not a chain assignment")
  })

  it("may name as many as MAX_CHAINS chains", () => {
    const log = ledBy(a)
    const chains = Array.from({ length: MAX_CHAINS }, (_, i) => `chain-${String(i).padStart(2, "0")}`)
    assign(log, a, hrwAssignment(chains, trio))
    const s = fold(log.records)
    expect(s.chains).toEqual(chains)
    expect(s.owners).toEqual(assignChains(chains, pk(...trio)))
  })

  it("is replaced by a later one: chains and owners both, a chain it no longer names observed by nobody (its old owner and the leader neither)", () => {
    const log = ledBy(a)
    assign(log, a, { chains: ["eth", "op"], live: pk(a, b, c), owners: [owner("eth", b), owner("op", c)] })
    const first = fold(log.records)
    expect([a, b, c].map((k) => heedsChain(first, "op", k.publicKey))).toEqual([false, false, true])
    const second = assign(log, a, { chains: ["base", "eth"], live: pk(a, b, c), owners: [owner("base", c), owner("eth", c)] })
    const s = fold(log.records)
    expect(s.chains).toEqual(["base", "eth"])
    expect(s.owners).toEqual([owner("base", c), owner("eth", c)])
    expect(s.ownersAt).toBe(second.offset)
    expect([a, b, c].map((k) => heedsChain(s, "eth", k.publicKey))).toEqual([false, false, true])
    expect([a, b, c].map((k) => heedsChain(s, "op", k.publicKey))).toEqual([false, false, false])

    // An empty assignment leaves every chain unobserved, by its old owner and the leader alike.
    assign(log, a, { chains: [], live: pk(a), owners: [] })
    const empty = fold(log.records)
    expect(empty).toMatchObject({ chains: [], owners: [], ownersAt: log.records.length - 1 })
    for (const chain of ["base", "eth", "op"]) expect([a, b, c].map((k) => heedsChain(empty, chain, k.publicKey))).toEqual([false, false, false])
  })

  it("outlives a term change: the new leader's term keeps the owners until it assigns anew", () => {
    const log = ledBy(a)
    assign(log, a, { chains: ["eth"], live: pk(a, b, c), owners: [owner("eth", c)] })
    log.claim(b, 2)
    const s = fold(log.records)
    expect(s.owners).toEqual([owner("eth", c)])
    expect([heedsChain(s, "eth", a.publicKey), heedsChain(s, "eth", b.publicKey), heedsChain(s, "eth", c.publicKey)]).toEqual([false, false, true])
    assign(log, b, { chains: ["eth"], live: pk(a, b), owners: [owner("eth", a)] })
    expect(heedsChain(fold(log.records), "eth", a.publicKey)).toBe(true)
  })

  it("is ignored whole when it names two owners of one chain, alike on every instance (the assignment in force stays)", () => {
    const log = ledBy(a)
    const inForce = assign(log, a, { chains: ["eth", "op"], live: pk(a, b, c), owners: [owner("eth", a), owner("op", b)] })
    const before = trio.map((k) => fold(log.records, clusterConfig(k)))
    const n = log.records.length
    const refused = [
      // Two owners of eth, between them an identical entry for op.
      [assign(log, a, { chains: ["eth", "op"], live: pk(a, b, c), owners: [owner("eth", b), owner("op", a), owner("eth", c), owner("op", a)] }), "eth"],
      // An identical pair for eth first, then a third entry naming another owner.
      [assign(log, a, { chains: ["eth"], live: pk(a, b, c), owners: [owner("eth", c), owner("eth", c), owner("eth", b)] }), "eth"],
      // The second chain's entries disagree (the first chain's are fine).
      [assign(log, a, { chains: ["eth", "op"], live: pk(a, b, c), owners: [owner("eth", c), owner("op", a), owner("op", c)] }), "op"],
      // The leader among the two owners.
      [assign(log, a, { chains: ["eth"], live: pk(a, b, c), owners: [owner("eth", a), owner("eth", b)] }), "eth"]
    ] as const
    for (const [i, k] of trio.entries()) {
      const s = before[i] as AuthorityState
      expect(s.ownersAt).toBe(inForce.offset)
      expect(foldOn(s, log.records, n)).toBe(s)
      for (const [r, chain] of refused) expect(refusalOf(s, r)).toBe(`the payload names two owners of ${chain}`)
      expect(fold(log.records, clusterConfig(k)).owners).toEqual([owner("eth", a), owner("op", b)])
      expect(trio.filter((m) => heedsChain(s, "eth", m.publicKey))).toEqual([a])
      expect(trio.filter((m) => heedsChain(s, "op", m.publicKey))).toEqual([b])
    }
  })

  it("with identical entries for one chain collapses them into one owner, alike on every instance", () => {
    const log = ledBy(a)
    const r = assign(log, a, { chains: ["eth", "op"], live: pk(a, b, c), owners: [owner("eth", c), owner("op", a), owner("eth", c), owner("op", a), owner("eth", c)] })
    expect(refusalOf(fold(log.records.slice(0, r.offset)), r)).toBeNull()
    const states = trio.map((k) => fold(log.records, clusterConfig(k)))
    for (const s of states) {
      expect(s.owners).toEqual([owner("eth", c), owner("op", a)])
      expect(s.ownersAt).toBe(r.offset)
      expect(trio.filter((k) => heedsChain(s, "eth", k.publicKey))).toEqual([c])
      expect(trio.filter((k) => heedsChain(s, "op", k.publicKey))).toEqual([a])
    }
  })
})

describe("a member set that drops an owner", () => {
  it("removes that owner's chains (nobody observes them, the leader neither, until it reassigns them), keeps the others' and the assigned chains", () => {
    const log = ledBy(a)
    assign(log, a, { chains: ["base", "eth", "op"], live: pk(a, b, c), owners: [owner("base", b), owner("eth", c), owner("op", c)] })
    const assigned = fold(log.records)
    for (const chain of ["eth", "op"]) expect(pk(a, b, c).filter((k) => heedsChain(assigned, chain, k))).toEqual(pk(c))
    log.set([a, b])
    const s = fold(log.records)
    expect(s.leader).toBe(a.publicKey)
    expect(s.owners).toEqual([owner("base", b)])
    expect(s.chains).toEqual(["base", "eth", "op"])
    expect(s.ownersAt).toBe(assigned.ownersAt)
    for (const chain of ["eth", "op"]) expect(pk(a, b, c).filter((k) => heedsChain(s, chain, k))).toEqual([])
    expect(pk(a, b, c).filter((k) => heedsChain(s, "base", k))).toEqual(pk(b))

    // Named again, the member does not get its chains back until the leader reassigns them.
    log.set([a, b, c])
    const readded = fold(log.records)
    expect(readded.owners).toEqual([owner("base", b)])
    for (const chain of ["eth", "op"]) expect(pk(a, b, c).filter((k) => heedsChain(readded, chain, k))).toEqual([])
    assign(log, a, hrwAssignment(["base", "eth", "op"], trio))
    const reassigned = fold(log.records)
    expect(reassigned.owners).toEqual(assignChains(["base", "eth", "op"], pk(...trio)))
    for (const chain of ["base", "eth", "op"]) expect(pk(a, b, c).filter((k) => heedsChain(reassigned, chain, k))).toEqual([hrwOwner(chain, pk(...trio))])
  })

  it("that also drops the leader leaves the remaining owners their chains and the others nobody's", () => {
    const log = ledBy(a)
    assign(log, a, { chains: ["eth", "op"], live: pk(a, b, c), owners: [owner("eth", a), owner("op", b)] })
    log.set([b, c])
    const s = fold(log.records)
    expect(s.leader).toBeNull()
    expect(s.owners).toEqual([owner("op", b)])
    expect(pk(a, b, c).filter((k) => heedsChain(s, "eth", k))).toEqual([])
    expect(pk(a, b, c).filter((k) => heedsChain(s, "op", k))).toEqual(pk(b))
  })

  it("that keeps every owner leaves the assignment as it was", () => {
    const log = ledBy(a)
    assign(log, a, { chains: ["eth"], live: pk(a, b, c), owners: [owner("eth", b)] })
    log.set([a, b, c, alice])
    expect(fold(log.records).owners).toEqual([owner("eth", b)])
  })
})

describe("heedsChain", () => {
  it("in a cluster: an assigned chain only from its owner (the leader only if it owns it); an unassigned chain from nobody, before any leader, before the first assignment and after it", () => {
    const everyone = [a, b, c, admin, alice]
    const log = clusterLog()
    log.set(trio)
    const noLeader = fold(log.records)
    for (const k of everyone) expect(heedsChain(noLeader, "eth", k.publicKey)).toBe(false)
    log.claim(a, 1)
    const led = fold(log.records)
    expect(led.leader).toBe(a.publicKey)
    for (const chain of ["eth", "op"]) expect(everyone.map((k) => heedsChain(led, chain, k.publicKey))).toEqual([false, false, false, false, false])
    assign(log, a, { chains: ["base", "eth", "op"], live: pk(a, b, c), owners: [owner("eth", b), owner("base", a)] })
    const s = fold(log.records)
    expect(everyone.map((k) => heedsChain(s, "eth", k.publicKey))).toEqual([false, true, false, false, false])
    expect(everyone.map((k) => heedsChain(s, "base", k.publicKey))).toEqual([true, false, false, false, false])
    expect(everyone.map((k) => heedsChain(s, "op", k.publicKey))).toEqual([false, false, false, false, false])
    expect(everyone.map((k) => heedsChain(s, "never-assigned", k.publicKey))).toEqual([false, false, false, false, false])
    expect(ownsChain).toBe(heedsChain)
  })

  it("in a deployment of one: assignments are ignored and every chain is the instance's only", () => {
    const log = clusterLog()
    const byInstance = assign(log, a, { chains: ["eth"], live: pk(b), owners: [owner("eth", b)] })
    log.set(trio)
    log.claim(b, 1)
    assign(log, b, { chains: ["eth"], live: pk(c), owners: [owner("eth", c)] })
    const config = soloConfig(a)
    const s = fold(log.records, config)
    expect(s).toEqual(initialAuthority(config))
    expect(refusalOf(initialAuthority(config), byInstance)).toBe("this deployment has no cluster admin")
    for (const chain of ["eth", "op"]) {
      expect([a, b, c, admin].map((k) => heedsChain(s, chain, k.publicKey))).toEqual([true, false, false, false])
    }
    // Even a state that carries owners (a snapshot's, say) answers the instance only.
    const carrying: AuthorityState = { ...s, chains: ["eth"], owners: [owner("eth", b)], ownersAt: 3 }
    expect([a, b].map((k) => heedsChain(carrying, "eth", k.publicKey))).toEqual([true, false])
  })
})

describe("chainsMismatch", () => {
  it("says nothing before any assignment, whatever this member is configured with", () => {
    const s = fold(ledBy(a).records)
    expect(chainsMismatch(s, [])).toBeUndefined()
    expect(chainsMismatch(s, ["eth", "op"])).toBeUndefined()
    expect(chainsMismatch(initialAuthority(soloConfig()), ["eth"])).toBeUndefined()
  })

  it("says nothing when this member's chains are the log's (an assignment of no chains included)", () => {
    const log = ledBy(a)
    assign(log, a, hrwAssignment(["op", "eth"], trio))
    expect(chainsMismatch(fold(log.records), ["eth", "op"])).toBeUndefined()
    assign(log, a, { chains: [], live: pk(a), owners: [] })
    expect(chainsMismatch(fold(log.records), [])).toBeUndefined()
  })

  it("names both lists and the assignment's offset when they differ", () => {
    const log = ledBy(a)
    const r = assign(log, a, hrwAssignment(["eth", "op"], trio))
    const s = fold(log.records)
    for (const configured of [["eth"], ["eth", "op", "zksync"], ["base", "op"], []]) {
      const reason = chainsMismatch(s, configured)
      expect(reason).toBe(
        `this member observes chains [${configured.join(", ")}] but the cluster observes [eth, op] (assigned at offset ${r.offset}): every member must be configured with the same chains`
      )
    }
    // An empty assignment against configured chains.
    assign(log, a, { chains: [], live: pk(a), owners: [] })
    expect(chainsMismatch(fold(log.records), ["eth"])).toMatch(/observes chains \[eth\] but the cluster observes \[\]/)
  })
})

// ---------------------------------------------------------------------------------------
// The chain-state projection over real signed records
// ---------------------------------------------------------------------------------------

const hash = (label: string) => bytesToHex(sha256(new TextEncoder().encode(label)))
interface H { readonly height: number; readonly hash: string; readonly parentHash: string }
const header = (label: string, parent: H | undefined): H => {
  const height = parent === undefined ? 0 : parent.height + 1
  return { height, hash: hash(`${label}:${height}`), parentHash: parent?.hash ?? "00".repeat(32) }
}
const headPayload = (h: H, chain = "eth") => ({ chain, kind: "evm", height: h.height, hash: h.hash, parentHash: h.parentHash, stateRoot: hash(`root:${h.hash}`), time: h.height * 12_000 })
const proofPayload = (h: H, key: string, value: string, chain = "eth") => ({ chain, height: h.height, headerHash: h.hash, kind: "eip1186", key, value, proof: "00" })

const instances = trio.map((k) => makeChainState(clusterConfig(k)))
const projection = instances[0] as (typeof instances)[number]
type S = typeof projection.initialState
const foldState = (records: ReadonlyArray<LogRecord>, p: Projection<S> = projection): S => records.reduce((s, r) => p.evolve(s, r), p.initialState)
const eth = (s: ChainState) => chainOf(s, "eth")
const heights = (s: ChainState) => {
  const e = eth(s)
  return e === undefined ? [] : headersOf(e).map((h) => [h.height, h.hash])
}

describe("the chain-state projection", () => {
  /**
   * The admin names {a, b, c}; `leader` (a member HRW does not give "eth") claims term 1, its
   * feed publishes a genesis before any assignment (ignored: the chain is nobody's yet); then it
   * assigns the chains by HRW, so "eth" goes to `owner`, which publishes genesis.
   */
  const assigned = () => {
    const { owner: o, first: leader, second: bystander } = roles("eth")
    const log = ledBy(leader)
    log.append(leader, "ChainHeadVerified", headPayload(header("raced", undefined)))
    assign(log, leader, hrwAssignment(["eth", "op"], trio))
    const g = header("main", undefined)
    log.append(o, "ChainHeadVerified", headPayload(g))
    return { log, owner: o, leader, bystander, g }
  }

  it("before an assignment counts no heads, the leader's nor HRW's owner-to-be's; once assigned, the owner's from genesis", () => {
    const { owner: o, first: leader, second: bystander } = roles("eth")
    const log = ledBy(leader)
    log.append(o, "ChainHeadVerified", headPayload(header("owner", undefined)))
    log.append(leader, "ChainHeadVerified", headPayload(header("leader", undefined)))
    log.append(bystander, "ChainHeadVerified", headPayload(header("bystander", undefined)))
    const unassigned = foldState(log.records)
    expect(heights(unassigned)).toEqual([])
    expect(eth(unassigned)?.ignored ?? 0).toBe(0)
    assign(log, leader, hrwAssignment(["eth", "op"], trio))
    const g = header("main", undefined)
    log.append(leader, "ChainHeadVerified", headPayload(header("leader again", undefined)))
    log.append(o, "ChainHeadVerified", headPayload(g))
    const states = instances.map((p) => foldState(log.records, p))
    expect(heights(states[0]!)).toEqual([[0, g.hash]])
    for (const s of states) expect(digestOf(projection, s)).toBe(digestOf(projection, states[0]!))
  })

  it("once assigned counts heads of the chain from its owner only: not from the leader, another member nor a user", () => {
    const { log, owner: o, leader, bystander, g } = assigned()
    expect(fold(log.records).owners).toContainEqual(owner("eth", o))
    const h1 = header("main", g)
    const h2 = header("main", h1)
    log.append(o, "ChainHeadVerified", headPayload(h1))
    // Each of these links to the head, so only the right to decide keeps them out.
    for (const k of [leader, bystander, alice, admin]) log.append(k, "ChainHeadVerified", headPayload(header(`by ${k.publicKey}`, h1)))
    log.append(o, "ChainHeadVerified", headPayload(h2))
    for (const k of [leader, bystander, alice]) log.append(k, "ChainHeadVerified", headPayload(header(`by ${k.publicKey}`, h2)))
    const states = instances.map((p) => foldState(log.records, p))
    expect(heights(states[0]!)).toEqual([[0, g.hash], [1, h1.hash], [2, h2.hash]])
    expect(eth(states[0]!)?.head).toEqual({ height: 2, hash: h2.hash })
    // Unheeded heads are not even counted as ignored: they never reach the chain's fold.
    expect(eth(states[0]!)?.ignored).toBe(0)
    for (const s of states) expect(digestOf(projection, s)).toBe(digestOf(projection, states[0]!))
  })

  it("counts a LightClientProof from any member for a header the owner published, from a non-member not", () => {
    const { log, owner: o, leader, bystander, g } = assigned()
    const h1 = header("main", g)
    log.append(o, "ChainHeadVerified", headPayload(h1))
    log.append(bystander, "LightClientProof", proofPayload(h1, "aa", "01"))
    log.append(leader, "LightClientProof", proofPayload(g, "bb", "02"))
    log.append(o, "LightClientProof", proofPayload(h1, "cc", "03"))
    log.append(alice, "LightClientProof", proofPayload(h1, "dd", "04"))
    log.append(admin, "LightClientProof", proofPayload(h1, "ee", "05"))
    // A member's proof against a header nobody published (the leader's unheeded head) is not held.
    const stray = header(`by ${leader.publicKey}`, h1)
    log.append(leader, "ChainHeadVerified", headPayload(stray))
    log.append(bystander, "LightClientProof", proofPayload(stray, "ff", "06"))
    const s = foldState(log.records)
    expect(latestProofs(eth(s)!).map((p) => [p.key, p.value, p.height])).toEqual([["aa", "01", 1], ["bb", "02", 0], ["cc", "03", 1]])
    expect(eth(s)?.ignored).toBe(1)
  })

  it("counts no heads once a member set drops the owner (the leader's neither) until the leader reassigns the chain, then the new owner's", () => {
    const { log, owner: o, leader, bystander, g } = assigned()
    const h1 = header("main", g)
    log.append(o, "ChainHeadVerified", headPayload(h1))
    log.set([leader, bystander]) // drops the owner
    const dropped = fold(log.records)
    expect(dropped.leader).toBe(leader.publicKey)
    expect(dropped.owners.some((x) => x.chain === "eth")).toBe(false)
    expect([leader, bystander, o].map((k) => heedsChain(dropped, "eth", k.publicKey))).toEqual([false, false, false])
    // Each of these links to the head, so only the right to decide keeps them out.
    log.append(o, "ChainHeadVerified", headPayload(header("owner", h1))) // no longer a member
    log.append(bystander, "ChainHeadVerified", headPayload(header("bystander", h1)))
    log.append(leader, "ChainHeadVerified", headPayload(header("leader", h1)))
    const unowned = foldState(log.records)
    expect(heights(unowned)).toEqual([[0, g.hash], [1, h1.hash]])
    expect(eth(unowned)?.ignored).toBe(0)

    // The leader reassigns over the two left: HRW gives "eth" to whichever of them weighs more.
    assign(log, leader, hrwAssignment(["eth", "op"], [leader, bystander]))
    const next = byKey(hrwOwner("eth", pk(leader, bystander)) ?? "")
    const other = next === leader ? bystander : leader
    const h2 = header("main", h1)
    log.append(other, "ChainHeadVerified", headPayload(header("other", h1)))
    log.append(next, "ChainHeadVerified", headPayload(h2))
    const s = foldState(log.records)
    expect(heights(s)).toEqual([[0, g.hash], [1, h1.hash], [2, h2.hash]])

    // A snapshot carries the owners: resumed on another member, it goes on alike.
    const text = serialize(projection, foldState(log.records.slice(0, -2)))
    const resumed = log.records.slice(-2).reduce((st, r) => instances[1]!.evolve(st, r), instances[1]!.decode(JSON.parse(text)))
    expect(digestOf(projection, resumed)).toBe(digestOf(projection, s))
  })
})
