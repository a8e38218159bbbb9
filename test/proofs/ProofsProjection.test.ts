/**
 * The proofs projection (src/projections/Proofs, src/domain/proofs/ProofFold.ts) over hand-made
 * logs: a 1 MB Groth16 proof in 32 shares arriving out of order, some twice, is complete with
 * the first share of each index; a stranger's share never counts; keys are stored once by
 * content and only from operators; announcements are bounded per announcer; only the leader's
 * verdicts count; a SharesMissing verdict makes the announcement incomplete; a claim verified
 * once gives its verdict to every other announcement of it (content addressing); snapshots
 * round-trip and resume at any cut to the full fold's digest.
 */
import { describe, expect, it } from "vitest"
import { type AuthorityConfig } from "../../src/domain/cluster/Authority.ts"
import { announcementOf, keysOf, MAX_PENDING_PER_ANNOUNCER, pendingOf } from "../../src/domain/proofs/ProofFold.ts"
import type { LogRecord } from "../../src/ports/CausalLog.ts"
import { digestOf, foldPage, serialize } from "../../src/projections/Projection.ts"
import { makeProofs } from "../../src/projections/Proofs/Proofs.ts"
import { clusterConfig, clusterLog, keys, soloConfig } from "../cluster/support.ts"
import { testKey } from "../support/fixtures.ts"
import { handLog } from "../support/handLog.ts"
import { changedShare, groth16Case, sharedProof, shuffled } from "./support/proofCase.ts"

const { a, alice, bob } = keys
const operator = testKey("proof-operator")
const valid = groth16Case("co-snarks/bn254-multiplier2")
const MB = 1024 * 1024
const big = sharedProof(valid, MB)

const fold = (records: ReadonlyArray<LogRecord>, config: AuthorityConfig = soloConfig(a)) => {
  const p = makeProofs(config)
  return foldPage(p, p.initialState, records)
}

/** A log where the instance `a` registered `operator` and the key. */
const start = () => {
  const log = handLog({ signed: false })
  log.append(a, "OperatorRegistered", { operator: operator.publicKey })
  log.append(operator, "VerificationKeyRegistered", big.key)
  return log
}

describe("the proofs fold", () => {
  it("a 1 MiB proof in 32 shares, out of order with repeats, is complete with the first share of each index", () => {
    expect(big.shares).toHaveLength(32)
    const log = start()
    const ann = log.append(operator, "ProofAnnouncement", big.announcement)
    const firsts = new Map<number, string>()
    const arrivals = shuffled([...big.shares, ...big.shares.slice(4, 10), ...big.shares.slice(30)], 11)
    expect(arrivals[0]?.index).not.toBe(0)
    for (const [n, s] of arrivals.entries()) {
      const r = log.append(operator, "ProofShare", { announcementId: ann.id, ...s })
      if (!firsts.has(s.index)) firsts.set(s.index, r.id)
      const at = announcementOf(fold(log.records), ann.id)
      // Complete exactly when the last missing index arrives.
      expect(at?.status).toBe(firsts.size === 32 ? "complete" : "gathering")
      if (n === arrivals.length - 1) {
        expect(at?.shareIds).toEqual(big.shares.map((x) => firsts.get(x.index)))
        expect([at?.received, at?.receivedBytes]).toEqual([32, MB])
      }
    }
    expect(fold(log.records).ignored).toBe(8)
  })

  it("a stranger's share never counts, operator or not, even when it arrives first", () => {
    const log = start()
    log.append(a, "OperatorRegistered", { operator: bob.publicKey })
    const ann = log.append(operator, "ProofAnnouncement", big.announcement)
    const [first] = big.shares
    if (first === undefined) throw new Error("no share")
    log.append(bob, "ProofShare", { announcementId: ann.id, index: 0, data: changedShare(first.data) })
    log.append(alice, "ProofShare", { announcementId: ann.id, index: 0, data: changedShare(first.data) })
    const own = log.append(operator, "ProofShare", { announcementId: ann.id, ...first })
    const s = fold(log.records)
    expect(announcementOf(s, ann.id)?.shareIds[0]).toBe(own.id)
    expect(s.ignored).toBe(2)
  })

  it("a key is stored once by content, only from an operator or the instance, only in its system's shape", () => {
    const log = start()
    log.append(a, "VerificationKeyRegistered", big.key)
    log.append(alice, "VerificationKeyRegistered", { proofSystem: "groth16", vk: { ...valid.vk, nPublic: 7 } })
    log.append(operator, "VerificationKeyRegistered", { proofSystem: "plonk", vk: valid.vk })
    log.append(operator, "VerificationKeyRegistered", { proofSystem: "groth16", vk: { protocol: "groth16" } })
    const s = fold(log.records)
    expect(keysOf(s).map((k) => [k.vkId, k.sender])).toEqual([[big.vkId, operator.publicKey]])
    expect(s.refusedKeys).toBe(3)
    expect(s.ignored).toBe(1)
  })

  it("an announcement of an unknown key, from a non-operator, or beyond the announcer's pending bound does not gather", () => {
    const log = start()
    const unknown = log.append(operator, "ProofAnnouncement", { ...big.announcement, vkId: "ab".repeat(32) })
    log.append(alice, "ProofAnnouncement", big.announcement)
    const pending = Array.from({ length: MAX_PENDING_PER_ANNOUNCER + 1 }, (_, i) =>
      log.append(operator, "ProofAnnouncement", { ...big.announcement, computationId: `c-${i}` }))
    const s = fold(log.records)
    expect(announcementOf(s, unknown.id)).toMatchObject({ status: "rejected", rejection: expect.stringMatching(/not registered/) })
    expect(pending.map((r) => announcementOf(s, r.id)?.status)).toEqual([...Array(MAX_PENDING_PER_ANNOUNCER).fill("gathering"), "rejected"])
    expect(s.announcements.pipe((m) => [...m].length)).toBe(MAX_PENDING_PER_ANNOUNCER + 2)
  })

  it("only the leader's verdict counts, once; ok only once complete; SharesMissing makes it incomplete and later shares are ignored", () => {
    const log = start()
    const ann = log.append(operator, "ProofAnnouncement", big.announcement)
    const verdict = (by: typeof a, ok: boolean, reason?: string) =>
      log.append(by, "ProofVerified", { announcementId: ann.id, commitment: big.announcement.commitment, ok, ...(reason === undefined ? {} : { reason }) })
    verdict(operator, false, "SharesMissing: forged")
    verdict(a, true) // not complete: an ok verdict cannot count
    expect(announcementOf(fold(log.records), ann.id)?.status).toBe("gathering")
    const missing = verdict(a, false, "SharesMissing: 32 of 32 shares did not arrive within 60000 ms")
    verdict(a, false, "PairingCheckFailed: later")
    for (const s of big.shares) log.append(operator, "ProofShare", { announcementId: ann.id, ...s })
    const s = fold(log.records)
    expect(announcementOf(s, ann.id)).toMatchObject({ status: "incomplete", received: 0, verdict: { ok: false, id: missing.id, reusedFrom: null } })
    // A deadline says nothing of the claim: another announcement of it gathers.
    const again = log.append(operator, "ProofAnnouncement", { ...big.announcement, computationId: "again" })
    expect(announcementOf(fold(log.records), again.id)?.status).toBe("gathering")
  })

  it("a deadline decided as the last share landed loses to it: the complete proof waits for its verdict", () => {
    const log = start()
    const ann = log.append(operator, "ProofAnnouncement", big.announcement)
    for (const s of big.shares) log.append(operator, "ProofShare", { announcementId: ann.id, ...s })
    log.append(a, "ProofVerified", { announcementId: ann.id, commitment: big.announcement.commitment, ok: false, reason: "SharesMissing: 1 of 32 shares did not arrive" })
    expect(announcementOf(fold(log.records), ann.id)?.status).toBe("complete")
    const ok = log.append(a, "ProofVerified", { announcementId: ann.id, commitment: big.announcement.commitment, ok: true })
    expect(announcementOf(fold(log.records), ann.id)).toMatchObject({ status: "verified", verdict: { id: ok.id } })
  })

  it("content addressing: a verified claim's verdict goes to every other announcement of it, pending or later; a changed-share refusal does not", () => {
    const log = start()
    const first = log.append(operator, "ProofAnnouncement", big.announcement)
    const second = log.append(operator, "ProofAnnouncement", { ...big.announcement, computationId: "second" })
    const otherClaim = log.append(operator, "ProofAnnouncement", { ...big.announcement, computationId: "publics", publicInputs: ["1"] })
    for (const s of big.shares) log.append(operator, "ProofShare", { announcementId: first.id, ...s })
    const changed = log.append(operator, "ProofAnnouncement", { ...big.announcement, computationId: "changed" })
    log.append(a, "ProofVerified", { announcementId: changed.id, commitment: big.announcement.commitment, ok: false, reason: "CommitmentMismatch: the shares hash to another" })
    const ok = log.append(a, "ProofVerified", { announcementId: first.id, commitment: big.announcement.commitment, ok: true })
    const later = log.append(operator, "ProofAnnouncement", { ...big.announcement, computationId: "later" })
    const s = fold(log.records)
    expect(announcementOf(s, first.id)).toMatchObject({ status: "verified", verdict: { ok: true, id: ok.id, reusedFrom: null } })
    for (const id of [second.id, later.id]) expect(announcementOf(s, id)).toMatchObject({ status: "verified", verdict: { ok: true, id: ok.id, reusedFrom: first.id } })
    expect(announcementOf(s, otherClaim.id)?.status).toBe("gathering")
    expect(announcementOf(s, changed.id)).toMatchObject({ status: "refused", verdict: { reusedFrom: null } })
  })

  it("snapshots round-trip, and resume at any cut to the full fold's digest", () => {
    const log = start()
    const ann = log.append(operator, "ProofAnnouncement", big.announcement)
    for (const s of shuffled(big.shares, 3).slice(0, 6)) log.append(operator, "ProofShare", { announcementId: ann.id, ...s })
    log.append(alice, "ProofShare", { announcementId: ann.id, index: 31, data: "AAAA" })
    log.append(a, "OperatorRemoved", { operator: operator.publicKey })
    log.append(operator, "ProofAnnouncement", { ...big.announcement, computationId: "after-removal" })
    log.append(a, "ProofVerified", { announcementId: ann.id, commitment: big.announcement.commitment, ok: false, reason: "SharesMissing: late" })
    log.append(a, "OperatorRegistered", { operator: operator.publicKey })
    log.append(operator, "ProofAnnouncement", { ...big.announcement, computationId: "still-pending" })
    const p = makeProofs(soloConfig(a))
    const full = foldPage(p, p.initialState, log.records)
    expect(full.announcements.pipe((m) => [...m].length)).toBe(2)
    expect(pendingOf(full).map((x) => x.computationId)).toEqual(["still-pending"])
    for (let cut = 0; cut <= log.records.length; cut++) {
      const at = foldPage(p, p.initialState, log.records.slice(0, cut))
      const text = serialize(p, at)
      const back = p.decode(JSON.parse(text))
      expect(serialize(p, back)).toBe(text)
      // The pending index (derived, not stored) comes back the same.
      expect(pendingOf(back).map((x) => x.id)).toEqual(pendingOf(at).map((x) => x.id))
      expect(digestOf(p, foldPage(p, back, log.records.slice(cut)))).toBe(digestOf(p, full))
    }
  })
})

describe("the proofs fold in a cluster", () => {
  it("a verdict counts from the leader of its term only: not a member, not a deposed leader; keys and announcements from members count", () => {
    const log = clusterLog()
    const { b } = keys
    log.set([a, b])
    log.claim(a, 1)
    log.append(b, "VerificationKeyRegistered", big.key)
    const ann = log.append(b, "ProofAnnouncement", big.announcement)
    for (const s of big.shares) log.append(b, "ProofShare", { announcementId: ann.id, ...s })
    const verdict = (by: typeof a) => log.append(by, "ProofVerified", { announcementId: ann.id, commitment: big.announcement.commitment, ok: true })
    verdict(b) // a member, not the leader
    log.claim(b, 2)
    verdict(a) // deposed
    const counted = verdict(b)
    for (const config of [clusterConfig(a), clusterConfig(b)]) {
      const p = makeProofs(config)
      const s = foldPage(p, p.initialState, log.records)
      expect(announcementOf(s, ann.id)).toMatchObject({ status: "verified", verdict: { id: counted.id } })
    }
  })
})
