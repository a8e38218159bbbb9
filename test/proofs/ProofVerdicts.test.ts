/**
 * The leader's proof verdicts (src/services/ProofVerdicts.ts) over the composition root's core
 * (ingest with the operator roster, the projections, Author) on a memory log, with a verifier
 * that counts its calls around the pure one: a 1 MiB Groth16 proof from the vectors,
 * in 32 shares out of order with repeats, is verified once; the same claim announced again is
 * never verified again; a changed share refuses the whole proof without a verification; a
 * proof that does not verify is refused with the system's reason; missing shares expire at
 * the deadline; proofs from a non-operator are refused at ingest; and a replay from offset 0
 * reaches the live digest without a single call to the verifier.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Option } from "effect"
import * as InstanceKeyFile from "../../src/adapters/files/InstanceKeyFile.ts"
import * as NodeCryptoSignatureVerifier from "../../src/adapters/signatures/NodeCryptoSignatureVerifier.ts"
import * as MemoryCausalLog from "../../src/adapters/storage/MemoryCausalLog.ts"
import * as SqliteProjectionStore from "../../src/adapters/storage/SqliteProjectionStore.ts"
import { type Envelope, idOf } from "../../src/domain/Envelope.ts"
import type { KeyFile } from "../../src/domain/Keys.ts"
import type { MessageType } from "../../src/domain/MessageTypes.ts"
import { type AnnouncementEntry, announcementOf } from "../../src/domain/proofs/ProofFold.ts"
import { verifyProof } from "../../src/domain/proofs/ProofSystems.ts"
import { projections, servicesLayer } from "../../src/main.ts"
import { CausalLog } from "../../src/ports/CausalLog.ts"
import { ProofVerifier } from "../../src/ports/ProofVerifier.ts"
import * as ProjectionRunner from "../../src/projections/ProjectionRunner.ts"
import { PROOFS } from "../../src/projections/Proofs/Proofs.ts"
import { ProofsView } from "../../src/projections/Views.ts"
import { Author } from "../../src/services/Author.ts"
import * as Ingest from "../../src/services/Ingest.ts"
import * as ProofVerdicts from "../../src/services/ProofVerdicts.ts"
import { keys } from "../cluster/support.ts"
import { envelope, testKey } from "../support/fixtures.ts"
import { changedShare, groth16Case, sharedProof, shuffled } from "./support/proofCase.ts"

const { a, alice } = keys
const operator = testKey("proof-operator")
const MiB = 1024 * 1024
const valid = groth16Case("co-snarks/bn254-multiplier2")
const tampered = groth16Case("co-snarks/bn254-multiplier2/tamper/public0-plus-1")

// The in-process verifier, with each call counted.
let calls = 0
const countingVerifier = Layer.succeed(ProofVerifier, {
  verify: (proofSystem, vk, proof, publicSignals) =>
    Effect.sync(() => {
      calls += 1
      return verifyProof(proofSystem, vk, proof, publicSignals)
    })
})

const storage = Layer.mergeAll(MemoryCausalLog.layerMemory, SqliteProjectionStore.layerMemory, NodeCryptoSignatureVerifier.layer, InstanceKeyFile.layerKey(a))
const core = servicesLayer(Ingest.defaultOptions).pipe(Layer.provideMerge(storage))
const stack = ProofVerdicts.layer({ deadlineMs: 1500, tickMs: 10 }).pipe(Layer.provide(countingVerifier), Layer.provideMerge(core))

const nonces = new Map<string, number>()
const submit = (key: KeyFile, type: MessageType, payload: unknown) =>
  Effect.gen(function*() {
    const ingest = yield* Ingest.Ingest
    const nonce = (nonces.get(key.publicKey) ?? 0) + 1
    nonces.set(key.publicKey, nonce)
    return yield* ingest.submit(envelope(key, { type, payload, nonce, lamport: 100_000 + nonce }))
  })

/** Submit the shares of an announcement in one call (in the order given): every one accepted. */
const submitShares = (announcementId: string, shares: ReadonlyArray<{ readonly index: number; readonly data: string }>) =>
  Effect.gen(function*() {
    const ingest = yield* Ingest.Ingest
    const values = shares.map((s) => {
      const nonce = (nonces.get(operator.publicKey) ?? 0) + 1
      nonces.set(operator.publicKey, nonce)
      return envelope(operator, { type: "ProofShare", payload: { announcementId, ...s }, nonce, lamport: 100_000 + nonce })
    })
    const results = yield* ingest.submitMany(values)
    expect(results.map((r) => r._tag)).toEqual(values.map(() => "Success"))
  })

/** The announcement once it is no longer pending (verified, refused, incomplete). */
const settled = (id: string) =>
  Effect.gen(function*() {
    const proofs = yield* ProofsView
    while (true) {
      const a = announcementOf(yield* proofs.state, id)
      if (a !== undefined && a.status !== "gathering" && a.status !== "complete") return a
      yield* Effect.sleep("10 millis")
    }
  })

const statusOf = (id: string) =>
  Effect.gen(function*() {
    const proofs = yield* ProofsView
    return announcementOf(yield* proofs.state, id)
  })

describe("the leader's proof verdicts", () => {
  it.live("verified once, never again for the same claim; changed shares, bad proofs and missing shares refused; replay equals live without the verifier", () =>
    Effect.gen(function*() {
      const author = yield* Author
      yield* author.publish("OperatorRegistered", { operator: operator.publicKey })
      const big = sharedProof(valid, MiB)
      expect(big.shares).toHaveLength(32)
      yield* submit(operator, "VerificationKeyRegistered", big.key)
      // Registering the same key again is taken and stored once (the fold ignores the repeat).
      yield* submit(operator, "VerificationKeyRegistered", big.key)

      // 1 MiB in 32 shares, out of order, some twice.
      const ann = yield* submit(operator, "ProofAnnouncement", big.announcement)
      yield* submitShares(ann.id, shuffled([...big.shares, ...big.shares.slice(0, 5)], 5))
      const verified: AnnouncementEntry = yield* settled(ann.id)
      expect(verified).toMatchObject({ status: "verified", verdict: { ok: true, reusedFrom: null } })
      expect(calls).toBe(1)

      // The same claim again: its verdict at once, no share needed, no verification.
      const again = yield* submit(operator, "ProofAnnouncement", { ...big.announcement, computationId: "again" })
      expect(yield* settled(again.id)).toMatchObject({ status: "verified", verdict: { ok: true, reusedFrom: ann.id } })

      // A share whose bytes change the hash refuses the whole proof, before any verification.
      const other = sharedProof(valid, MiB - 1, { computationId: "changed" })
      const changed = yield* submit(operator, "ProofAnnouncement", other.announcement)
      yield* submitShares(changed.id, other.shares.map((s) => (s.index === 17 ? { ...s, data: changedShare(s.data) } : s)))
      expect(yield* settled(changed.id)).toMatchObject({ status: "refused", verdict: { ok: false, reason: expect.stringMatching(/^CommitmentMismatch: /) } })

      // A proof that does not prove its public inputs: the system's reason.
      const bad = sharedProof(tampered, 4000, { computationId: "tampered" })
      const badAnn = yield* submit(operator, "ProofAnnouncement", bad.announcement)
      yield* submitShares(badAnn.id, bad.shares)
      expect(yield* settled(badAnn.id)).toMatchObject({ status: "refused", verdict: { ok: false, reason: expect.stringMatching(/^PairingCheckFailed/) } })
      expect(calls).toBe(2)

      // Missing shares expire at the deadline.
      const partial = sharedProof(valid, 200_000, { computationId: "partial" })
      const partialAnn = yield* submit(operator, "ProofAnnouncement", partial.announcement)
      yield* submitShares(partialAnn.id, partial.shares.slice(1))
      expect((yield* statusOf(partialAnn.id))?.status).toBe("gathering")
      expect(yield* settled(partialAnn.id)).toMatchObject({ status: "incomplete", verdict: { ok: false, reason: expect.stringMatching(/^SharesMissing: 1 of 7 shares/) } })
      expect(calls).toBe(2)

      // An announcement and its shares in one batch: the shares are judged by the fold, verified.
      const oneBatch = sharedProof(valid, 50_000, { computationId: "one-batch" })
      const ingest = yield* Ingest.Ingest
      const batch = [{ type: "ProofAnnouncement" as const, payload: oneBatch.announcement }].map((m) => {
        const nonce = (nonces.get(operator.publicKey) ?? 0) + 1
        nonces.set(operator.publicKey, nonce)
        return envelope(operator, { ...m, nonce, lamport: 100_000 + nonce })
      })
      const announcementId = idOf(batch[0] as Envelope)
      for (const s of oneBatch.shares) {
        const nonce = (nonces.get(operator.publicKey) ?? 0) + 1
        nonces.set(operator.publicKey, nonce)
        batch.push(envelope(operator, { type: "ProofShare", payload: { announcementId, ...s }, nonce, lamport: 100_000 + nonce }))
      }
      expect((yield* ingest.submitMany(batch)).map((r) => r._tag)).toEqual(batch.map(() => "Success"))
      expect(yield* settled(announcementId)).toMatchObject({ status: "verified", received: 2 })
      expect(calls).toBe(3)

      // Proofs are operators' messages: anyone else's are refused before they are written.
      const refused = yield* Effect.flip(submit(alice, "ProofAnnouncement", big.announcement))
      expect(refused._tag).toBe("OperatorNotRegistered")
      expect((yield* Effect.flip(submit(alice, "ProofShare", { announcementId: ann.id, ...big.shares[0] })))._tag).toBe("OperatorNotRegistered")

      // Replay folds the verdicts: the live digest, and not one more verification.
      const runner = yield* ProjectionRunner.Projections
      const log = yield* CausalLog
      const end = yield* log.endOffset
      yield* runner.awaitOffset(end)
      const live = (yield* runner.status).find((s) => s.name === PROOFS)
      const replayed = yield* ProjectionRunner.replay(log, projections({ instanceKey: a.publicKey }))
      expect(live?.offset).toBe(end)
      expect(replayed.digests[PROOFS]).toBe(live?.digest)
      expect(calls).toBe(3)
      expect(yield* (yield* ProofVerdicts.ProofVerdicts).verifications).toBe(3)
      expect(Option.isSome(yield* log.get(ann.id))).toBe(true)
    }).pipe(Effect.provide(stack)), { timeout: 60_000 })
})
