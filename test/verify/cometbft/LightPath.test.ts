/**
 * Which signatures the light path may leave unchecked, pinned. As CometBFT's
 * `VerifyCommitLight` / `VerifyCommitLightTrusting` (`verifyCommitBatch` with
 * `countAllSignatures = false`) and tendermint-rs do, the light client walks the set in
 * canonical order, selects votes until their power passes the threshold, and checks every
 * selected signature and only those: a signature past the threshold is never looked at (a
 * corrupt one there does not change the verdict), a corrupt one before it always fails, and
 * a commit short of the threshold fails however its signatures look. The same holds for the
 * batch path that checks the selected signatures on both cores.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Result } from "effect"
import * as NodeCryptoCommitVerifier from "../../../src/adapters/cosmos/NodeCryptoCommitVerifier.ts"
import {
  type SignatureCheck,
  type VerifyLightBlockOptions,
  type VerifySignatures,
  verifyLightBlock,
  verifyLightBlockBatch,
  verifyOwnCommit,
  verifyOwnCommitBatch
} from "../../../src/domain/verify/cometbft/CometBftLightClient.ts"
import { base64ToBytesOrUndefined, bytesToBase64, bytesToUpperHex } from "../../../src/domain/verify/cometbft/JsonBytes.ts"
import type { CommitSigJson, LightBlock } from "../../../src/domain/verify/cometbft/LightBlock.ts"
import type { LightBlockVerificationError } from "../../../src/domain/verify/cometbft/LightClientErrors.ts"
import { buildLightBlock, canonicalOrder, makeValidators, seconds, trustedOf } from "./ChainBuilder.ts"
import { nodeCryptoVerify } from "./verifier.ts"

const CHAIN = "light-path-chain"
const T0 = seconds(1_700_000_000)
const DAY = String(24n * 3600n * 1_000_000_000n)
const NOW = "2023-11-14T22:15:20Z" // T0 + 120 s
// Ten validators of power 50: > 2/3 of 500 needs 7 of them, > 1/3 needs 4.
const vals = makeValidators(10, "lp")
const sorted = canonicalOrder(vals)
const root = buildLightBlock({ chainId: CHAIN, height: 10, timeNanos: T0, validators: vals, nextValidators: vals })
const next = buildLightBlock({ chainId: CHAIN, height: 11, timeNanos: T0 + seconds(5), validators: vals, nextValidators: vals })
const skip = buildLightBlock({ chainId: CHAIN, height: 15, timeNanos: T0 + seconds(25), validators: vals, nextValidators: vals })

const options = (untrusted: LightBlock): VerifyLightBlockOptions => ({
  trusted: trustedOf(root),
  untrusted,
  now: NOW,
  trustingPeriod: DAY,
  trustLevel: { numerator: 1, denominator: 3 },
  maxClockDrift: "0"
})

const withSignatures = (block: LightBlock, f: (sigs: Array<CommitSigJson>) => Array<CommitSigJson>): LightBlock => ({
  ...block,
  signed_header: {
    ...block.signed_header,
    commit: { ...block.signed_header.commit, signatures: f([...(block.signed_header.commit.signatures ?? [])]) }
  }
})

const corrupt = (sig: CommitSigJson): CommitSigJson => {
  const bytes = base64ToBytesOrUndefined(sig.signature ?? "")
  if (bytes === undefined) throw new Error("fixture signature is not base64")
  bytes[10] = (bytes[10] ?? 0) ^ 0x40
  return { ...sig, signature: bytesToBase64(bytes) }
}

/** The block with the signature in canonical slot `slot` corrupted. */
const corruptAt = (block: LightBlock, slot: number): LightBlock => withSignatures(block, (s) => s.map((sig, i) => (i === slot ? corrupt(sig) : sig)))

/** The block with the signatures in `slots` turned absent. */
const absentAt = (block: LightBlock, slots: ReadonlyArray<number>): LightBlock =>
  withSignatures(block, (s) =>
    s.map((sig, i) => (slots.includes(i) ? { block_id_flag: 1, validator_address: "", timestamp: "0001-01-01T00:00:00Z", signature: null } : sig))
  )

const verdictOf = (r: Result.Result<unknown, LightBlockVerificationError>): string =>
  Result.isSuccess(r) ? "ok" : r.failure._tag === "NotEnoughTrust" ? "NotEnoughTrust" : r.failure.reason

/** The sync path, and the validators (canonical slots) whose signatures it checked. */
const syncRun = (block: LightBlock) => {
  const keys: Array<string> = []
  const r = verifyLightBlock(options(block), (pk, msg, sig) => {
    keys.push(bytesToUpperHex(pk))
    return nodeCryptoVerify(pk, msg, sig)
  })
  return { verdict: verdictOf(r), slots: keys.map(slotOf), checked: Result.isSuccess(r) ? r.success.signaturesChecked : undefined }
}

const batchVerifier = NodeCryptoCommitVerifier.make()

/** The batch path (both cores), and the validators whose signatures it was handed. */
const batchRun = (block: LightBlock) =>
  Effect.gen(function* () {
    const handed: Array<SignatureCheck> = []
    const recording: VerifySignatures = (checks) => {
      handed.push(...checks)
      return batchVerifier.verifyMany(checks)
    }
    const r = yield* Effect.result(verifyLightBlockBatch(options(block), recording))
    return { verdict: verdictOf(r), slots: handed.map((c) => slotOf(bytesToUpperHex(c.publicKey))), checked: Result.isSuccess(r) ? r.success.signaturesChecked : undefined }
  })

const slotOf = (pubKeyHex: string): number => sorted.findIndex((v) => bytesToUpperHex(v.pubKey) === pubKeyHex)

const FIRST_SEVEN = [0, 1, 2, 3, 4, 5, 6]

describe("the light path's unchecked signatures", () => {
  it.effect("checks exactly the first 7 of 10 signatures in canonical order (> 2/3), sync and batch", () =>
    Effect.gen(function* () {
      expect(syncRun(next)).toEqual({ verdict: "ok", slots: FIRST_SEVEN, checked: 7 })
      expect(yield* batchRun(next)).toEqual({ verdict: "ok", slots: FIRST_SEVEN, checked: 7 })
    })
  )

  it.effect("accepts a corrupt signature past the threshold (slots 7-9) and rejects one before it (slots 0-6)", () =>
    Effect.gen(function* () {
      for (let slot = 0; slot < 10; slot++) {
        const expected = slot < 7 ? "InvalidSignature" : "ok"
        const block = corruptAt(next, slot)
        expect([slot, syncRun(block).verdict]).toEqual([slot, expected])
        expect([slot, (yield* batchRun(block)).verdict]).toEqual([slot, expected])
      }
    })
  )

  it.effect("skips absent validators when selecting, and then checks the next signer in their place", () =>
    Effect.gen(function* () {
      // Slots 1 and 4 absent: the 7 selected are 0, 2, 3, 5, 6, 7, 8; slot 9 stays unchecked.
      const block = absentAt(next, [1, 4])
      const selected = [0, 2, 3, 5, 6, 7, 8]
      expect(syncRun(block)).toEqual({ verdict: "ok", slots: selected, checked: 7 })
      expect(yield* batchRun(block)).toEqual({ verdict: "ok", slots: selected, checked: 7 })
      expect(syncRun(corruptAt(block, 8)).verdict).toBe("InvalidSignature")
      expect(syncRun(corruptAt(block, 9)).verdict).toBe("ok")
      expect((yield* batchRun(corruptAt(block, 8))).verdict).toBe("InvalidSignature")
      expect((yield* batchRun(corruptAt(block, 9))).verdict).toBe("ok")
    })
  )

  it.effect("fails a commit short of the threshold: 6 of 10 signed (300 of 500), with every signature valid", () =>
    Effect.gen(function* () {
      const short = absentAt(next, [6, 7, 8, 9])
      expect(syncRun(short)).toEqual({ verdict: "InsufficientSignersOverlap", slots: [0, 1, 2, 3, 4, 5], checked: undefined })
      expect(yield* batchRun(short)).toEqual({ verdict: "InsufficientSignersOverlap", slots: [0, 1, 2, 3, 4, 5], checked: undefined })
      // Short and with a corrupt signature: rejected as tendermint-rs does, for the signature.
      expect(syncRun(corruptAt(short, 2)).verdict).toBe("InvalidSignature")
      expect((yield* batchRun(corruptAt(short, 2))).verdict).toBe("InvalidSignature")
      // A root of trust short of the threshold fails too.
      expect(verdictOf(verifyOwnCommit(short, nodeCryptoVerify))).toBe("InsufficientSignersOverlap")
      expect(verdictOf(yield* Effect.result(verifyOwnCommitBatch(short, batchVerifier.verifyMany)))).toBe("InsufficientSignersOverlap")
      expect(verdictOf(verifyOwnCommit(next, nodeCryptoVerify))).toBe("ok")
    })
  )

  it.effect("when skipping, checks the first 4 (> 1/3 of the trusted set) once each, then up to 7 (> 2/3)", () =>
    Effect.gen(function* () {
      // The trusted next set is the new set, so the 4 trusted signers are among the 7 and are checked once.
      expect(syncRun(skip)).toEqual({ verdict: "ok", slots: FIRST_SEVEN, checked: 7 })
      expect(yield* batchRun(skip)).toEqual({ verdict: "ok", slots: FIRST_SEVEN, checked: 7 })
      expect(syncRun(corruptAt(skip, 9)).verdict).toBe("ok")
      expect(syncRun(corruptAt(skip, 5)).verdict).toBe("InvalidSignature")
      expect((yield* batchRun(corruptAt(skip, 5))).verdict).toBe("InvalidSignature")
      // Only 3 of the trusted validators signed (150 of 500): not enough trust, whatever the new set says.
      const fewTrusted = absentAt(skip, [3, 4, 5, 6, 7, 8, 9])
      expect(syncRun(fewTrusted).verdict).toBe("NotEnoughTrust")
      expect((yield* batchRun(fewTrusted)).verdict).toBe("NotEnoughTrust")
    })
  )
})
