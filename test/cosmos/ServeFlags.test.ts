/**
 * `causeway serve --cosmos-*` (and the COSMOS_* environment): off by default, and a usage
 * error (exit 2) when the flags do not describe one chain with a root of trust.
 */
import { Option, Result } from "effect"
import { describe, expect, it } from "vitest"
import { cosmosConfig } from "../../src/cli/ServeCommand.ts"
import { cli } from "../cli/support/cli.ts"

const HASH = "ab".repeat(32)
const flags = (over: Partial<Record<"rpc" | "chainId" | "trustedHash" | "witnesses", string>> & { trustedHeight?: number } = {}) => ({
  rpc: Option.fromUndefinedOr(over.rpc),
  chainId: Option.fromUndefinedOr(over.chainId),
  trustedHeight: Option.fromUndefinedOr(over.trustedHeight),
  trustedHash: Option.fromUndefinedOr(over.trustedHash),
  witnesses: Option.fromUndefinedOr(over.witnesses)
})

describe("serve --cosmos-* flags", () => {
  it("are off without --cosmos-rpc, and complete with it", () => {
    expect(cosmosConfig(flags())).toEqual(Result.succeed(undefined))
    const full = cosmosConfig(flags({ rpc: "http://127.0.0.1:26657", chainId: "cosmoshub-4", trustedHeight: 12, trustedHash: `0x${HASH}`, witnesses: "https://a.example/rpc, http://b.example:26657" }))
    expect(full).toEqual(
      Result.succeed({
        rpc: "http://127.0.0.1:26657",
        chainId: "cosmoshub-4",
        trustedHeight: 12,
        trustedHash: HASH.toUpperCase(),
        witnesses: ["https://a.example/rpc", "http://b.example:26657"]
      })
    )
  })

  it.each([
    [{ chainId: "x" }, /need --cosmos-rpc/],
    [{ rpc: "ftp://x", chainId: "c", trustedHeight: 1, trustedHash: HASH }, /not an http\(s\) URL/],
    [{ rpc: "http://x", trustedHeight: 1, trustedHash: HASH }, /--cosmos-chain-id is required/],
    [{ rpc: "http://x", chainId: "c", trustedHash: HASH }, /--cosmos-trusted-height is required/],
    [{ rpc: "http://x", chainId: "c", trustedHeight: 0, trustedHash: HASH }, /--cosmos-trusted-height is required/],
    [{ rpc: "http://x", chainId: "c", trustedHeight: 3, trustedHash: "abc" }, /--cosmos-trusted-hash is required/],
    [{ rpc: "http://x", chainId: "c", trustedHeight: 3, trustedHash: HASH, witnesses: "http://ok,nope" }, /--cosmos-witness "nope"/]
  ] as const)("refuses %j", (over, message) => {
    const r = cosmosConfig(flags(over))
    expect(Result.isFailure(r) && r.failure).toMatch(message)
  })

  it("the CLI lists them, and exits 2 when they do not add up (flags or environment)", async () => {
    const [help, flagged, fromEnv] = await Promise.all([
      cli(["serve", "--help"]),
      cli(["serve", "--port", "0", "--cosmos-rpc", "http://127.0.0.1:1", "--cosmos-trusted-height", "5"]),
      cli(["serve", "--port", "0"], { env: { COSMOS_RPC: "http://127.0.0.1:1", COSMOS_CHAIN_ID: "c", COSMOS_TRUSTED_HEIGHT: "5", COSMOS_TRUSTED_HASH: "zz" } })
    ])
    for (const flag of ["--cosmos-rpc", "--cosmos-chain-id", "--cosmos-trusted-height", "--cosmos-trusted-hash", "--cosmos-witness", "env COSMOS_RPC"]) {
      expect(help.stdout).toContain(flag)
    }
    expect(flagged.code).toBe(2)
    expect(flagged.stderr).toContain("--cosmos-chain-id is required")
    expect(fromEnv.code).toBe(2)
    expect(fromEnv.stderr).toContain("--cosmos-trusted-hash is required")
  })
})
