/**
 * tendermint-rs's model-based single-step vectors (41 files, 99 steps) and its header-hash
 * vector, per test/vectors/cometbft-light-client/README.txt: trust level 1/3, clock drift
 * 0, each step with its own `now`, the trusted state advancing only after SUCCESS.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Result } from "effect"
import * as NodeCryptoCommitVerifier from "../../../src/adapters/cosmos/NodeCryptoCommitVerifier.ts"
import {
  type VerifySignature,
  headerHash,
  nobleEd25519Verify,
  verifyLightBlock,
  verifyLightBlockBatch
} from "../../../src/domain/verify/cometbft/CometBftLightClient.ts"
import type { TrustedLightBlock } from "../../../src/domain/verify/cometbft/LightBlock.ts"
import { nodeCryptoVerify } from "./verifier.ts"
import { headerHashVector, singleStepFiles } from "./vectors.ts"

const files = singleStepFiles()

type Verdict = "SUCCESS" | "NOT_ENOUGH_TRUST" | "INVALID"

/** Runs every step of a file and returns the verdicts (and the reason of each Invalid). */
const runFile = (file: (typeof files)[number]["file"], verify: VerifySignature) => {
  let trusted: TrustedLightBlock = { signed_header: file.initial.signed_header, next_validator_set: file.initial.next_validator_set }
  return file.input.map((step) => {
    const result = verifyLightBlock(
      {
        trusted,
        untrusted: step.block,
        now: step.now,
        trustingPeriod: file.initial.trusting_period,
        trustLevel: { numerator: 1, denominator: 3 },
        maxClockDrift: "0"
      },
      verify
    )
    if (Result.isSuccess(result)) {
      trusted = { signed_header: step.block.signed_header, next_validator_set: step.block.next_validator_set }
      return { verdict: "SUCCESS" as Verdict, reason: "" }
    }
    const failure = result.failure
    return failure._tag === "NotEnoughTrust"
      ? { verdict: "NOT_ENOUGH_TRUST" as Verdict, reason: "" }
      : { verdict: "INVALID" as Verdict, reason: failure.reason }
  })
}

describe("CometBFT light client: tendermint-rs single-step vectors", () => {
  it("has 41 files, 99 steps: 44 SUCCESS, 42 NOT_ENOUGH_TRUST, 13 INVALID", () => {
    const verdicts = files.flatMap(({ file }) => file.input.map((s) => s.verdict))
    expect(files.length).toBe(41)
    expect(verdicts.length).toBe(99)
    expect(verdicts.filter((v) => v === "SUCCESS").length).toBe(44)
    expect(verdicts.filter((v) => v === "NOT_ENOUGH_TRUST").length).toBe(42)
    expect(verdicts.filter((v) => v === "INVALID").length).toBe(13)
  })

  for (const { name, file } of files) {
    it(`${name} (node:crypto)`, () => {
      const got = runFile(file, nodeCryptoVerify)
      expect(got.map((g) => g.verdict)).toEqual(file.input.map((s) => s.verdict))
      // An Invalid verdict must come from a verification rule, never from failing to read the vector.
      for (const g of got) expect(g.reason).not.toBe("MalformedInput")
    })
  }

  it("gives the same 99 verdicts with the default (noble) verifier", () => {
    let steps = 0
    for (const { file } of files) {
      expect(runFile(file, nobleEd25519Verify).map((g) => g.verdict)).toEqual(file.input.map((s) => s.verdict))
      steps += file.input.length
    }
    expect(steps).toBe(99)
  })

  it.effect("gives the same 99 verdicts and reasons through the batch path (both cores, NodeCryptoCommitVerifier)", () =>
    Effect.gen(function* () {
      const verifier = NodeCryptoCommitVerifier.make()
      let steps = 0
      for (const { name, file } of files) {
        let trusted: TrustedLightBlock = { signed_header: file.initial.signed_header, next_validator_set: file.initial.next_validator_set }
        const got: Array<{ verdict: Verdict; reason: string }> = []
        for (const step of file.input) {
          const result = yield* Effect.result(
            verifyLightBlockBatch(
              { trusted, untrusted: step.block, now: step.now, trustingPeriod: file.initial.trusting_period, trustLevel: { numerator: 1, denominator: 3 }, maxClockDrift: "0" },
              verifier.verifyMany
            )
          )
          if (Result.isSuccess(result)) {
            trusted = { signed_header: step.block.signed_header, next_validator_set: step.block.next_validator_set }
            got.push({ verdict: "SUCCESS", reason: "" })
          } else {
            const failure = result.failure
            got.push(failure._tag === "NotEnoughTrust" ? { verdict: "NOT_ENOUGH_TRUST", reason: "" } : { verdict: "INVALID", reason: failure.reason })
          }
        }
        expect([name, got]).toEqual([name, runFile(file, nodeCryptoVerify)])
        expect(got.map((g) => g.verdict)).toEqual(file.input.map((s) => s.verdict))
        steps += got.length
      }
      expect(steps).toBe(99)
    })
  )

  it("gives the same verdicts with the default verifier argument", () => {
    const { file } = files.find((f) => f.name === "MC4_4_faulty_TestSuccess.json") ?? { file: undefined }
    if (file === undefined) throw new Error("vector file missing")
    const step = file.input[0]
    if (step === undefined) throw new Error("vector step missing")
    const result = verifyLightBlock({
      trusted: { signed_header: file.initial.signed_header, next_validator_set: file.initial.next_validator_set },
      untrusted: step.block,
      now: step.now,
      trustingPeriod: file.initial.trusting_period,
      maxClockDrift: "0"
    })
    expect(Result.isFailure(result) ? result.failure._tag : "SUCCESS").toBe(step.verdict === "NOT_ENOUGH_TRUST" ? "NotEnoughTrust" : step.verdict)
  })
})

describe("CometBFT header hash: tendermint-rs header_with_known_hash", () => {
  it("hashes to the known hash", () => {
    const vector = headerHashVector()
    expect(headerHash(vector.header)).toEqual(Result.succeed(vector.expected_hash))
  })

  it("changes when any field changes", () => {
    const vector = headerHashVector()
    const header = vector.header
    for (const [field, value] of [
      ["chain_id", "dockerchain2"],
      ["height", "1609"],
      ["time", "2020-09-14T16:33:54.211914211Z"],
      ["app_hash", "0000000000000001"],
      ["proposer_address", "C8657A30D20C3BAD414624A1A963373DD500CCD4"]
    ] as const) {
      const changed = headerHash({ ...header, [field]: value })
      expect(Result.isSuccess(changed) && changed.success !== vector.expected_hash, field).toBe(true)
    }
  })
})
