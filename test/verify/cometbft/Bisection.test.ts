/**
 * verifyToHeight over a chain of light blocks signed by real Ed25519 keys whose validator
 * set is replaced in two steps, so that trusting the target directly from the root fails
 * (NotEnoughTrust) and bisection succeeds; and witnesses that agree, are down, lie with a
 * header nobody validly signed, or hold a conflicting header the validators double-signed.
 */
import { describe, expect, it } from "@effect/vitest"
import { Data, Effect, Result } from "effect"
import * as NodeCryptoCommitVerifier from "../../../src/adapters/cosmos/NodeCryptoCommitVerifier.ts"
import { type LightBlockProvider, verifyToHeight } from "../../../src/domain/verify/cometbft/CometBftBisection.ts"
import { verifyLightBlock } from "../../../src/domain/verify/cometbft/CometBftLightClient.ts"
import type { LightBlock } from "../../../src/domain/verify/cometbft/LightBlock.ts"
import { type TestValidator, buildLightBlock, makeValidators, seconds, trustedOf } from "./ChainBuilder.ts"
import { nodeCryptoVerify } from "./verifier.ts"

const CHAIN = "bisection-chain"
const T0 = seconds(1_700_000_000)
const timeAt = (height: number): bigint => T0 + seconds(10 * height)
const NOW = "2023-11-14T22:40:00Z" // T0 + 1600 s, after every block
const TRUSTING_PERIOD = String(seconds(24 * 3600))

// Validator sets by height: A for 1..3, M (half A, half B) for 4..5, B for 6..9.
const A = makeValidators(4, "a")
const B = makeValidators(4, "b")
const M = [...A.slice(0, 2), ...B.slice(0, 2)]
const setAt = (h: number): ReadonlyArray<TestValidator> => (h <= 3 ? A : h <= 5 ? M : B)

const block = (height: number, appHash = "00", signers?: ReadonlyArray<TestValidator>): LightBlock =>
  buildLightBlock({
    chainId: CHAIN,
    height,
    timeNanos: timeAt(height),
    validators: setAt(height),
    nextValidators: setAt(height + 1),
    appHash,
    ...(signers === undefined ? {} : { signers })
  })

const chain = new Map(Array.from({ length: 9 }, (_, i) => [i + 1, block(i + 1)] as const))
const rootHash = chain.get(1)?.signed_header.commit.block_id.hash ?? ""

class NoSuchBlock extends Data.TaggedError("NoSuchBlock")<{ readonly height: number }> {}

/** A provider over a map of blocks, recording the heights asked for. */
const provider = (blocks: ReadonlyMap<number, LightBlock>, asked: Array<number> = []): LightBlockProvider<NoSuchBlock> => (height) =>
  Effect.suspend(() => {
    asked.push(height)
    const b = blocks.get(height)
    return b === undefined ? Effect.fail(new NoSuchBlock({ height })) : Effect.succeed(b)
  })

const baseOptions = {
  trustedHeight: 1,
  trustedHash: rootHash,
  targetHeight: 9,
  now: NOW,
  trustingPeriod: TRUSTING_PERIOD,
  trustLevel: { numerator: 1, denominator: 3 },
  maxClockDrift: "0"
}

describe("verifyToHeight: bisection", () => {
  it("the fixture: skipping straight from 1 to 9 is NotEnoughTrust", () => {
    const root = chain.get(1)
    const target = chain.get(9)
    if (root === undefined || target === undefined) throw new Error("fixture")
    const r = verifyLightBlock(
      { trusted: trustedOf(root), untrusted: target, now: NOW, trustingPeriod: TRUSTING_PERIOD, maxClockDrift: "0" },
      nodeCryptoVerify
    )
    expect(Result.isFailure(r) && r.failure._tag).toBe("NotEnoughTrust")
  })

  it.effect("reaches 9 from 1 by bisecting through 5 (3 steps)", () =>
    Effect.gen(function* () {
      const asked: Array<number> = []
      const result = yield* verifyToHeight({ ...baseOptions, primary: provider(chain, asked) }, nodeCryptoVerify)
      expect(result.steps).toBe(3) // 1 -> 9 NotEnoughTrust, 1 -> 5 ok, 5 -> 9 ok
      expect(result.steps).toBeGreaterThan(1)
      expect(result.trace).toEqual([5, 9])
      expect(asked).toEqual([1, 9, 5])
      expect(result.verified.height).toBe(9)
      expect(result.verified.hash).toBe(chain.get(9)?.signed_header.commit.block_id.hash)
      expect(result.block).toBe(chain.get(9))
      expect(result.witnesses).toEqual([])
    })
  )

  it.effect("goes straight to the target when the trusted validators still sign it (1 step)", () =>
    Effect.gen(function* () {
      const result = yield* verifyToHeight({ ...baseOptions, targetHeight: 3, primary: provider(chain) }, nodeCryptoVerify)
      expect(result.steps).toBe(1)
      expect(result.trace).toEqual([3])
    })
  )

  it.effect("returns the root itself when the target is the trusted height", () =>
    Effect.gen(function* () {
      const result = yield* verifyToHeight({ ...baseOptions, targetHeight: 1, primary: provider(chain) }, nodeCryptoVerify)
      expect(result.steps).toBe(0)
      expect(result.trace).toEqual([])
    })
  )

  it.effect("gives the same trace, attack evidence and faulty-witness verdict through the batch verifier (both cores)", () =>
    Effect.gen(function* () {
      const batch = NodeCryptoCommitVerifier.make()
      const result = yield* verifyToHeight({ ...baseOptions, primary: provider(chain) }, nodeCryptoVerify, batch.verifyMany)
      expect([result.steps, result.trace, result.verified.hash]).toEqual([3, [5, 9], chain.get(9)?.signed_header.commit.block_id.hash])
      const forked = new Map(chain)
      for (const h of [5, 6, 7, 8, 9]) forked.set(h, block(h, "EE"))
      const attack = yield* Effect.flip(verifyToHeight({ ...baseOptions, primary: provider(chain), witnesses: [provider(forked)] }, nodeCryptoVerify, batch.verifyMany))
      expect(attack).toMatchObject({ _tag: "LightClientAttackDetected", evidence: { conflictingHeight: 5, commonHeight: 1 } })
      const lying = new Map(chain)
      lying.set(9, buildLightBlock({ chainId: CHAIN, height: 9, timeNanos: timeAt(9), validators: B, nextValidators: B, appHash: "DD", sign: () => new Uint8Array(64).fill(7) }))
      const checked = yield* verifyToHeight({ ...baseOptions, primary: provider(chain), witnesses: [provider(lying)] }, nodeCryptoVerify, batch.verifyMany)
      expect(checked.witnesses.map((w) => w.status)).toEqual(["faulty"])
      // A root signed by nobody valid is rejected on the batch path too.
      const badRoot = new Map(chain)
      badRoot.set(1, buildLightBlock({ chainId: CHAIN, height: 1, timeNanos: timeAt(1), validators: A, nextValidators: A, sign: () => new Uint8Array(64).fill(9) }))
      const rejected = yield* Effect.flip(verifyToHeight({ ...baseOptions, trustedHash: badRoot.get(1)?.signed_header.commit.block_id.hash ?? "", primary: provider(badRoot) }, nodeCryptoVerify, batch.verifyMany))
      expect(rejected).toMatchObject({ _tag: "TrustedRootRejected" })
      expect(rejected._tag === "TrustedRootRejected" && rejected.reason.startsWith("InvalidSignature")).toBe(true)
    })
  )

  it.effect("uses the default (noble) verifier when none is given", () =>
    Effect.gen(function* () {
      const result = yield* verifyToHeight({ ...baseOptions, primary: provider(chain) })
      expect(result.trace).toEqual([5, 9])
    })
  )

  it.effect("rejects a root whose hash is not the trusted hash", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(verifyToHeight({ ...baseOptions, trustedHash: "AB".repeat(32), primary: provider(chain) }, nodeCryptoVerify))
      expect(error._tag).toBe("TrustedRootRejected")
      // The same hash in lowercase is the same hash.
      const ok = yield* verifyToHeight({ ...baseOptions, trustedHash: rootHash.toLowerCase(), primary: provider(chain) }, nodeCryptoVerify)
      expect(ok.trace).toEqual([5, 9])
    })
  )

  it.effect("fails Invalid when the primary forges an intermediate block", () =>
    Effect.gen(function* () {
      // The pivot at 5 carries signatures that are not M's: they do not verify.
      const forged = new Map(chain)
      const bad5 = buildLightBlock({ chainId: CHAIN, height: 5, timeNanos: timeAt(5), validators: M, nextValidators: B, sign: (_sk, msg) => new Uint8Array(64).fill(msg.length) })
      forged.set(5, bad5)
      const error = yield* Effect.flip(verifyToHeight({ ...baseOptions, primary: provider(forged) }, nodeCryptoVerify))
      expect(error).toMatchObject({ _tag: "InvalidLightBlock", reason: "InvalidSignature" })
    })
  )

  it.effect("fails Invalid when the primary answers with another height", () =>
    Effect.gen(function* () {
      const wrong = new Map(chain)
      const eight = chain.get(8)
      if (eight === undefined) throw new Error("fixture")
      wrong.set(9, eight)
      const error = yield* Effect.flip(verifyToHeight({ ...baseOptions, primary: provider(wrong) }, nodeCryptoVerify))
      expect(error).toMatchObject({ _tag: "InvalidLightBlock", reason: "UnexpectedHeight" })
    })
  )

  it.effect("passes the primary's own errors through", () =>
    Effect.gen(function* () {
      const missing = new Map(chain)
      missing.delete(5)
      const error = yield* Effect.flip(verifyToHeight({ ...baseOptions, primary: provider(missing) }, nodeCryptoVerify))
      expect(error).toBeInstanceOf(NoSuchBlock)
    })
  )

  it.effect("fails NotWithinTrustPeriod when the root has expired", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(verifyToHeight({ ...baseOptions, trustingPeriod: String(seconds(60)), primary: provider(chain) }, nodeCryptoVerify))
      expect(error).toMatchObject({ _tag: "InvalidLightBlock", reason: "NotWithinTrustPeriod" })
    })
  )
})

describe("verifyToHeight: witnesses", () => {
  it.effect("reports agreeing and unavailable witnesses", () =>
    Effect.gen(function* () {
      const asked: Array<number> = []
      const result = yield* verifyToHeight(
        { ...baseOptions, primary: provider(chain), witnesses: [provider(chain, asked), provider(new Map())] },
        nodeCryptoVerify
      )
      expect(result.witnesses.map((w) => w.status)).toEqual(["agreed", "unavailable"])
      expect(asked).toEqual([9]) // an agreeing witness is asked for the target only
    })
  )

  it.effect("detects a light-client attack: the witness holds a conflicting header the validators double-signed", () =>
    Effect.gen(function* () {
      const forked = new Map(chain)
      const conflicting = block(9, "FF") // another app hash at 9, signed by B's real keys
      forked.set(9, conflicting)
      const error = yield* Effect.flip(verifyToHeight({ ...baseOptions, primary: provider(chain), witnesses: [provider(chain), provider(forked)] }, nodeCryptoVerify))
      if (error._tag !== "LightClientAttackDetected") throw new Error(`expected attack evidence, got ${error._tag}`)
      expect(error.evidence).toMatchObject({
        witnessIndex: 1,
        conflictingHeight: 9,
        commonHeight: 5,
        primaryHash: chain.get(9)?.signed_header.commit.block_id.hash,
        witnessHash: conflicting.signed_header.commit.block_id.hash
      })
      expect(error.evidence.primaryHash).not.toBe(error.evidence.witnessHash)
      expect(error.evidence.witnessBlock).toBe(conflicting)
    })
  )

  it.effect("finds the fork point below the target when the witness's chain diverges earlier", () =>
    Effect.gen(function* () {
      // The witness's chain differs from height 5 on (validly signed by M, then B).
      const forked = new Map(chain)
      for (const h of [5, 6, 7, 8, 9]) forked.set(h, block(h, "EE"))
      const error = yield* Effect.flip(verifyToHeight({ ...baseOptions, primary: provider(chain), witnesses: [provider(forked)] }, nodeCryptoVerify))
      expect(error).toMatchObject({ _tag: "LightClientAttackDetected", evidence: { conflictingHeight: 5, commonHeight: 1 } })
    })
  )

  it.effect("reports a witness whose conflicting header is not validly signed as faulty, and trusts the primary", () =>
    Effect.gen(function* () {
      const lying = new Map(chain)
      const fake = buildLightBlock({
        chainId: CHAIN,
        height: 9,
        timeNanos: timeAt(9),
        validators: B,
        nextValidators: B,
        appHash: "DD",
        sign: (_sk, msg) => new Uint8Array(64).fill(msg.length & 0xff)
      })
      lying.set(9, fake)
      const result = yield* verifyToHeight({ ...baseOptions, primary: provider(chain), witnesses: [provider(lying), provider(chain)] }, nodeCryptoVerify)
      expect(result.witnesses.map((w) => w.status)).toEqual(["faulty", "agreed"])
      expect(result.witnesses[0]?.detail).toContain("InvalidSignature")
      expect(result.trace).toEqual([5, 9])
    })
  )
})
