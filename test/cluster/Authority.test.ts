/**
 * The authority fold over real signed records: who names the members, who leads which term,
 * whose decisions count, and what a snapshot's authority must match.
 */
import { describe, expect, it } from "@effect/vitest"
import {
  type AuthorityConfig,
  type AuthorityState,
  MAX_HISTORY,
  MAX_MEMBERS,
  authoringRefusal,
  decisionRole,
  evolveAuthority,
  heeds,
  initialAuthority,
  isLeader,
  isMember,
  ledAt,
  matchesConfig,
  refusalOf
} from "../../src/domain/cluster/Authority.ts"
import type { KeyFile } from "../../src/domain/Keys.ts"
import type { LogRecord } from "../../src/ports/CausalLog.ts"
import { testKey } from "../support/fixtures.ts"
import { order } from "../mempool/support.ts"
import { clusterConfig, clusterLog, keys, sealPayload, soloConfig } from "./support.ts"

const { admin, a, b, c, alice } = keys
const fold = (records: ReadonlyArray<LogRecord>, config: AuthorityConfig = clusterConfig()): AuthorityState =>
  records.reduce(evolveAuthority, initialAuthority(config))
/** Fold the records appended after the first `from` onto `s` (identity when none changes it). */
const foldOn = (s: AuthorityState, records: ReadonlyArray<LogRecord>, from: number): AuthorityState => records.slice(from).reduce(evolveAuthority, s)
const sorted = (...ks: ReadonlyArray<KeyFile>) => ks.map((k) => k.publicKey).sort()

/** A cluster whose admin named {a, b, c} at offset 0 and where `a` claimed term 1 at offset 1. */
const ledByA = () => {
  const log = clusterLog()
  log.set([a, b, c])
  log.claim(a, 1)
  return log
}

const leaderTypes = [
  "BatchSealed",
  "CommitmentExpired",
  "OrderExpired",
  "BatchDecrypted",
  "RswModulusVerified",
  "OrdersMatched",
  "OrderFilled",
  "MatchRefused",
  "ChainHeadVerified",
  "ChainReorged",
  "ChainFinalized",
  "ChainSafe",
  "ChainMisbehaviourDetected",
  "AssetMappingRegistered"
] as const
const memberTypes = ["ChainWatchAdded", "ChainWatchRemoved"] as const
const openTypes = ["UserOrder", "OrderCommitment", "OrderReveal", "UserOrderCancellation", "NetworkHealth", "ComputationIntent", "LightClientProof", "TimelockedOrder"] as const

describe("the members", () => {
  it("are named by the admin's set, sorted and without repeats, and a later set replaces them", () => {
    const log = clusterLog()
    const first = log.set([c, a, c, b, a])
    const afterFirst = fold(log.records)
    expect(afterFirst.members).toEqual(sorted(a, b, c))
    expect(afterFirst.membersAt).toBe(first.offset)
    const second = log.set([b])
    const s = fold(log.records)
    expect(s.members).toEqual([b.publicKey])
    expect(s.membersAt).toBe(second.offset)
    expect([isMember(s, a.publicKey), isMember(s, b.publicKey), isMember(s, c.publicKey)]).toEqual([false, true, false])
  })

  it("ignore a set signed by anyone but the admin (a member, a user), leaving the state as it was", () => {
    const log = ledByA()
    const before = fold(log.records)
    const n = log.records.length
    const byMember = log.set([a], a)
    const byUser = log.set([alice], alice)
    expect(foldOn(before, log.records, n)).toBe(before)
    expect(refusalOf(before, byMember)).toBe("only the cluster admin may set the members")
    expect(refusalOf(before, byUser)).toBe("only the cluster admin may set the members")
    expect(isMember(before, alice.publicKey)).toBe(false)
  })

  it("ignore a set in a deployment of one, even one signed by the instance", () => {
    const log = clusterLog()
    const byInstance = log.set([a, b], a)
    log.set([b], admin)
    log.claim(a, 1)
    const config = soloConfig(a)
    const s = fold(log.records, config)
    expect(s).toEqual(initialAuthority(config))
    expect(refusalOf(initialAuthority(config), byInstance)).toBe("this deployment has no cluster admin")
    expect(isMember(s, b.publicKey)).toBe(false)
  })

  it("ignore a set whose payload is not a member set or whose body is not an envelope's JSON", () => {
    const log = ledByA()
    const before = fold(log.records)
    const n = log.records.length
    const bad = [
      log.append(admin, "ClusterMembersSet", { members: [] }),
      log.append(admin, "ClusterMembersSet", { members: ["not a key"] }),
      log.append(admin, "ClusterMembersSet", { members: [b.publicKey.toUpperCase()] }),
      log.append(admin, "ClusterMembersSet", { members: Array.from({ length: MAX_MEMBERS + 1 }, (_, i) => testKey(`m${i}`).publicKey) }),
      log.append(admin, "ClusterMembersSet", { term: 2 }),
      log.append(admin, "ClusterMembersSet", [b.publicKey]),
      log.raw(admin, "ClusterMembersSet", "{not json"),
      log.raw(admin, "ClusterMembersSet", JSON.stringify({ members: [b.publicKey] })),
      log.raw(admin, "ClusterMembersSet", "null")
    ]
    expect(foldOn(before, log.records, n)).toBe(before)
    for (const r of bad) expect(refusalOf(before, r)).toBe("the payload is not a member set")
  })

  it("may number as many as MAX_MEMBERS", () => {
    const log = clusterLog()
    const many = Array.from({ length: MAX_MEMBERS }, (_, i) => testKey(`m${i}`))
    log.set(many)
    expect(fold(log.records).members).toEqual(many.map((k) => k.publicKey).sort())
  })
})

describe("leader terms", () => {
  it("make the first member to claim term 1 the leader, with the claim's offset and a span in the history", () => {
    const log = clusterLog()
    log.set([a, b, c])
    const claim = log.claim(b, 1)
    const s = fold(log.records)
    expect(s).toMatchObject({ term: 1, leader: b.publicKey, termAt: claim.offset })
    expect(s.history).toEqual([{ term: 1, leader: b.publicKey, from: claim.offset }])
    expect([isLeader(s, a.publicKey), isLeader(s, b.publicKey)]).toEqual([false, true])
  })

  it("ignore a claim by a non-member: a user, the admin who did not name itself, anyone before the first set", () => {
    const early = clusterLog()
    early.claim(a, 1)
    expect(fold(early.records)).toEqual(initialAuthority(clusterConfig()))

    const log = clusterLog()
    log.set([a, b, c])
    const before = fold(log.records)
    const n = log.records.length
    const byUser = log.claim(alice, 1)
    const byAdmin = log.claim(admin, 1)
    expect(foldOn(before, log.records, n)).toBe(before)
    expect(refusalOf(before, byUser)).toBe("only a member may claim a term")
    expect(refusalOf(before, byAdmin)).toBe("only a member may claim a term")
  })

  it("let only the first claim of a term count: the same term again is ignored, whoever claims it", () => {
    const log = ledByA()
    const first = fold(log.records)
    const n = log.records.length
    const again = log.claim(b, 1)
    const repeat = log.claim(a, 1)
    const s = foldOn(first, log.records, n)
    expect(s).toBe(first)
    expect(s.leader).toBe(a.publicKey)
    expect(refusalOf(first, again)).toBe("term 1 is not the next term (2)")
    expect(refusalOf(first, repeat)).toBe("term 1 is not the next term (2)")
  })

  it("ignore a claim that skips ahead or goes back; the next term's claim then counts", () => {
    const log = ledByA()
    const before = fold(log.records)
    const n = log.records.length
    const skip = log.claim(b, 3)
    log.claim(b, 5)
    expect(foldOn(before, log.records, n)).toBe(before)
    expect(refusalOf(before, skip)).toBe("term 3 is not the next term (2)")
    const next = log.claim(c, 2)
    const s = fold(log.records)
    expect(s).toMatchObject({ term: 2, leader: c.publicKey, termAt: next.offset })
    const m = log.records.length
    const back = log.claim(b, 1)
    expect(foldOn(s, log.records, m)).toBe(s)
    expect(refusalOf(s, back)).toBe("term 1 is not the next term (3)")
  })

  it("let the leader claim the next term itself", () => {
    const log = ledByA()
    const again = log.claim(a, 2)
    const s = fold(log.records)
    expect(s).toMatchObject({ term: 2, leader: a.publicKey, termAt: again.offset })
    expect(s.history.map((h) => [h.term, h.leader])).toEqual([[1, a.publicKey], [2, a.publicKey]])
  })

  it("ignore a claim whose payload is not a claim or whose body is not an envelope's JSON", () => {
    const log = ledByA()
    const before = fold(log.records)
    const n = log.records.length
    const bad = [
      log.append(b, "LeaderTermClaimed", { term: 0 }),
      log.append(b, "LeaderTermClaimed", { term: "2" }),
      log.raw(b, "LeaderTermClaimed", JSON.stringify({ payload: { term: 2.5 } })),
      log.append(b, "LeaderTermClaimed", { term: -1 }),
      log.append(b, "LeaderTermClaimed", { members: [b.publicKey] }),
      log.append(b, "LeaderTermClaimed", 2),
      log.raw(b, "LeaderTermClaimed", "{\"payload\":"),
      log.raw(b, "LeaderTermClaimed", JSON.stringify({ term: 2 }))
    ]
    expect(foldOn(before, log.records, n)).toBe(before)
    for (const r of bad) expect(refusalOf(before, r)).toBe("the payload is not a claim")
  })

  it("leave the state alone for records of other types", () => {
    const log = ledByA()
    const before = fold(log.records)
    const n = log.records.length
    const others = [log.append(alice, "UserOrder", order(1)), log.append(b, "BatchSealed", sealPayload(0))]
    expect(foldOn(before, log.records, n)).toBe(before)
    for (const r of others) expect(refusalOf(before, r)).toBe("not a cluster message")
  })
})

describe("a set that drops the leader", () => {
  it("leaves no leader (the term stays) with a span of no leader in the history, until the next term's claim", () => {
    const log = ledByA()
    const claimA = log.records[1] as LogRecord
    const drop = log.set([b, c])
    const s = fold(log.records)
    expect(s).toMatchObject({ term: 1, leader: null, termAt: claimA.offset, members: sorted(b, c) })
    expect(s.history).toEqual([
      { term: 1, leader: a.publicKey, from: claimA.offset },
      { term: 1, leader: null, from: drop.offset }
    ])
    for (const k of [a, b, c]) expect(heeds(s, "BatchSealed", k.publicKey)).toBe(false)

    // Naming the deposed leader again does not make it the leader again.
    log.set([a, b, c])
    const readded = fold(log.records)
    expect(readded.leader).toBeNull()
    expect(readded.history).toEqual(s.history)
    expect(heeds(readded, "BatchSealed", a.publicKey)).toBe(false)

    const restore = log.claim(c, 2)
    const restored = fold(log.records)
    expect(restored).toMatchObject({ term: 2, leader: c.publicKey, termAt: restore.offset })
    expect(restored.history.at(-1)).toEqual({ term: 2, leader: c.publicKey, from: restore.offset })
    expect(heeds(restored, "BatchSealed", c.publicKey)).toBe(true)
  })

  it("is the only kind of set that touches the history: one that keeps the leader, or comes before any claim, leaves it", () => {
    const log = clusterLog()
    log.set([a, b])
    log.set([a, b, c])
    expect(fold(log.records).history).toEqual([])
    const claim = log.claim(a, 1)
    log.set([a, c])
    const s = fold(log.records)
    expect(s.leader).toBe(a.publicKey)
    expect(s.history).toEqual([{ term: 1, leader: a.publicKey, from: claim.offset }])
  })
})

describe("heeds", () => {
  it("knows every decision type's role", () => {
    for (const t of leaderTypes) expect([t, decisionRole(t)]).toEqual([t, t.startsWith("Chain") ? "chain" : "leader"])
    for (const t of memberTypes) expect(decisionRole(t)).toBe("member")
    for (const t of openTypes) expect(decisionRole(t)).toBeUndefined()
  })

  it("in a cluster: leader and chain types only from the current leader, member types from any member, the rest from anyone", () => {
    const log = ledByA()
    const s = fold(log.records)
    for (const t of leaderTypes) {
      expect([t, heeds(s, t, a.publicKey), heeds(s, t, b.publicKey), heeds(s, t, c.publicKey), heeds(s, t, admin.publicKey), heeds(s, t, alice.publicKey)])
        .toEqual([t, true, false, false, false, false])
    }
    for (const t of memberTypes) {
      expect([t, heeds(s, t, a.publicKey), heeds(s, t, b.publicKey), heeds(s, t, c.publicKey), heeds(s, t, admin.publicKey), heeds(s, t, alice.publicKey)])
        .toEqual([t, true, true, true, false, false])
    }
    for (const t of openTypes) for (const k of [a, b, admin, alice]) expect(heeds(s, t, k.publicKey)).toBe(true)
  })

  it("in a cluster: follows the term change from the deposed leader to the new one", () => {
    const log = ledByA()
    log.claim(b, 2)
    const s = fold(log.records)
    for (const t of leaderTypes) expect([t, heeds(s, t, a.publicKey), heeds(s, t, b.publicKey)]).toEqual([t, false, true])
    for (const t of memberTypes) expect([t, heeds(s, t, a.publicKey), heeds(s, t, b.publicKey)]).toEqual([t, true, true])
  })

  it("in a cluster before any set or claim: no decision is heeded", () => {
    const none = initialAuthority(clusterConfig())
    for (const t of [...leaderTypes, ...memberTypes]) for (const k of [a, b, admin]) expect(heeds(none, t, k.publicKey)).toBe(false)
    const log = clusterLog()
    log.set([a, b, c])
    const noLeader = fold(log.records)
    for (const t of leaderTypes) for (const k of [a, b, c]) expect(heeds(noLeader, t, k.publicKey)).toBe(false)
    for (const t of memberTypes) for (const k of [a, b, c]) expect(heeds(noLeader, t, k.publicKey)).toBe(true)
  })

  it("in a deployment of one: every decision only from the instance, the rest from anyone, whatever the log says", () => {
    const log = ledByA()
    log.claim(b, 2)
    const s = fold(log.records, soloConfig(c))
    for (const t of [...leaderTypes, ...memberTypes]) {
      expect([t, heeds(s, t, c.publicKey), heeds(s, t, a.publicKey), heeds(s, t, b.publicKey), heeds(s, t, admin.publicKey)]).toEqual([t, true, false, false, false])
    }
    for (const t of openTypes) for (const k of [a, c, alice]) expect(heeds(s, t, k.publicKey)).toBe(true)
    expect([isLeader(s, c.publicKey), isMember(s, c.publicKey), isLeader(s, b.publicKey), isMember(s, a.publicKey)]).toEqual([true, true, false, false])
  })
})

describe("ledAt", () => {
  it("answers who led at an offset across terms, a dropped leader and a restored one", () => {
    const log = clusterLog()
    log.set([a, b, c]) // 0
    log.append(alice, "UserOrder", order(1)) // 1
    log.claim(a, 1) // 2
    log.append(a, "BatchSealed", sealPayload(0)) // 3
    log.claim(b, 2) // 4
    log.append(alice, "UserOrder", order(2)) // 5
    log.set([a, c]) // 6: drops b
    log.append(alice, "UserOrder", order(3)) // 7
    log.claim(c, 3) // 8
    log.append(c, "BatchSealed", sealPayload(1)) // 9
    log.claim(a, 4) // 10
    const s = fold(log.records)
    const who = (offset: number) => [a, b, c, admin].filter((k) => ledAt(s, k.publicKey, offset)).map((k) => k.publicKey)
    expect(Array.from({ length: 12 }, (_, o) => who(o))).toEqual([
      [],
      [],
      [a.publicKey],
      [a.publicKey],
      [b.publicKey],
      [b.publicKey],
      [],
      [],
      [c.publicKey],
      [c.publicKey],
      [a.publicKey],
      [a.publicKey]
    ])
    expect(s.history).toEqual([
      { term: 1, leader: a.publicKey, from: 2 },
      { term: 2, leader: b.publicKey, from: 4 },
      { term: 2, leader: null, from: 6 },
      { term: 3, leader: c.publicKey, from: 8 },
      { term: 4, leader: a.publicKey, from: 10 }
    ])
  })

  it("in a deployment of one: the instance at every offset, nobody else", () => {
    const log = ledByA()
    const s = fold(log.records, soloConfig(b))
    for (const o of [0, 1, 5, 1_000]) expect([ledAt(s, b.publicKey, o), ledAt(s, a.publicKey, o)]).toEqual([true, false])
  })

  it("remembers the latest MAX_HISTORY changes: an offset older than those answers false", () => {
    const log = clusterLog()
    log.set([a, b])
    const claims = Array.from({ length: MAX_HISTORY + 4 }, (_, i) => log.claim(i % 2 === 0 ? a : b, i + 1))
    const s = fold(log.records)
    expect(s.history.length).toBe(MAX_HISTORY)
    expect(s.history[0]).toEqual({ term: 5, leader: a.publicKey, from: (claims[4] as LogRecord).offset })
    // Term 1 was a's, but it is no longer remembered.
    expect(ledAt(s, a.publicKey, (claims[0] as LogRecord).offset)).toBe(false)
    expect(ledAt(s, a.publicKey, (claims[4] as LogRecord).offset)).toBe(true)
    expect(ledAt(s, b.publicKey, (claims[5] as LogRecord).offset)).toBe(true)
    expect(s.term).toBe(MAX_HISTORY + 4)
  })
})

describe("authoringRefusal", () => {
  it("in a cluster: sets from the admin, claims from members (any term: the fold decides), decisions from members", () => {
    const log = ledByA()
    const s = fold(log.records)
    expect(authoringRefusal(s, "ClusterMembersSet", admin.publicKey)).toBeNull()
    expect(authoringRefusal(s, "ClusterMembersSet", a.publicKey)).toBe("only the cluster admin may set the members")
    expect(authoringRefusal(s, "LeaderTermClaimed", b.publicKey)).toBeNull()
    expect(authoringRefusal(s, "LeaderTermClaimed", admin.publicKey)).toBe("only a member may claim a term")
    expect(authoringRefusal(s, "LeaderTermClaimed", alice.publicKey)).toBe("only a member may claim a term")
    // A member that does not lead may still submit a decision: its place in the log decides.
    for (const t of [...leaderTypes, ...memberTypes]) {
      expect(authoringRefusal(s, t, b.publicKey)).toBeNull()
      expect(authoringRefusal(s, t, alice.publicKey)).toBe(`only a cluster member may author ${t}`)
      expect(authoringRefusal(s, t, admin.publicKey)).toBe(`only a cluster member may author ${t}`)
    }
    for (const t of openTypes) expect(authoringRefusal(s, t, alice.publicKey)).toBeNull()
  })

  it("in a cluster before the first set: no claim and no decision is taken, only the admin's set", () => {
    const s = initialAuthority(clusterConfig())
    expect(authoringRefusal(s, "ClusterMembersSet", admin.publicKey)).toBeNull()
    expect(authoringRefusal(s, "LeaderTermClaimed", a.publicKey)).toBe("only a member may claim a term")
    expect(authoringRefusal(s, "BatchSealed", a.publicKey)).toBe("only a cluster member may author BatchSealed")
  })

  it("in a deployment of one: no cluster messages; decisions only from the instance", () => {
    const s = initialAuthority(soloConfig(a))
    for (const t of ["ClusterMembersSet", "LeaderTermClaimed"]) {
      for (const k of [a, admin]) expect(authoringRefusal(s, t, k.publicKey)).toBe("this deployment has no cluster admin (serve --cluster-admin)")
    }
    for (const t of [...leaderTypes, ...memberTypes]) {
      expect(authoringRefusal(s, t, a.publicKey)).toBeNull()
      expect(authoringRefusal(s, t, b.publicKey)).toBe(`only the instance may author ${t}`)
    }
    for (const t of openTypes) expect(authoringRefusal(s, t, b.publicKey)).toBeNull()
  })
})

describe("matchesConfig", () => {
  it("a cluster's state belongs to every instance of that cluster, and to no other admin nor a deployment of one", () => {
    const s = fold(ledByA().records, clusterConfig(a))
    expect(matchesConfig(s, clusterConfig(a))).toBe(true)
    expect(matchesConfig(s, clusterConfig(b))).toBe(true)
    expect(matchesConfig(s, { instanceKey: a.publicKey, clusterAdmin: alice.publicKey })).toBe(false)
    expect(matchesConfig(s, soloConfig(a))).toBe(false)
  })

  it("a deployment of one's state belongs to that instance only", () => {
    const s = fold(ledByA().records, soloConfig(a))
    expect(matchesConfig(s, soloConfig(a))).toBe(true)
    expect(matchesConfig(s, soloConfig(b))).toBe(false)
    expect(matchesConfig(s, clusterConfig(a))).toBe(false)
    expect(matchesConfig(s, { instanceKey: a.publicKey, clusterAdmin: a.publicKey })).toBe(false)
  })
})
