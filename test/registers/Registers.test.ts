/**
 * The registers projection (src/projections/Registers): deltas apply only on top of the state
 * they name (two operators racing on one previous hash: exactly one applies), a wrong new
 * hash is refused, a proof-bound update waits for the authority's verdict and counts only if
 * its proof binds both hashes, strangers' updates are ignored, lazy loading answers deltas
 * since a known hash or the full state, and snapshots round-trip to the same digest.
 * Retention: a decided proof leaves the part that waits on proofs a retention window after
 * its batch's seal; an update naming it later is refused; replay drops it at the same record.
 */
import { describe, expect, it } from "@effect/vitest"
import { sha256 } from "@noble/hashes/sha2.js"
import { bytesToHex } from "@noble/hashes/utils.js"
import { Result } from "effect"
import { decodePayload } from "../../src/domain/MessageTypes.ts"
import { registerBinding } from "../../src/domain/proofs/ProofBinding.ts"
import type { RegisterContents, RegisterOperation } from "../../src/domain/registers/RegisterMessages.ts"
import { applyDelta, registerOf, stateHashOf, updatesSince } from "../../src/domain/registers/Registers.ts"
import type { LogRecord } from "../../src/ports/CausalLog.ts"
import { digestOf, foldPage, serialize } from "../../src/projections/Projection.ts"
import { DEFAULT_RETENTION_MS } from "../../src/domain/mempool/MempoolFold.ts"
import { HashMap } from "effect"
import { makeRegisters } from "../../src/projections/Registers/Registers.ts"
import { clusterLog, keys, soloConfig } from "../cluster/support.ts"
import { testKey } from "../support/fixtures.ts"

const { a, alice, bob } = keys
const carol = testKey("user-carol")
const config = soloConfig(a)
const fold = (records: ReadonlyArray<LogRecord>) => {
  const p = makeRegisters(config)
  return foldPage(p, p.initialState, records)
}
const hex = (s: string) => bytesToHex(sha256(new TextEncoder().encode(s)))

/** A log whose instance (a) registered alice and bob as operators. */
const operatorsLog = () => {
  const log = clusterLog()
  log.append(a, "OperatorRegistered", { operator: alice.publicKey })
  log.append(a, "OperatorRegistered", { operator: bob.publicKey })
  return log
}

const v0: RegisterContents = { balance: 10, owner: "alice" }
const h0 = stateHashOf(v0)
const setOp = (key: string, value: unknown): RegisterOperation => ({ op: "set", key, value })

const announce = (log: ReturnType<typeof clusterLog>, inputs: ReadonlyArray<string>, label = "p") =>
  log.append(alice, "ProofAnnouncement", {
    computationId: "register-step",
    proofSystem: "groth16",
    vkId: hex("vk"),
    commitment: hex(label),
    publicInputs: inputs,
    shares: 1,
    bytes: 100
  })

describe("register updates apply on top of the state they name", () => {
  it("two operators racing deltas on one previous hash: exactly one applies, the other is refused with the reason", () => {
    const log = operatorsLog()
    const create = log.append(alice, "RegisterUpdated", { registerId: "r1", previousStateHash: null, newStateHash: h0, fullState: v0 })
    const d1 = [setOp("balance", 11)]
    const d2 = [setOp("balance", 12), { op: "delete", key: "owner" } as const]
    const byAlice = log.append(alice, "RegisterUpdated", { registerId: "r1", previousStateHash: h0, newStateHash: stateHashOf(applyDelta(v0, d1)), delta: d1 })
    const byBob = log.append(bob, "RegisterUpdated", { registerId: "r1", previousStateHash: h0, newStateHash: stateHashOf(applyDelta(v0, d2)), delta: d2 })
    const r = registerOf(fold(log.records), "r1")
    expect(r?.contents).toEqual({ balance: 11, owner: "alice" })
    expect(r?.hash).toBe(stateHashOf({ balance: 11, owner: "alice" }))
    expect(r?.version).toBe(2)
    expect(r?.recent.map((o) => [o.id, o.status])).toEqual([[create.id, "applied"], [byAlice.id, "applied"], [byBob.id, "refused"]])
    expect(r?.recent[2]?.reason).toContain(`is not register r1's current state ${r?.hash}`)
  })

  it("a delta whose result does not hash to newStateHash is refused and changes nothing", () => {
    const log = operatorsLog()
    log.append(alice, "RegisterUpdated", { registerId: "r1", previousStateHash: null, newStateHash: h0, fullState: v0 })
    log.append(bob, "RegisterUpdated", { registerId: "r1", previousStateHash: h0, newStateHash: hex("lie"), delta: [setOp("balance", 0)] })
    const r = registerOf(fold(log.records), "r1")
    expect(r?.hash).toBe(h0)
    expect(r?.recent[1]?.status).toBe("refused")
    expect(r?.recent[1]?.reason).toContain(`not newStateHash ${hex("lie")}`)
  })

  it("a first update must name no previous state; an update from a stranger is ignored", () => {
    const log = operatorsLog()
    log.append(alice, "RegisterUpdated", { registerId: "r1", previousStateHash: h0, newStateHash: h0, fullState: v0 })
    log.append(carol, "RegisterUpdated", { registerId: "r2", previousStateHash: null, newStateHash: h0, fullState: v0 })
    const s = fold(log.records)
    expect(registerOf(s, "r1")?.hash).toBeNull()
    expect(registerOf(s, "r1")?.recent[0]?.reason).toContain("has no state yet")
    expect(registerOf(s, "r2")).toBeUndefined()
  })

  it("the state hash is SHA-256 of the canonical JSON (keys sorted; checked against Python's hashlib)", () => {
    expect(stateHashOf({ b: [true, null, "x"], a: 1 })).toBe("eca8cfb31ab74533e1eb2f4c74d2d55dfe3c79ac704787e54be8647ea7777eb1")
  })

  it("an update that would grow the register past 256 KiB of canonical JSON is refused", () => {
    const log = operatorsLog()
    let contents: RegisterContents = {}
    let hash: string | null = null
    for (let i = 0; i < 5; i++) {
      const d = [setOp(`k${i}`, "x".repeat(60_000))]
      const next = applyDelta(contents, d)
      log.append(i % 2 === 0 ? alice : bob, "RegisterUpdated", { registerId: "big", previousStateHash: hash, newStateHash: stateHashOf(next), delta: d })
      contents = next
      hash = stateHashOf(next)
    }
    const r = registerOf(fold(log.records), "big")
    expect(r?.version).toBe(4)
    expect(r?.recent[4]?.reason).toContain("more than 262144 bytes")
  })

  it("the schema refuses an update with both or neither of delta and fullState", () => {
    const base = { registerId: "r1", previousStateHash: null, newStateHash: h0 }
    expect(Result.isFailure(decodePayload("RegisterUpdated", base))).toBe(true)
    expect(Result.isFailure(decodePayload("RegisterUpdated", { ...base, fullState: v0, delta: [setOp("x", 1)] }))).toBe(true)
    expect(Result.isSuccess(decodePayload("RegisterUpdated", { ...base, fullState: v0 }))).toBe(true)
  })
})

describe("a proof-bound update waits for its proof's verdict", () => {
  const setup = () => {
    const log = operatorsLog()
    log.append(alice, "RegisterUpdated", { registerId: "r1", previousStateHash: null, newStateHash: h0, fullState: v0 })
    const d = [setOp("balance", 20)]
    const h1 = stateHashOf(applyDelta(v0, d))
    return { log, d, h1 }
  }

  it("pending until the authority's ProofVerified ok, then applied; a verdict from anyone else does not count", () => {
    const { log, d, h1 } = setup()
    const proof = announce(log, [...registerBinding(h0, h1), "42"])
    const update = log.append(bob, "RegisterUpdated", { registerId: "r1", previousStateHash: h0, newStateHash: h1, delta: d, proof: proof.id })
    expect(registerOf(fold(log.records), "r1")?.recent[1]?.status).toBe("pending")
    expect(registerOf(fold(log.records), "r1")?.hash).toBe(h0)
    log.append(alice, "ProofVerified", { announcementId: proof.id, commitment: hex("p"), ok: true })
    expect(registerOf(fold(log.records), "r1")?.hash).toBe(h0)
    log.append(a, "ProofVerified", { announcementId: proof.id, commitment: hex("p"), ok: true })
    const r = registerOf(fold(log.records), "r1")
    expect(r?.hash).toBe(h1)
    expect(r?.recent.find((o) => o.id === update.id)?.status).toBe("applied")
  })

  it("refused when the verdict is not ok", () => {
    const { log, d, h1 } = setup()
    const proof = announce(log, registerBinding(h0, h1))
    log.append(bob, "RegisterUpdated", { registerId: "r1", previousStateHash: h0, newStateHash: h1, delta: d, proof: proof.id })
    log.append(a, "ProofVerified", { announcementId: proof.id, commitment: hex("p"), ok: false, reason: "pairing check failed" })
    const r = registerOf(fold(log.records), "r1")
    expect(r?.hash).toBe(h0)
    expect(r?.recent[1]?.status).toBe("refused")
    expect(r?.recent[1]?.reason).toContain("pairing check failed")
  })

  it("refused at once when the proof's public inputs bind other hashes, or it was never announced", () => {
    const { log, d, h1 } = setup()
    const proof = announce(log, registerBinding(h1, h0))
    log.append(bob, "RegisterUpdated", { registerId: "r1", previousStateHash: h0, newStateHash: h1, delta: d, proof: proof.id })
    log.append(bob, "RegisterUpdated", { registerId: "r1", previousStateHash: h0, newStateHash: h1, delta: d, proof: hex("nothing") })
    const r = registerOf(fold(log.records), "r1")
    expect(r?.recent.slice(1).map((o) => o.status)).toEqual(["refused", "refused"])
    expect(r?.recent[1]?.reason).toContain("do not open with the limbs")
    expect(r?.recent[2]?.reason).toContain("names no ProofAnnouncement")
  })

  it("judged again at the verdict: a plain update that landed meanwhile wins the race", () => {
    const { log, d, h1 } = setup()
    const proof = announce(log, registerBinding(h0, h1))
    log.append(bob, "RegisterUpdated", { registerId: "r1", previousStateHash: h0, newStateHash: h1, delta: d, proof: proof.id })
    const other = [setOp("balance", 30)]
    log.append(alice, "RegisterUpdated", { registerId: "r1", previousStateHash: h0, newStateHash: stateHashOf(applyDelta(v0, other)), delta: other })
    log.append(a, "ProofVerified", { announcementId: proof.id, commitment: hex("p"), ok: true })
    const r = registerOf(fold(log.records), "r1")
    expect(r?.contents).toEqual({ balance: 30, owner: "alice" })
    expect(r?.recent.map((o) => o.status)).toEqual(["applied", "refused", "applied"])
  })
})

describe("lazy loading and replay", () => {
  const chain = () => {
    const log = operatorsLog()
    log.append(alice, "RegisterUpdated", { registerId: "r1", previousStateHash: null, newStateHash: h0, fullState: v0 })
    let contents = v0
    const hashes = [h0]
    for (let i = 1; i <= 5; i++) {
      const d = [setOp(`k${i}`, i)]
      const next = applyDelta(contents, d)
      log.append(i % 2 === 0 ? alice : bob, "RegisterUpdated", { registerId: "r1", previousStateHash: stateHashOf(contents), newStateHash: stateHashOf(next), delta: d })
      contents = next
      hashes.push(stateHashOf(next))
    }
    return { log, hashes, contents }
  }

  it("?since= a known hash gives the deltas after it, which rebuild the state; the current hash gives none; an unknown one the full state", () => {
    const { log, hashes, contents } = chain()
    const r = registerOf(fold(log.records), "r1")
    if (r === undefined) throw new Error("no register")
    const since = updatesSince(r, hashes[2] as string)
    expect(since.kind).toBe("deltas")
    if (since.kind !== "deltas") return
    expect(since.updates.map((u) => u.newStateHash)).toEqual(hashes.slice(3))
    let rebuilt: RegisterContents = { balance: 10, owner: "alice", k1: 1, k2: 2 }
    expect(stateHashOf(rebuilt)).toBe(hashes[2])
    for (const u of since.updates) rebuilt = u.fullState ?? applyDelta(rebuilt, u.delta ?? [])
    expect(rebuilt).toEqual(contents)
    expect(updatesSince(r, hashes[5] as string)).toEqual({ kind: "deltas", updates: [] })
    expect(updatesSince(r, hex("unknown")).kind).toBe("full")
  })

  it("a snapshot decodes to the same digest, and folding on from it equals the whole fold", () => {
    const { log, hashes } = chain()
    const p = makeRegisters(config)
    const proof = announce(log, registerBinding(hashes[5] as string, h0))
    log.append(bob, "RegisterUpdated", { registerId: "r1", previousStateHash: hashes[5], newStateHash: h0, fullState: v0, proof: proof.id })
    const half = foldPage(p, p.initialState, log.records)
    const restored = p.decode(JSON.parse(JSON.stringify(p.encode(half))))
    expect(digestOf(p, restored)).toBe(digestOf(p, half))
    const verdict = log.append(a, "ProofVerified", { announcementId: proof.id, commitment: hex("p"), ok: true })
    const whole = foldPage(p, p.initialState, log.records)
    expect(digestOf(p, foldPage(p, restored, [verdict]))).toBe(digestOf(p, whole))
    expect(registerOf(whole, "r1")?.hash).toBe(h0)
  })
})

describe("retention of decided proofs", () => {
  const RETENTION = 10_000
  const p = makeRegisters({ ...config, retentionMs: RETENTION })
  const seal = (batch: number, sealedAt: number) => ({ batch, sealedAt, beaconRound: null })
  const d = [setOp("balance", 30)]
  const h1 = stateHashOf(applyDelta(v0, d))
  const history = () => {
    const log = operatorsLog()
    log.append(alice, "RegisterUpdated", { registerId: "r1", previousStateHash: null, newStateHash: h0, fullState: v0 })
    const proof = announce(log, [...registerBinding(h0, h1), "7"])
    const open = announce(log, [...registerBinding(h0, h1), "8"], "open")
    log.append(a, "ProofVerified", { announcementId: proof.id, commitment: hex("p"), ok: true })
    const s0 = log.append(a, "BatchSealed", seal(0, 1_000))
    // A seal from anyone else, or of another batch, counts for nothing.
    log.append(bob, "BatchSealed", seal(1, 50_000))
    log.append(a, "BatchSealed", seal(7, 50_000))
    const s1 = log.append(a, "BatchSealed", seal(1, 5_000))
    const s2 = log.append(a, "BatchSealed", seal(2, 11_000))
    return { log, proof, open, s0, s1, s2 }
  }
  const upTo = (log: ReturnType<typeof clusterLog>, r: LogRecord) => foldPage(p, p.initialState, log.records.slice(0, r.offset + 1))

  it("a decided proof is known through the window, then gone at the first seal past it; an undecided one stays", () => {
    const h = history()
    expect(HashMap.has(upTo(h.log, h.s1).known.proofs, h.proof.id)).toBe(true)
    const after = upTo(h.log, h.s2)
    expect(HashMap.has(after.known.proofs, h.proof.id)).toBe(false)
    expect(HashMap.has(after.known.proofs, h.open.id)).toBe(true)
    expect([after.known.batch, after.known.retiringOpen, after.known.retiring]).toEqual([3, [], []])
  })

  it("an update naming the proof within the window applies; after it, it is refused with the reason", () => {
    const within = history()
    const early = within.log.records.slice(0, within.s1.offset + 1)
    const wlog = clusterLog()
    for (const r of early) wlog.records.push(r)
    const ok = wlog.append(bob, "RegisterUpdated", { registerId: "r1", previousStateHash: h0, newStateHash: h1, delta: d, proof: within.proof.id })
    expect(registerOf(foldPage(p, p.initialState, wlog.records), "r1")?.recent.find((o) => o.id === ok.id)?.status).toBe("applied")
    const late = history()
    const refused = late.log.append(bob, "RegisterUpdated", { registerId: "r1", previousStateHash: h0, newStateHash: h1, delta: d, proof: late.proof.id })
    const outcome = registerOf(foldPage(p, p.initialState, late.log.records), "r1")?.recent.find((o) => o.id === refused.id)
    expect([outcome?.status, outcome?.reason]).toEqual(["refused", expect.stringContaining("left memory")])
  })

  it("replays to the same digest from a snapshot taken at any record; a snapshot of another retention is refused", () => {
    const h = history()
    const whole = digestOf(p, foldPage(p, p.initialState, h.log.records))
    for (let cut = 0; cut <= h.log.records.length; cut++) {
      const text = serialize(p, foldPage(p, p.initialState, h.log.records.slice(0, cut)))
      expect(digestOf(p, foldPage(p, p.decode(JSON.parse(text)), h.log.records.slice(cut)))).toBe(whole)
    }
    const other = makeRegisters(config)
    expect(() => p.decode(JSON.parse(serialize(other, other.initialState)))).toThrow(`retention of ${DEFAULT_RETENTION_MS} ms, not ${RETENTION} ms`)
  })
})
