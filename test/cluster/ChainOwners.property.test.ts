/**
 * Properties of chain ownership (ADR 0002).
 *
 * Rendezvous hashing (`hrwOwner`, `assignChains`), against the weight it is documented to use
 * (SHA-256(chain ‖ 0x00 ‖ member key), highest wins): deterministic and blind to member order;
 * the owner is a member; removing a member moves only its chains, each to the member of next
 * highest weight; adding one takes chains only to itself; a fixed 300 chains over 3 members
 * split roughly evenly.
 *
 * The chain-state projection over any log of heads, proofs, assignments, member sets and
 * claims (real signed records): it holds exactly the heads whose author owned "eth" at their
 * place (while nobody owns it, none: not the leader's either), and the proofs from members, as
 * a model of the rules written out here says (an assignment naming two owners of the chain
 * changes nothing); alike on every member, and from a snapshot taken at any cut.
 */
import { describe, expect, it } from "@effect/vitest"
import { sha256 } from "@noble/hashes/sha2.js"
import { bytesToHex } from "@noble/hashes/utils.js"
import fc from "fast-check"
import { assignChains, hrwOwner } from "../../src/domain/cluster/Authority.ts"
import type { Json } from "../../src/domain/CanonicalJson.ts"
import type { LogRecord } from "../../src/ports/CausalLog.ts"
import { chainOf, headersOf, latestProofs, makeChainState } from "../../src/projections/ChainState/ChainState.ts"
import { type Projection, digestOf, serialize } from "../../src/projections/Projection.ts"
import { clusterConfig, clusterLog, keys } from "./support.ts"

// ---------------------------------------------------------------------------------------
// Rendezvous hashing
// ---------------------------------------------------------------------------------------

const encoder = new TextEncoder()
/** The documented weight of `member` for `chain` (hex of equal length: compares as the number). */
const weight = (chain: string, member: string) => bytesToHex(sha256(encoder.encode(`${chain}\u0000${member}`)))
/** Members by descending weight for `chain`. */
const ranked = (chain: string, members: ReadonlyArray<string>) => [...members].sort((x, y) => (weight(chain, y) < weight(chain, x) ? -1 : 1))

const memberKey = fc.uint8Array({ minLength: 32, maxLength: 32 }).map(bytesToHex)
const members = fc.uniqueArray(memberKey, { minLength: 1, maxLength: 8 })
const chain = fc.stringMatching(/^[\x21-\x7e]{1,24}$/)
const chains = fc.uniqueArray(chain, { minLength: 1, maxLength: 24 })
/** Members, one of them picked by index, and the chains. */
const withPick = fc.tuple(members, fc.nat(), chains).map(([ms, i, cs]) => ({ ms, picked: ms[i % ms.length] as string, cs }))

const params = { numRuns: 200 }

describe("rendezvous hashing", () => {
  it("gives the member of highest weight, whatever the members' order or repeats", () => {
    fc.assert(
      fc.property(
        members.chain((ms) => fc.tuple(fc.constant(ms), fc.shuffledSubarray(ms, { minLength: ms.length, maxLength: ms.length }), fc.subarray(ms))),
        chains,
        ([ms, shuffled, repeats], cs) => {
          for (const ch of cs) {
            const owner = hrwOwner(ch, ms)
            expect(owner).toBe(ranked(ch, ms)[0])
            expect(ms).toContain(owner)
            expect(hrwOwner(ch, shuffled)).toBe(owner)
            expect(hrwOwner(ch, [...repeats, ...shuffled, ...repeats])).toBe(owner)
          }
          const owners = assignChains(cs, ms)
          expect(assignChains([...cs].reverse(), shuffled)).toEqual(owners)
          expect(assignChains([...cs, ...cs], [...shuffled, ...repeats])).toEqual(owners)
        }
      ),
      params
    )
  })

  it("assigns every chain once, sorted by chain, to its HRW owner; nobody without members", () => {
    fc.assert(
      fc.property(members, fc.array(chain, { maxLength: 24 }), (ms, cs) => {
        const owners = assignChains(cs, ms)
        expect(owners.map((o) => o.chain)).toEqual([...new Set(cs)].sort())
        for (const o of owners) expect(o.owner).toBe(hrwOwner(o.chain, ms))
        expect(assignChains(cs, [])).toEqual([])
        for (const ch of cs) expect(hrwOwner(ch, [])).toBeUndefined()
      }),
      params
    )
  })

  it("removing a member moves only its chains, each to the member of next highest weight", () => {
    fc.assert(
      fc.property(withPick, ({ ms, picked, cs }) => {
        const rest = ms.filter((m) => m !== picked)
        for (const ch of cs) {
          const before = hrwOwner(ch, ms)
          const after = hrwOwner(ch, rest)
          if (before !== picked) expect(after).toBe(before)
          else expect(after).toBe(ranked(ch, ms)[1])
        }
        // A member that owns nothing: removing it changes no owner at all.
        const owners = assignChains(cs, ms)
        if (!owners.some((o) => o.owner === picked) && rest.length > 0) expect(assignChains(cs, rest)).toEqual(owners)
      }),
      params
    )
  })

  it("adding a member takes chains only to itself, exactly those it outweighs the old owner on", () => {
    fc.assert(
      fc.property(members, memberKey, chains, (ms, added, cs) => {
        fc.pre(!ms.includes(added))
        for (const ch of cs) {
          const before = hrwOwner(ch, ms) as string
          const after = hrwOwner(ch, [...ms, added])
          expect(after).toBe(weight(ch, added) > weight(ch, before) ? added : before)
        }
      }),
      params
    )
  })

  it("splits a fixed 300 chains over 3 members roughly evenly (each owns at least 20%)", () => {
    const trio = [keys.a, keys.b, keys.c].map((k) => k.publicKey)
    const cs = Array.from({ length: 300 }, (_, i) => `chain-${i}`)
    const owners = assignChains(cs, trio)
    expect(owners.length).toBe(300)
    const counts = trio.map((m) => owners.filter((o) => o.owner === m).length)
    for (const n of counts) expect(n).toBeGreaterThanOrEqual(60)
    // The well-known chain names too are spread over more than one of them.
    expect(new Set(assignChains(["eth", "op", "base", "arb", "cosmoshub", "osmosis", "polygon", "zksync"], trio).map((o) => o.owner)).size).toBeGreaterThan(1)
  })
})

// ---------------------------------------------------------------------------------------
// The chain-state projection over random logs
// ---------------------------------------------------------------------------------------

const { a, b, c, alice } = keys
const who = { a, b, c, alice } as const
type Who = keyof typeof who
type Member = "a" | "b" | "c"

type Event =
  | { readonly kind: "head"; readonly by: Who | "rightful" | "leader" }
  | { readonly kind: "proof"; readonly by: Who }
  /** Names `to` (null: nobody) as the owner of "eth", and `also` too when it is not null (the same or a second owner). */
  | { readonly kind: "assign"; readonly by: Member | "leader"; readonly to: Member | null; readonly also: Member | null }
  | { readonly kind: "set"; readonly members: ReadonlyArray<Member> }
  | { readonly kind: "claim"; readonly by: Member }

const anyone = fc.constantFrom<Who>("a", "b", "c", "alice")
const member = fc.constantFrom<Member>("a", "b", "c")
const event: fc.Arbitrary<Event> = fc.oneof(
  {
    weight: 8,
    arbitrary: fc.record({
      kind: fc.constant("head" as const),
      // While the chain is nobody's (from the start until the leader's first assignment) every
      // head is refused: "rightful" and "leader" weigh more so that heads still count from
      // owners and are refused from a leader that does not own the chain.
      by: fc.oneof({ weight: 2, arbitrary: anyone }, { weight: 3, arbitrary: fc.constant("rightful" as const) }, { weight: 2, arbitrary: fc.constant("leader" as const) })
    })
  },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant("proof" as const), by: anyone }) },
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant("assign" as const),
      by: fc.oneof({ weight: 1, arbitrary: member }, { weight: 2, arbitrary: fc.constant("leader" as const) }),
      to: fc.option(member, { freq: 8 }),
      also: fc.oneof({ weight: 2, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: member })
    })
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("set" as const), members: fc.subarray<Member>(["a", "b", "c"], { minLength: 1 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("claim" as const), by: member }) }
)

const hash = (label: string) => bytesToHex(sha256(encoder.encode(label)))
interface Tip { readonly height: number; readonly hash: string }

interface Built {
  readonly records: ReadonlyArray<LogRecord>
  /** The heads that count, in order. */
  readonly heads: ReadonlyArray<Tip>
  /** Each proof key's latest counted value and height. */
  readonly proofs: ReadonlyMap<string, readonly [string, number]>
  /** Heads that count from an owner that does not lead, and from one that leads. */
  readonly fromOwner: number
  readonly fromLeadingOwner: number
  /** Heads refused from the leader while another member owns the chain, and while nobody does. */
  readonly refusedFromLeader: number
  readonly refusedUnowned: number
  /** The current leader's assignments of members refused for naming two owners; accepted with an identical entry twice. */
  readonly twoOwners: number
  readonly collapsed: number
}

/**
 * The log, and what the rules say counts, written out for this scenario: the admin names
 * {a, b, c}, `a` claims term 1, then the events. A head counts when its author is a member and
 * owns "eth" (no owner: nobody's head counts, the leader's neither); an assignment when its
 * author leads and names only members and at most one owner of "eth" (identical entries are
 * one); a set drops the leader and the owner it does not name (the chain is then nobody's
 * until the next assignment); a claim (of the next term) by a member wins. Every head builds on
 * the last counted one, so a head wrongly heeded or refused shows.
 */
const build = (events: ReadonlyArray<Event>): Built => {
  const log = clusterLog()
  log.set([a, b, c])
  log.claim(a, 1)
  let members = new Set<Member>(["a", "b", "c"])
  let leader: Member | null = "a"
  let term = 1
  let owner: Member | null = null
  let tip: Tip | undefined
  const heads: Array<Tip> = []
  const proofs = new Map<string, readonly [string, number]>()
  let fromOwner = 0
  let fromLeadingOwner = 0
  let refusedFromLeader = 0
  let refusedUnowned = 0
  let twoOwners = 0
  let collapsed = 0
  const isMember = (x: Who): x is Member => x !== "alice" && members.has(x)
  events.forEach((e, i) => {
    switch (e.kind) {
      case "head": {
        // "rightful": whoever the model says may author it now, the owner (when nobody owns the
        // chain, nobody may: the leader, else `a`, whose head must be refused); "leader": whoever
        // leads (else `a`).
        const by: Who = e.by === "rightful" ? (owner ?? leader ?? "a") : e.by === "leader" ? (leader ?? "a") : e.by
        const h = { height: tip === undefined ? 0 : tip.height + 1, hash: hash(`${i}:${by}`) }
        log.append(who[by], "ChainHeadVerified", {
          chain: "eth",
          kind: "evm",
          height: h.height,
          hash: h.hash,
          parentHash: tip?.hash ?? "00".repeat(32),
          stateRoot: hash(`root:${h.hash}`),
          time: h.height * 12_000
        })
        if (isMember(by) && owner === by) {
          tip = h
          heads.push(h)
          if (by === leader) fromLeadingOwner += 1
          else fromOwner += 1
        } else if (by === leader) {
          if (owner === null) refusedUnowned += 1
          else refusedFromLeader += 1
        }
        break
      }
      case "proof": {
        if (tip === undefined) break
        const key = `0${i % 3}`
        const value = (i % 256).toString(16).padStart(2, "0")
        log.append(who[e.by], "LightClientProof", { chain: "eth", height: tip.height, headerHash: tip.hash, kind: "eip1186", key, value, proof: "00" })
        if (isMember(e.by)) proofs.set(key, [value, tip.height])
        break
      }
      case "assign": {
        // "leader": whoever leads now (when nobody does, `a`).
        const by: Member = e.by === "leader" ? (leader ?? "a") : e.by
        const named = [e.to, e.also].filter((m): m is Member => m !== null)
        const owners = named.map((m) => ({ chain: "eth", owner: who[m].publicKey }))
        log.append(who[by], "ChainOwnersAssigned", { chains: ["eth", "op"], live: [a, b, c].map((k) => k.publicKey).sort(), owners })
        const leads = leader === by
        const ofMembers = named.every((m) => members.has(m))
        const one = new Set(named).size <= 1
        if (leads && ofMembers && one) owner = named[0] ?? null
        if (leads && ofMembers && !one) twoOwners += 1
        if (leads && ofMembers && one && named.length === 2) collapsed += 1
        break
      }
      case "set":
        log.set(e.members.map((m) => who[m]))
        members = new Set(e.members)
        if (leader !== null && !members.has(leader)) leader = null
        if (owner !== null && !members.has(owner)) owner = null
        break
      case "claim":
        log.claim(who[e.by], term + 1)
        if (members.has(e.by)) {
          term += 1
          leader = e.by
        }
        break
    }
  })
  return { records: log.records, heads, proofs, fromOwner, fromLeadingOwner, refusedFromLeader, refusedUnowned, twoOwners, collapsed }
}

const instances = [a, b, c].map((k) => makeChainState(clusterConfig(k)))
type S = (typeof instances)[number]["initialState"]
const fold = (p: Projection<S>, records: ReadonlyArray<LogRecord>, from: S = p.initialState): S => records.reduce((s, r) => p.evolve(s, r), from)

describe("the chain-state projection with chains owned apart", () => {
  it("holds exactly the heads whose author owned the chain at their place (none while nobody owns it), and proofs from members, alike on every member", () => {
    let counted = 0
    let refused = 0
    let fromOwner = 0
    let fromLeadingOwner = 0
    let refusedFromLeader = 0
    let refusedUnowned = 0
    let twoOwners = 0
    let collapsed = 0
    fc.assert(
      fc.property(fc.array(event, { minLength: 4, maxLength: 40 }), (events) => {
        const built = build(events)
        const { records, heads, proofs } = built
        fromOwner += built.fromOwner
        fromLeadingOwner += built.fromLeadingOwner
        refusedFromLeader += built.refusedFromLeader
        refusedUnowned += built.refusedUnowned
        twoOwners += built.twoOwners
        collapsed += built.collapsed
        counted += heads.length
        refused += records.filter((r) => r.type === "ChainHeadVerified").length - heads.length
        const states = instances.map((p) => fold(p, records))
        const eth = chainOf(states[0] as S, "eth")
        expect(eth === undefined ? [] : headersOf(eth).map((h) => ({ height: h.height, hash: h.hash }))).toEqual(heads)
        expect(eth?.ignored ?? 0).toBe(0)
        expect(eth === undefined ? [] : latestProofs(eth).map((p) => [p.key, p.value, p.height])).toEqual(
          [...proofs].sort(([x], [y]) => (x < y ? -1 : 1)).map(([key, [value, height]]) => [key, value, height])
        )
        const digest = digestOf(instances[0] as Projection<S>, states[0] as S)
        for (const [i, p] of instances.entries()) expect(digestOf(p, states[i] as S)).toBe(digest)
      }),
      { numRuns: 150 }
    )
    // The scenarios exercise both sides of each rule: heads counted from an owner that does not
    // lead and from one that does; refused from the leader while another member owns the chain
    // and while nobody does; assignments naming two owners refused, identical entries collapsed.
    expect(counted).toBeGreaterThan(100)
    expect(refused).toBeGreaterThan(100)
    expect(fromOwner).toBeGreaterThan(20)
    expect(fromLeadingOwner).toBeGreaterThan(20)
    expect(refusedFromLeader).toBeGreaterThan(20)
    expect(refusedUnowned).toBeGreaterThan(50)
    expect(twoOwners).toBeGreaterThan(15)
    expect(collapsed).toBeGreaterThan(5)
  })

  it("resumes from a snapshot taken at any cut on one member to the same digest on another", () => {
    const [taker, resumer] = instances as [Projection<S>, Projection<S>]
    fc.assert(
      fc.property(fc.array(event, { minLength: 4, maxLength: 40 }), fc.nat(), (events, at) => {
        const { records } = build(events)
        const cut = at % (records.length + 1)
        const text = serialize(taker, fold(taker, records.slice(0, cut)))
        const resumed = resumer.decode(JSON.parse(text) as Json)
        expect(serialize(resumer, resumed)).toBe(text)
        expect(digestOf(resumer, fold(resumer, records.slice(cut), resumed))).toBe(digestOf(taker, fold(taker, records)))
      }),
      { numRuns: 100 }
    )
  })
})
