/**
 * verifyLightBlock on light blocks signed by real Ed25519 keys: each rule of the light-client
 * spec broken once (a flipped signature byte, a changed header field, a stale trusted
 * header, ...) must give its Invalid reason, and the boundaries (exactly 2/3, exactly the
 * trust level, one nanosecond) must fall on the right side.
 */
import { describe, expect, it } from "@effect/vitest"
import { Result } from "effect"
import fc from "fast-check"
import {
  type VerifyLightBlockOptions,
  nobleEd25519Verify,
  verifyLightBlock
} from "../../../src/domain/verify/cometbft/CometBftLightClient.ts"
import { base64ToBytesOrUndefined, bytesToBase64 } from "../../../src/domain/verify/cometbft/JsonBytes.ts"
import type { CommitSigJson, LightBlock } from "../../../src/domain/verify/cometbft/LightBlock.ts"
import {
  buildLightBlock,
  canonicalOrder,
  makeValidator,
  makeValidators,
  seconds,
  trustedOf,
  withPower
} from "./ChainBuilder.ts"
import { nodeCryptoVerify } from "./verifier.ts"

const CHAIN = "mutation-chain"
const T0 = seconds(1_700_000_000)
const DAY = String(24n * 3600n * 1_000_000_000n)
const vals = makeValidators(4, "m")
const root = buildLightBlock({ chainId: CHAIN, height: 10, timeNanos: T0, validators: vals, nextValidators: vals })
const next = buildLightBlock({ chainId: CHAIN, height: 11, timeNanos: T0 + seconds(5), validators: vals, nextValidators: vals })
const NOW = "2023-11-14T22:15:20Z" // T0 + 120 s

const options = (untrusted: LightBlock, extra: Partial<VerifyLightBlockOptions> = {}): VerifyLightBlockOptions => ({
  trusted: trustedOf(root),
  untrusted,
  now: NOW,
  trustingPeriod: DAY,
  trustLevel: { numerator: 1, denominator: 3 },
  maxClockDrift: "0",
  ...extra
})

/** The verdict as a short string: "ok", "NotEnoughTrust" or the Invalid reason. */
const verdict = (o: VerifyLightBlockOptions): string => {
  const r = verifyLightBlock(o, nodeCryptoVerify)
  if (Result.isSuccess(r)) return "ok"
  return r.failure._tag === "NotEnoughTrust" ? "NotEnoughTrust" : r.failure.reason
}

const withHeader = (block: LightBlock, patch: Record<string, unknown>): LightBlock => ({
  ...block,
  signed_header: { ...block.signed_header, header: { ...block.signed_header.header, ...patch } }
})

const withSignatures = (block: LightBlock, f: (sigs: Array<CommitSigJson>) => Array<CommitSigJson>): LightBlock => ({
  ...block,
  signed_header: {
    ...block.signed_header,
    commit: { ...block.signed_header.commit, signatures: f([...(block.signed_header.commit.signatures ?? [])]) }
  }
})

const flipSignatureByte = (sig: CommitSigJson, byte: number, bit = 1): CommitSigJson => {
  const bytes = base64ToBytesOrUndefined(sig.signature ?? "")
  if (bytes === undefined) throw new Error("fixture signature is not base64")
  bytes[byte] = (bytes[byte] ?? 0) ^ bit
  return { ...sig, signature: bytesToBase64(bytes) }
}

describe("verifyLightBlock on generated light blocks", () => {
  it("accepts an adjacent block signed by everyone, checking only the signatures needed for > 2/3", () => {
    const r = verifyLightBlock(options(next), nodeCryptoVerify)
    if (Result.isFailure(r)) throw new Error(r.failure.message)
    expect(r.success).toMatchObject({ height: 11, adjacent: true, signaturesChecked: 3, signers: { tallied: 150n, total: 200n } })
    expect(r.success.hash).toBe(next.signed_header.commit.block_id.hash)
  })

  it("accepts with the default (noble) verifier too", () => {
    expect(Result.isSuccess(verifyLightBlock(options(next)))).toBe(true)
    expect(Result.isSuccess(verifyLightBlock(options(next), nobleEd25519Verify))).toBe(true)
  })

  it("rejects a flipped signature byte (Invalid: InvalidSignature)", () => {
    for (const byte of [0, 31, 32, 63]) {
      expect(verdict(options(withSignatures(next, (s) => s.map((sig, i) => (i === 0 ? flipSignatureByte(sig, byte) : sig)))))).toBe("InvalidSignature")
    }
  })

  it("rejects any single-bit flip in any signature it counts (property)", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 }), fc.integer({ min: 0, max: 63 }), fc.integer({ min: 0, max: 7 }), (who, byte, bit) => {
        const mutated = withSignatures(next, (s) => s.map((sig, i) => (i === who ? flipSignatureByte(sig, byte, 1 << bit) : sig)))
        return verdict(options(mutated)) === "InvalidSignature"
      }),
      { numRuns: 60 }
    )
  })

  it("rejects a changed header field (Invalid: InvalidCommitValue), and a re-pointed commit (Invalid: InvalidSignature)", () => {
    for (const patch of [{ app_hash: "01" }, { data_hash: "" }, { proposer_address: vals[1]?.address }, { time: "2023-11-14T22:13:26.000000001Z" }]) {
      const changed = withHeader(next, patch)
      expect(verdict(options(changed))).toBe("InvalidCommitValue")
    }
    // The commit made to point at the changed header: now the signatures are over another block ID.
    const changed = withHeader(next, { app_hash: "01" })
    const forged = buildLightBlock({ chainId: CHAIN, height: 11, timeNanos: T0 + seconds(5), validators: vals, nextValidators: vals, appHash: "01" })
    const repointed: LightBlock = {
      ...changed,
      signed_header: {
        header: changed.signed_header.header,
        commit: { ...next.signed_header.commit, block_id: forged.signed_header.commit.block_id }
      }
    }
    expect(verdict(options(repointed))).toBe("InvalidSignature")
  })

  it("rejects a tampered validator set or next validator set", () => {
    const heavier = canonicalOrder(vals).map((v, i) => (i === 0 ? withPower(v, 51n) : v))
    expect(verdict(options({ ...next, validator_set: buildLightBlock({ chainId: CHAIN, height: 11, timeNanos: T0, validators: heavier, nextValidators: heavier }).validator_set }))).toBe(
      "InvalidValidatorSet"
    )
    expect(verdict(options({ ...next, next_validator_set: root.validator_set, validator_set: next.validator_set }))).toBe("ok")
    const other = makeValidators(4, "other")
    expect(verdict(options({ ...next, next_validator_set: buildLightBlock({ chainId: CHAIN, height: 11, timeNanos: T0, validators: other, nextValidators: other }).validator_set }))).toBe(
      "InvalidNextValidatorSet"
    )
  })

  it("accepts a validator set listed in any order (it is sorted into canonical order before hashing)", () => {
    const reversed = { validators: [...(next.validator_set.validators ?? [])].reverse() }
    expect(verdict(options({ ...next, validator_set: reversed, next_validator_set: reversed }))).toBe("ok")
  })

  it("rejects an adjacent block whose validators are not the trusted next validators", () => {
    const other = makeValidators(4, "other")
    const block = buildLightBlock({ chainId: CHAIN, height: 11, timeNanos: T0 + seconds(5), validators: other, nextValidators: other })
    expect(verdict(options(block))).toBe("InvalidNextValidatorSet")
  })

  it("rejects another chain, a stale trusted header, a header from the future, and time or height going backwards", () => {
    const otherChain = buildLightBlock({ chainId: "other-chain", height: 11, timeNanos: T0 + seconds(5), validators: vals, nextValidators: vals })
    expect(verdict(options(otherChain))).toBe("ChainIdMismatch")
    // Trusted at T0; trusting period 100 s; now T0 + 120 s.
    expect(verdict(options(next, { trustingPeriod: String(seconds(100)) }))).toBe("NotWithinTrustPeriod")
    expect(verdict(options(next, { trustingPeriod: String(seconds(120)) }))).toBe("NotWithinTrustPeriod")
    expect(verdict(options(next, { trustingPeriod: String(seconds(120) + 1n) }))).toBe("ok")
    // The block is at T0 + 5 s = 2023-11-14T22:13:25Z.
    expect(verdict(options(next, { now: "2023-11-14T22:13:25Z" }))).toBe("HeaderFromTheFuture")
    expect(verdict(options(next, { now: "2023-11-14T22:13:25.000000001Z" }))).toBe("ok")
    expect(verdict(options(next, { now: "2023-11-14T22:13:24Z", maxClockDrift: String(seconds(1) + 1n) }))).toBe("ok")
    expect(verdict(options(next, { now: "2023-11-14T22:13:24Z", maxClockDrift: String(seconds(1)) }))).toBe("HeaderFromTheFuture")
    const sameTime = buildLightBlock({ chainId: CHAIN, height: 11, timeNanos: T0, validators: vals, nextValidators: vals })
    expect(verdict(options(sameTime))).toBe("NonMonotonicBftTime")
    const oneNanoLater = buildLightBlock({ chainId: CHAIN, height: 11, timeNanos: T0 + 1n, validators: vals, nextValidators: vals })
    expect(verdict(options(oneNanoLater))).toBe("ok")
    const sameHeight = buildLightBlock({ chainId: CHAIN, height: 10, timeNanos: T0 + seconds(5), validators: vals, nextValidators: vals })
    expect(verdict(options(sameHeight))).toBe("NonIncreasingHeight")
  })

  it("needs strictly more than 2/3 of the power to sign", () => {
    const sorted = canonicalOrder(vals)
    const twoOfFour = buildLightBlock({ chainId: CHAIN, height: 11, timeNanos: T0 + seconds(5), validators: vals, nextValidators: vals, signers: sorted.slice(0, 2) })
    expect(verdict(options(twoOfFour))).toBe("InsufficientSignersOverlap")
    const three = makeValidators(3, "t")
    const rootOfThree = buildLightBlock({ chainId: CHAIN, height: 10, timeNanos: T0, validators: three, nextValidators: three })
    const exactlyTwoThirds = buildLightBlock({ chainId: CHAIN, height: 11, timeNanos: T0 + seconds(5), validators: three, nextValidators: three, signers: three.slice(0, 2) })
    expect(verdict({ ...options(exactlyTwoThirds), trusted: trustedOf(rootOfThree) })).toBe("InsufficientSignersOverlap")
  })

  it("counts each validator once: a second signature from one validator is rejected", () => {
    const sorted = canonicalOrder(vals)
    const threeSign = buildLightBlock({ chainId: CHAIN, height: 11, timeNanos: T0 + seconds(5), validators: vals, nextValidators: vals, signers: sorted.slice(0, 3) })
    // The absent slot is filled with a copy of the first signature: same size, a known signer, counted twice?
    const duplicated = withSignatures(threeSign, (s) => s.map((sig, i) => (i === 3 ? (s[0] ?? sig) : sig)))
    expect(verdict(options(duplicated))).toBe("DuplicateValidator")
  })

  it("stops checking signatures once > 2/3 is reached (a bad fourth signature does not change the verdict)", () => {
    // As CometBFT's VerifyCommitLight and tendermint-rs do: the verdict is about the quorum only.
    const lastBad = withSignatures(next, (s) => s.map((sig, i) => (i === 3 ? flipSignatureByte(sig, 0) : sig)))
    const r = verifyLightBlock(options(lastBad), nodeCryptoVerify)
    expect(Result.isSuccess(r) && r.success.signaturesChecked).toBe(3)
  })

  it("rejects commits that do not fit the validator set", () => {
    expect(verdict(options(withSignatures(next, (s) => s.slice(0, 3))))).toBe("MismatchPreCommitLength")
    const stranger = makeValidator("stranger")
    expect(verdict(options(withSignatures(next, (s) => s.map((sig, i) => (i === 0 ? { ...sig, validator_address: stranger.address } : sig)))))).toBe(
      "FaultySigner"
    )
    const absent = (sig: CommitSigJson): CommitSigJson => ({ ...sig, block_id_flag: 1, validator_address: "", signature: null })
    expect(verdict(options(withSignatures(next, (s) => s.map(absent))))).toBe("NoSignatureForCommit")
    const wrongHeight = { ...next, signed_header: { ...next.signed_header, commit: { ...next.signed_header.commit, height: "12" } } }
    expect(verdict(options(wrongHeight))).toBe("CommitHeightMismatch")
  })

  it("rejects a validator whose address is not derived from its key", () => {
    // Distinct powers fix the canonical order, so relabelling addresses keeps the set hash.
    const weighted = makeValidators(4, "w").map((v, i) => withPower(v, BigInt(100 - i)))
    const wRoot = buildLightBlock({ chainId: CHAIN, height: 10, timeNanos: T0, validators: weighted, nextValidators: weighted })
    const wNext = buildLightBlock({ chainId: CHAIN, height: 11, timeNanos: T0 + seconds(5), validators: weighted, nextValidators: weighted })
    const fake = "00".repeat(20)
    const real = weighted[0]?.address ?? ""
    const relabel = (set: LightBlock["validator_set"]) => ({ validators: (set.validators ?? []).map((v) => (v.address === real ? { ...v, address: fake } : v)) })
    const relabelled: LightBlock = {
      ...withSignatures(wNext, (s) => s.map((sig) => (sig.validator_address === real ? { ...sig, validator_address: fake } : sig))),
      validator_set: relabel(wNext.validator_set),
      next_validator_set: relabel(wNext.next_validator_set)
    }
    expect(verdict({ ...options(relabelled), trusted: trustedOf(wRoot) })).toBe("InvalidValidatorAddress")
  })

  it("rejects malformed input and options without throwing", () => {
    expect(verdict(options(withHeader(next, { validators_hash: "XYZ" })))).toBe("MalformedInput")
    expect(verdict(options(withHeader(next, { time: "2023-02-30T00:00:00Z" })))).toBe("MalformedInput")
    expect(verdict(options(withSignatures(next, (s) => s.map((sig, i) => (i === 0 ? { ...sig, signature: "not base64!" } : sig)))))).toBe("MalformedInput")
    expect(verdict(options({ ...next, signed_header: undefined } as unknown as LightBlock))).toBe("MalformedInput")
    expect(verdict(options(next, { trustLevel: { numerator: 1, denominator: 4 } }))).toBe("InvalidOptions")
    expect(verdict(options(next, { trustLevel: { numerator: 4, denominator: 3 } }))).toBe("InvalidOptions")
    expect(verdict(options(next, { now: "yesterday" }))).toBe("InvalidOptions")
    expect(verdict(options(next, { trustingPeriod: "-5" }))).toBe("InvalidOptions")
  })
})

describe("verifyLightBlock skipping (non-adjacent)", () => {
  // Root at 10 trusts `vals` next. Height 20 is signed by a set sharing some of them.
  const skipTo = (validators: ReturnType<typeof makeValidators>, signers = validators) =>
    buildLightBlock({ chainId: CHAIN, height: 20, timeNanos: T0 + seconds(50), validators, nextValidators: validators, signers })
  const sorted = canonicalOrder(vals)

  it("trusts a header signed by > 1/3 of the trusted validators and > 2/3 of its own", () => {
    const mixed = [...sorted.slice(0, 2), ...makeValidators(2, "new")]
    const r = verifyLightBlock(options(skipTo(mixed)), nodeCryptoVerify)
    if (Result.isFailure(r)) throw new Error(r.failure.message)
    expect(r.success.adjacent).toBe(false)
    expect(r.success.trustedSigners).toEqual({ tallied: 100n, total: 200n })
    // The two old validators are checked once and counted in both sets; the new set's count
    // stops after 3 of 4 (> 2/3), so only the new ones among its first 3 are checked on top.
    const newInFirstThree = canonicalOrder(mixed).slice(0, 3).filter((v) => !sorted.includes(v)).length
    expect(r.success.signaturesChecked).toBe(2 + newInFirstThree)
  })

  it("is NotEnoughTrust at exactly the trust level, and when nobody trusted signed", () => {
    const oneOld = [...sorted.slice(0, 1), ...makeValidators(3, "new")]
    expect(verdict(options(skipTo(oneOld)))).toBe("NotEnoughTrust")
    expect(verdict(options(skipTo(makeValidators(4, "new"))))).toBe("NotEnoughTrust")
    // 1 of 3 equal validators is exactly 1/3: not more than 1/3.
    const three = makeValidators(3, "t")
    const rootOfThree = buildLightBlock({ chainId: CHAIN, height: 10, timeNanos: T0, validators: three, nextValidators: three })
    const oneOfThree = [...three.slice(0, 1), ...makeValidators(2, "new")]
    expect(verdict({ ...options(skipTo(oneOfThree)), trusted: trustedOf(rootOfThree) })).toBe("NotEnoughTrust")
    // With trust level 1/2, half is not enough either; with 1/3 two of four are.
    const twoOld = [...sorted.slice(0, 2), ...makeValidators(2, "new")]
    expect(verdict(options(skipTo(twoOld), { trustLevel: { numerator: 1, denominator: 2 } }))).toBe("NotEnoughTrust")
  })

  it("reports NotEnoughTrust before a new set's lack of quorum, and Invalid for a bad signature either way", () => {
    const newOnes = makeValidators(4, "new")
    const weak = skipTo(newOnes, newOnes.slice(0, 1))
    expect(verdict(options(weak))).toBe("NotEnoughTrust")
    const strongTrust = [...sorted.slice(0, 3), ...makeValidators(3, "new")]
    const noQuorum = skipTo(strongTrust, sorted.slice(0, 3))
    expect(verdict(options(noQuorum))).toBe("InsufficientSignersOverlap")
  })

  it("rejects a trusted state whose next validator set does not match its header", () => {
    const mixed = [...sorted.slice(0, 2), ...makeValidators(2, "new")]
    const badTrusted = { ...trustedOf(root), next_validator_set: { validators: (next.validator_set.validators ?? []).slice(1) } }
    expect(verdict({ ...options(skipTo(mixed)), trusted: badTrusted })).toBe("InvalidTrustedNextValidatorSet")
  })
})
