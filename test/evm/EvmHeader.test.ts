/**
 * EVM header hashing against third-party data: the Prague block of ethereum/execution-apis
 * (test/vectors/eth-getproof/execution-apis) hashes to the hash its node served, and
 * the eth_getProof cases recorded at that block verify against the stateRoot of the header
 * verified here: the chain of trust the observer builds, from header fields to proofs.
 */
import { readFileSync } from "node:fs"
import path from "node:path"
import { describe, expect, it } from "@effect/vitest"
import { Result } from "effect"
import { FORK_FIELDS, verifyEvmHeader } from "../../src/domain/chain/EvmHeader.ts"
import { verifyEip1186Proof } from "../../src/domain/verify/Eip1186.ts"

const dir = path.resolve(import.meta.dirname, "../vectors/eth-getproof")
const io = readFileSync(`${dir}/execution-apis/eth_getBlockByNumber-get-latest.io`, "utf8")
const block = JSON.parse(io.split("\n").find((l) => l.startsWith("<< "))!.slice(3)).result as Record<string, string>
const cases = JSON.parse(readFileSync(`${dir}/cases.json`, "utf8")).cases as ReadonlyArray<{
  name: string
  block?: { hash: string }
  proof: unknown
  expected: { valid: boolean }
}>

describe("verifyEvmHeader", () => {
  it("recomputes the hash of the execution-apis Prague block from its fields", () => {
    const checked = verifyEvmHeader(block)
    if (Result.isFailure(checked)) throw new Error(JSON.stringify(checked.failure))
    expect(checked.success).toEqual({
      height: 0x36,
      hash: block.hash!.slice(2),
      parentHash: block.parentHash!.slice(2),
      stateRoot: block.stateRoot!.slice(2),
      time: 0x21c * 1000
    })
  })

  it("refuses a claimed hash its fields do not hash to, whichever field changed", () => {
    for (const field of ["parentHash", "stateRoot", "receiptsRoot", "timestamp", "extraData", ...FORK_FIELDS.map(([f]) => f)]) {
      const value = block[field]!
      const changed = value === "0x" ? "0x01" : value.startsWith("0x") && value.length === 66 ? `0x${"ab".repeat(32)}` : `${value}1`
      const result = verifyEvmHeader({ ...block, [field]: changed })
      expect(Result.isFailure(result) && result.failure._tag, field).toBe("EvmHeaderHashMismatch")
    }
    // Leaving out a field the node hashed changes the hash too.
    const { requestsHash: _, ...withoutRequests } = block
    expect(Result.isFailure(verifyEvmHeader(withoutRequests))).toBe(true)
  })

  it("refuses malformed headers with a reason", () => {
    for (const bad of [null, {}, { ...block, stateRoot: "0x12" }, { ...block, number: "12" }, { ...block, logsBloom: "0x00" }]) {
      const result = verifyEvmHeader(bad)
      expect(Result.isFailure(result) && result.failure._tag).toBe("MalformedEvmHeader")
    }
  })

  it("verifies the execution-apis eth_getProof cases against the stateRoot of the verified header", () => {
    const header = verifyEvmHeader(block)
    if (Result.isFailure(header)) throw new Error("header")
    const atBlock = cases.filter((c) => c.block?.hash === block.hash)
    expect(atBlock.length).toBe(4)
    for (const c of atBlock) expect(Result.isSuccess(verifyEip1186Proof(`0x${header.success.stateRoot}`, c.proof)), c.name).toBe(c.expected.valid)
  })
})
