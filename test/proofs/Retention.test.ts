/**
 * Proofs retention (issue #14): a decided announcement (verified, refused, incomplete,
 * rejected) leaves the proofs projection's memory and snapshot a retention window after the
 * seal of the batch open when it was decided, in the instance's seal times, with its place
 * under its commitment and the claim it carries; pending ones stay whatever their age. The
 * runner keeps what leaves on disk, where GET /v1/proofs/{commitment} still finds it.
 */
import { describe, expect, it, layer } from "@effect/vitest"
import { Effect, HashMap, Option } from "effect"
import * as InstanceKeyFile from "../../src/adapters/files/InstanceKeyFile.ts"
import * as MemoryCausalLog from "../../src/adapters/storage/MemoryCausalLog.ts"
import * as SqliteProjectionStore from "../../src/adapters/storage/SqliteProjectionStore.ts"
import { instanceKeyPath } from "../../src/Config.ts"
import { idOf } from "../../src/domain/Envelope.ts"
import type { KeyFile } from "../../src/domain/Keys.ts"
import { DEFAULT_RETENTION_MS } from "../../src/domain/mempool/MempoolFold.ts"
import type { MessageType } from "../../src/domain/MessageTypes.ts"
import { announcementOf, claimKeyOf, pendingOf } from "../../src/domain/proofs/ProofFold.ts"
import { CausalLog, type LogRecord } from "../../src/ports/CausalLog.ts"
import * as ProjectionRunner from "../../src/projections/ProjectionRunner.ts"
import { digestOf, foldPage, serialize } from "../../src/projections/Projection.ts"
import { archivedCommitmentPrefix, archivedProofKey, makeProofs } from "../../src/projections/Proofs/Proofs.ts"
import { keys, soloConfig } from "../cluster/support.ts"
import { envelope, testKey } from "../support/fixtures.ts"
import { handLog } from "../support/handLog.ts"
import * as Server from "../http/support/server.ts"
import { groth16Case, sharedProof } from "./support/proofCase.ts"

const { a } = keys
const operator = testKey("retention-proof-operator")
const valid = groth16Case("co-snarks/bn254-multiplier2")
const small = sharedProof(valid, 4_000)
const RETENTION = 10_000
const proofs = makeProofs({ ...soloConfig(a), retentionMs: RETENTION })
const fold = (records: ReadonlyArray<LogRecord>) => foldPage(proofs, proofs.initialState, records)
const seal = (batch: number, sealedAt: number) => ({ batch, sealedAt, beaconRound: null })
const count = (m: HashMap.HashMap<string, unknown>) => HashMap.size(m)

// Batch 0: `verified` is assembled and verified, `rejected` names an unknown key, `open`
// gathers and never ends. Batch 1: `refused` is refused (its claim: another public input).
// Seals at 1 s, 5 s, 11 s (10 s after batch 0's: what was decided while batch 0 was open
// leaves) and 30 s (what was decided while batch 1 was open leaves).
const history = () => {
  const log = handLog({ signed: false })
  log.append(a, "OperatorRegistered", { operator: operator.publicKey })
  log.append(operator, "VerificationKeyRegistered", small.key)
  const verified = log.append(operator, "ProofAnnouncement", small.announcement)
  for (const s of small.shares) log.append(operator, "ProofShare", { announcementId: verified.id, ...s })
  const ok = log.append(a, "ProofVerified", { announcementId: verified.id, commitment: small.announcement.commitment, ok: true })
  const rejected = log.append(operator, "ProofAnnouncement", { ...small.announcement, computationId: "unknown-key", vkId: "ab".repeat(32) })
  const open = log.append(operator, "ProofAnnouncement", { ...small.announcement, computationId: "open", publicInputs: ["7"] })
  const s0 = log.append(a, "BatchSealed", seal(0, 1_000))
  const refused = log.append(operator, "ProofAnnouncement", { ...small.announcement, computationId: "refused", publicInputs: ["8"] })
  for (const s of small.shares) log.append(operator, "ProofShare", { announcementId: refused.id, ...s })
  log.append(a, "ProofVerified", { announcementId: refused.id, commitment: small.announcement.commitment, ok: false, reason: "PairingCheckFailed: no" })
  const s1 = log.append(a, "BatchSealed", seal(1, 5_000))
  const s2 = log.append(a, "BatchSealed", seal(2, 11_000))
  const s3 = log.append(a, "BatchSealed", seal(3, 30_000))
  return { log, verified, ok, rejected, open, refused, s0, s1, s2, s3 }
}
const upTo = (h: ReturnType<typeof history>, r: LogRecord) => fold(h.log.records.slice(0, r.offset + 1))

describe("proofs retention (fold)", () => {
  it("keeps decided announcements through the window, then drops them, their commitment's place and their claim, at the first seal past it", () => {
    const h = history()
    const before = upTo(h, h.s1)
    expect(announcementOf(before, h.verified.id)?.status).toBe("verified")
    expect(announcementOf(before, h.rejected.id)?.status).toBe("rejected")
    expect(count(before.claims)).toBe(2)
    // Batch 2's seal is 10 s after batch 0's: what was decided while batch 0 was open leaves.
    const after = upTo(h, h.s2)
    expect(announcementOf(after, h.verified.id)).toBeUndefined()
    expect(announcementOf(after, h.rejected.id)).toBeUndefined()
    expect(HashMap.has(after.claims, claimKeyOf(small.announcement))).toBe(false)
    expect(announcementOf(after, h.refused.id)?.status).toBe("refused")
    const last = upTo(h, h.s3)
    expect(announcementOf(last, h.refused.id)).toBeUndefined()
    expect(count(last.claims)).toBe(0)
    // The one still gathering stays, whatever its age, and is the commitment's only one.
    expect(announcementOf(last, h.open.id)?.status).toBe("gathering")
    expect(pendingOf(last).map((x) => x.id)).toEqual([h.open.id])
    expect(Option.getOrUndefined(HashMap.get(last.byCommitment, small.announcement.commitment))).toEqual([h.open.id])
    expect([count(last.announcements), last.retiringOpen, last.retiring]).toEqual([1, [], []])
    // What left is in the outbox, as it was last.
    expect(last.evicted.map((x) => [x.id, x.status])).toEqual([[h.verified.id, "verified"], [h.rejected.id, "rejected"], [h.refused.id, "refused"]])
    expect(last.evicted[0]).toEqual(announcementOf(before, h.verified.id))
  })

  it("a claim that left memory is gathered and verified again when announced again", () => {
    const h = history()
    const again = h.log.append(operator, "ProofAnnouncement", { ...small.announcement, computationId: "again" })
    expect(announcementOf(fold(h.log.records), again.id)?.status).toBe("gathering")
    // Within the window the same claim takes the stored verdict at once.
    const within = handLog({ signed: false })
    for (const r of h.log.records.slice(0, h.s0.offset + 1)) within.records.push(r)
    const early = { ...again, offset: within.records.length }
    expect(announcementOf(fold([...within.records, early]), again.id)).toMatchObject({ status: "verified", verdict: { reusedFrom: h.verified.id } })
  })

  it("drains the outbox to rows under the commitment, and draining never changes the digest", () => {
    const h = history()
    const state = fold(h.log.records)
    const { state: drained, archived } = proofs.drain!(state)
    expect(drained.evicted).toEqual([])
    expect(serialize(proofs, drained)).toBe(serialize(proofs, state))
    const c = small.announcement.commitment
    expect(archived.map((r) => r.key)).toEqual([h.verified, h.rejected, h.refused].map((r) => archivedProofKey(c, r.offset, r.id)))
    expect(archived.every((r) => r.key.startsWith(archivedCommitmentPrefix(c)))).toBe(true)
    expect(archived[0]?.value).toEqual(JSON.parse(JSON.stringify(announcementOf(upTo(h, h.s1), h.verified.id))))
  })

  it("replays to the same digest from the start and from a snapshot taken at any record", () => {
    const h = history()
    const whole = digestOf(proofs, fold(h.log.records))
    for (let cut = 0; cut <= h.log.records.length; cut++) {
      const text = serialize(proofs, fold(h.log.records.slice(0, cut)))
      const back = proofs.decode(JSON.parse(text))
      expect(serialize(proofs, back)).toBe(text)
      expect(digestOf(proofs, foldPage(proofs, back, h.log.records.slice(cut)))).toBe(whole)
    }
  })

  it("keeps the snapshot bounded: a long run of refused proofs leaves only the window's", () => {
    const log = handLog({ signed: false })
    log.append(a, "OperatorRegistered", { operator: operator.publicKey })
    log.append(operator, "VerificationKeyRegistered", small.key)
    const sizes: Array<number> = []
    let state = proofs.initialState
    for (let batch = 0; batch < 40; batch++) {
      for (let i = 0; i < 4; i++) {
        const ann = log.append(operator, "ProofAnnouncement", { ...small.announcement, computationId: `c-${batch}-${i}`, publicInputs: [String(batch * 4 + i)] })
        log.append(a, "ProofVerified", { announcementId: ann.id, commitment: small.announcement.commitment, ok: false, reason: "SharesMissing: none came" })
      }
      log.append(a, "BatchSealed", seal(batch, batch * 2_000 + 1_000))
      state = fold(log.records)
      sizes.push(serialize(proofs, state).length)
    }
    // Ten seconds of retention at one seal every two seconds: about six batches are held.
    expect(count(state.announcements)).toBeLessThanOrEqual(4 * 7)
    expect(sizes[39]! - sizes[20]!).toBeLessThan(sizes[20]! / 10)
  })

  it("refuses a snapshot folded under another retention (it is rebuilt from the log)", () => {
    const other = makeProofs({ ...soloConfig(a), retentionMs: DEFAULT_RETENTION_MS })
    const json = JSON.parse(serialize(other, fold(history().log.records)))
    expect(() => proofs.decode(json)).toThrow(`retention of ${DEFAULT_RETENTION_MS} ms, not ${RETENTION} ms`)
  })

  it.effect("the runner keeps what it drains on disk before it publishes the state", () =>
    Effect.gen(function*() {
      const h = history()
      const log = yield* CausalLog
      yield* log.append(h.log.records.map(({ offset: _, ...r }) => r))
      const runner = yield* ProjectionRunner.make([proofs], { snapshotEvery: 1_000_000, pageSize: 3 })
      yield* runner.awaitOffset(h.log.records.length)
      const { state } = yield* runner.state(proofs)
      expect([announcementOf(state, h.verified.id), state.evicted]).toEqual([undefined, []])
      const rows = yield* runner.archivedRange(proofs, archivedCommitmentPrefix(small.announcement.commitment), 100)
      expect(rows.map((r) => (r.value as { id: string }).id)).toEqual([h.verified.id, h.rejected.id, h.refused.id])
      expect(rows[0]?.value).toEqual(JSON.parse(JSON.stringify(announcementOf(upTo(h, h.s1), h.verified.id))))
      expect(yield* runner.archivedRange(proofs, archivedCommitmentPrefix(small.announcement.commitment), 1)).toHaveLength(1)
      expect(yield* runner.archivedRange(proofs, archivedCommitmentPrefix("cd".repeat(32)), 100)).toEqual([])
    }).pipe(Effect.scoped, Effect.provide(MemoryCausalLog.layerMemory), Effect.provide(SqliteProjectionStore.layerMemory)))
})

describe("the archive's range read", () => {
  it.effect("SQLite: keys with the prefix only, in key order, at most the limit", () =>
    Effect.gen(function*() {
      const store = yield* SqliteProjectionStore.make(":memory:")
      yield* store.archive("p", ["c:ab:2", "c:ab:1", "c:ab;", "c:a", "c:abc:1", "d:ab:1"].map((key) => ({ key, value: JSON.stringify(key) })))
      yield* store.archive("q", [{ key: "c:ab:0", value: "0" }])
      expect((yield* store.archivedRange("p", "c:ab:", 10)).map((r) => r.key)).toEqual(["c:ab:1", "c:ab:2"])
      expect((yield* store.archivedRange("p", "c:ab", 10)).map((r) => r.key)).toEqual(["c:ab:1", "c:ab:2", "c:ab;", "c:abc:1"])
      expect((yield* store.archivedRange("p", "c:ab:", 1)).map((r) => r.key)).toEqual(["c:ab:1"])
      expect(yield* store.archivedRange("p", "c:ab:", 0)).toEqual([])
      expect(yield* store.archivedRange("p", "", 10)).toEqual([])
    }).pipe(Effect.scoped))
})

describe("proofs retention (HTTP)", () => {
  layer(Server.layer(), { excludeTestServices: true, timeout: "60 seconds" })((it) => {
    it.effect("answers for a verified proof, its bytes included, after it left memory", () =>
      Effect.gen(function*() {
        const { dataDir } = yield* Server.TestServer
        const key = yield* InstanceKeyFile.loadOrCreate(instanceKeyPath(dataDir))
        let lamport = 0
        const nonces = new Map<string, number>()
        const message = (k: KeyFile, type: MessageType, payload: unknown) => {
          lamport += 10
          const nonce = (nonces.get(k.publicKey) ?? 100) + 1
          nonces.set(k.publicKey, nonce)
          return envelope(k, { type, payload, nonce, lamport, deps: [] })
        }
        const proof = sharedProof(valid, 6_000, { computationId: "http-retention" })
        const registered = [message(key, "OperatorRegistered", { operator: operator.publicKey }), message(operator, "VerificationKeyRegistered", proof.key)]
        const announcement = message(operator, "ProofAnnouncement", proof.announcement)
        const id = idOf(announcement)
        yield* Server.seed([
          ...registered,
          announcement,
          ...proof.shares.map((s) => message(operator, "ProofShare", { announcementId: id, ...s })),
          message(key, "ProofVerified", { announcementId: id, commitment: proof.announcement.commitment, ok: true })
        ])
        const path = `/v1/proofs/${proof.announcement.commitment}`
        const before = (yield* Server.eventually(Server.get(path), (r) => r.status === 200 && r.json.proof !== null)).json
        expect(before.announcements.map((x: any) => [x.announcementId, x.status])).toEqual([[id, "verified"]])
        expect(Buffer.from(before.proof, "base64")).toEqual(Buffer.from(proof.proof))
        const t = Date.now()
        yield* Server.seed([message(key, "BatchSealed", seal(0, t))])
        yield* Server.seed([message(key, "BatchSealed", seal(1, t + DEFAULT_RETENTION_MS))])
        // Gone from the list (memory) once the second seal is folded ...
        yield* Server.eventually(Server.get("/v1/proofs"), (r) => r.status === 200 && !r.json.proofs.some((x: any) => x.announcementId === id))
        // ... and still served by commitment, from disk, as it was.
        const after = yield* Server.get(path)
        expect([after.status, { ...after.json, offset: before.offset }]).toEqual([200, before])
      }))
  })
})
