/**
 * The public `causeway/verify` entry, imported by package self-reference (the package's
 * `exports` map, resolved through the `causeway-source` condition inside this repository),
 * run on one third-party vector per function, and on a mutation of it that must fail.
 */
import { readFileSync } from "node:fs"
import path from "node:path"
import { describe, expect, it } from "vitest"
import {
  type LightBlock,
  type TrustedLightBlock,
  verifyEip1186Proof,
  verifyGroth16,
  verifyIcs23Membership,
  verifyIcs23NonMembership,
  verifyLightBlock,
  verifyToHeight
} from "causeway/verify"

const VECTORS = path.resolve(import.meta.dirname, "../vectors")
const readJson = (relative: string): unknown => JSON.parse(readFileSync(path.join(VECTORS, relative), "utf8"))

interface Step {
  readonly block: LightBlock
  readonly now: string
  readonly verdict: "SUCCESS" | "NOT_ENOUGH_TRUST" | "INVALID"
}
interface SingleStep {
  readonly initial: TrustedLightBlock & { readonly trusting_period: string; readonly now: string }
  readonly input: ReadonlyArray<Step>
}
const singleStep = (name: string): SingleStep =>
  readJson(`cometbft-light-client/tendermint-rs/model_based/single_step/${name}`) as SingleStep

const stepAt = (file: SingleStep, index: number): Step => {
  const step = file.input[index]
  if (step === undefined) throw new Error(`no step ${index}`)
  return step
}

// Flip one hex digit of a signature-free field: the block no longer hashes to its commit.
const withAppHash = (block: LightBlock, appHash: string): LightBlock => ({
  ...block,
  signed_header: { ...block.signed_header, header: { ...block.signed_header.header, app_hash: appHash } }
})

describe("causeway/verify (package self-reference)", () => {
  it("verifyLightBlock: NOT_ENOUGH_TRUST then SUCCESS as the vector says, and a forged header is invalid", () => {
    const file = singleStep("MC4_4_faulty_TestHalfValsetChangesVerdictNotEnoughTrust.json")
    const options = (step: Step) => ({
      trusted: file.initial,
      untrusted: step.block,
      now: step.now,
      trustingPeriod: file.initial.trusting_period,
      trustLevel: { numerator: 1, denominator: 3 },
      maxClockDrift: "0"
    })
    const [first, second] = [stepAt(file, 0), stepAt(file, 1)]
    expect([first.verdict, second.verdict]).toEqual(["NOT_ENOUGH_TRUST", "SUCCESS"])
    const skip = verifyLightBlock(options(first))
    expect(skip._tag === "Failure" && skip.failure._tag).toBe("NotEnoughTrust")
    const adjacent = verifyLightBlock(options(second))
    expect(adjacent._tag === "Success" && adjacent.success.height).toBe(2)
    const forged = verifyLightBlock(options({ ...second, block: withAppHash(second.block, "AA".repeat(32)) }))
    expect(forged._tag === "Failure" && forged.failure._tag === "InvalidLightBlock" && forged.failure.reason).toBe("InvalidCommitValue")
  })

  it("verifyToHeight: bisects from the vector's root to height 3 through plain Promise providers", async () => {
    const file = singleStep("MC4_4_faulty_TestHalfValsetChangesVerdictNotEnoughTrust.json")
    // The root's validator set is its next set (the header says so: both hashes are equal).
    const header = file.initial.signed_header.header
    expect(header.validators_hash).toBe(header.next_validators_hash)
    const blocks = new Map<number, LightBlock>([[1, { ...file.initial, validator_set: file.initial.next_validator_set }]])
    for (const step of file.input) blocks.set(Number(step.block.signed_header.header.height), step.block)
    const asked: Array<number> = []
    const primary = async (height: number): Promise<LightBlock> => {
      asked.push(height)
      const block = blocks.get(height)
      if (block === undefined) throw new Error(`no block ${height}`)
      return block
    }
    const input = {
      trustedHeight: 1,
      trustedHash: file.initial.signed_header.commit.block_id.hash,
      targetHeight: 3,
      primary,
      witnesses: [(height: number) => blocks.get(height) ?? Promise.reject(new Error("down"))],
      now: stepAt(file, 2).now,
      trustingPeriod: file.initial.trusting_period,
      trustLevel: { numerator: 1, denominator: 3 }
    }
    const result = await verifyToHeight(input)
    if (result._tag === "Failure") throw new Error(`expected success, got ${result.failure._tag}`)
    expect(result.success.block.signed_header.commit.block_id.hash).toBe(stepAt(file, 2).block.signed_header.commit.block_id.hash)
    expect(result.success.trace.at(-1)).toBe(3)
    expect(result.success.steps).toBeGreaterThanOrEqual(1)
    expect(result.success.witnesses.map((w) => w.status)).toEqual(["agreed"])
    expect(asked.slice(0, 2)).toEqual([1, 3])

    const wrongRoot = await verifyToHeight({ ...input, trustedHash: "00".repeat(32) })
    expect(wrongRoot._tag === "Failure" && wrongRoot.failure._tag).toBe("TrustedRootRejected")
    const down = await verifyToHeight({ ...input, primary: () => Promise.reject(new Error("connection refused")) })
    expect(down._tag === "Failure" && down.failure._tag).toBe("LightBlockSourceFailed")
  })

  it("verifyIcs23Membership / verifyIcs23NonMembership: the IAVL vectors, and a forged value fails", () => {
    const exist = readJson("ics23/iavl/exist_middle.json") as { key: string; value: string; proof: string; root: string }
    expect(verifyIcs23Membership("iavl", exist.root, exist.proof, exist.key, exist.value)).toBe(true)
    expect(verifyIcs23Membership("iavl", exist.root, exist.proof, exist.key, `${exist.value}00`)).toBe(false)
    const absent = readJson("ics23/iavl/nonexist_middle.json") as { key: string; proof: string; root: string }
    expect(verifyIcs23NonMembership("iavl", absent.root, absent.proof, absent.key)).toBe(true)
    const otherRoot = `${absent.root.slice(0, -2)}${absent.root.endsWith("00") ? "01" : "00"}`
    expect(verifyIcs23NonMembership("iavl", otherRoot, absent.proof, absent.key)).toBe(false)
  })

  it("verifyEip1186Proof: an execution-apis eth_getProof case with storage, and a forged storage value fails", () => {
    const cases = (readJson("eth-getproof/cases.json") as { cases: ReadonlyArray<{ name: string; stateRoot: string; proof: { storageProof: ReadonlyArray<{ value: string }> } }> }).cases
    const withStorage = cases.find((c) => c.name === "execution-apis/get-account-proof-with-storage")
    if (withStorage === undefined) throw new Error("vector missing")
    const ok = verifyEip1186Proof(withStorage.stateRoot, withStorage.proof)
    expect(ok._tag === "Success" && ok.success.accountExists).toBe(true)
    const forged = {
      ...withStorage.proof,
      storageProof: withStorage.proof.storageProof.map((s) => ({ ...s, value: s.value === "0x1" ? "0x2" : "0x1" }))
    }
    const bad = verifyEip1186Proof(withStorage.stateRoot, forged)
    expect(bad._tag).toBe("Failure")
  })

  it("verifyGroth16: a snarkjs proof from the groth16 vectors verifies, the same with a changed public and a BLS12-381 key fail typed", () => {
    const cases = readJson("groth16/cases.json") as ReadonlyArray<{ name: string; vk: unknown; proof: unknown; publicSignals: ReadonlyArray<string> }>
    const byName = (name: string) => {
      const c = cases.find((x) => x.name === name)
      if (c === undefined) throw new Error(`vector ${name} missing`)
      return c
    }
    const poseidon = byName("co-snarks/bn254-poseidon")
    expect(verifyGroth16(poseidon.vk, poseidon.proof, poseidon.publicSignals)).toMatchObject({ _tag: "Success", success: { publicSignals: poseidon.publicSignals } })
    const [signal = ""] = poseidon.publicSignals
    const changed = verifyGroth16(poseidon.vk, poseidon.proof, [signal.endsWith("1") ? `${signal.slice(0, -1)}2` : `${signal.slice(0, -1)}1`])
    expect(changed._tag === "Failure" && changed.failure._tag).toBe("PairingCheckFailed")
    const bls = byName("co-snarks/bls12-381-poseidon")
    const refused = verifyGroth16(bls.vk, bls.proof, bls.publicSignals)
    expect(refused._tag === "Failure" && refused.failure).toMatchObject({ _tag: "UnsupportedCurve", curve: "bls12381" })
  })
})
