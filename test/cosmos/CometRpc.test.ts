/**
 * The in-process CometBFT RPC server, as cosmjs sees it: cosmjs decodes every answer, and
 * the adapter's conversion back to RPC JSON is lossless — the light blocks it assembles
 * (commit + paginated validators) hash exactly as the blocks the chain built, and verify.
 */
import { Effect, Result } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import * as CometRpc from "../../src/adapters/cosmos/CometRpc.ts"
import { headerHash, validatorSetHash, verifyLightBlock } from "../../src/domain/verify/cometbft/CometBftLightClient.ts"
import { makeValidators, seconds, trustedOf } from "../verify/cometbft/ChainBuilder.ts"
import { type CometBftRpcServer, startCometBftRpcServer } from "./support/CometBftRpcServer.ts"
import { TestChain } from "./support/TestChain.ts"

const big = makeValidators(64, "p")
const small = makeValidators(4, "s")
const enc = (s: string) => new TextEncoder().encode(s)
const hex = (b: Uint8Array) => Buffer.from(b).toString("hex")

let server: CometBftRpcServer
let chain: TestChain

beforeAll(async () => {
  chain = new TestChain({
    chainId: "rpc-test",
    genesisTimeNanos: seconds(1_700_000_000) + 123_456_789n,
    validatorsAt: (h) => (h <= 3 ? small : big),
    genesisState: new Map([["bank", new Map([[hex(enc("alice")), enc("100")]])]])
  })
  chain.produceBlocks(5)
  server = await startCometBftRpcServer(chain)
})
afterAll(() => server.close())

const run = <A, E>(e: Effect.Effect<A, E>) => Effect.runPromise(e)

describe("CometRpc over the in-process server", () => {
  const rpc = () => CometRpc.make(server.url, { timeoutMs: 5_000 })

  it("reads the latest height and assembles light blocks that hash like the chain's own (64 validators: two pages)", async () => {
    expect(await run(rpc().latestHeight)).toBe(5)
    for (let h = 1; h <= 5; h++) {
      const served = await run(rpc().lightBlock(h))
      const built = chain.block(h)?.light
      if (built === undefined) throw new Error("missing")
      expect(Result.getOrThrow(headerHash(served.signed_header.header))).toBe(built.signed_header.commit.block_id.hash)
      expect(served.signed_header.commit.block_id.hash).toBe(built.signed_header.commit.block_id.hash)
      expect(served.signed_header.header.time).toMatch(/\.123456789Z$/)
      expect(Result.getOrThrow(validatorSetHash(served.validator_set))).toBe(built.signed_header.header.validators_hash)
      expect(Result.getOrThrow(validatorSetHash(served.next_validator_set))).toBe(built.signed_header.header.next_validators_hash)
    }
    const pages = server.calls.filter((c) => c.method === "validators" && c.params["height"] === "5").map((c) => c.params["page"])
    expect(new Set(pages)).toEqual(new Set(["1", "2"]))
  })

  it("served light blocks verify, adjacent across the validator-set change", async () => {
    for (let h = 1; h < 5; h++) {
      const trusted = await run(rpc().lightBlock(h))
      const untrusted = await run(rpc().lightBlock(h + 1))
      const verdict = verifyLightBlock({ trusted: trustedOf(trusted), untrusted, now: "2023-11-15T00:00:00Z", trustingPeriod: String(seconds(86_400)) })
      expect(Result.isSuccess(verdict)).toBe(true)
    }
  })

  it("a height past the tip is a not-found error; a stopped node an error that is not", async () => {
    const past = await run(Effect.flip(rpc().lightBlock(9)))
    expect(past.notFound).toBe(true)
    server.down = true
    try {
      const down = await run(Effect.flip(CometRpc.make(server.url, { timeoutMs: 5_000 }).latestHeight))
      expect(down.notFound).toBe(false)
    } finally {
      server.down = false
    }
  })

  it("answers abci_query with proof ops and broadcast_tx_sync with the hash", async () => {
    const answer = await run(rpc().query("/store/bank/key", enc("alice"), 3))
    expect(answer.code).toBe(0)
    expect(new TextDecoder().decode(answer.value)).toBe("100")
    expect(answer.height).toBe(3)
    expect(answer.ops.map((o) => o.type)).toEqual(["ics23:iavl", "ics23:simple"])
    const sent = await run(rpc().broadcastTxSync(enc("color=blue")))
    expect(sent.code).toBe(0)
    expect(sent.hash).toHaveLength(64)
    expect(chain.mempool).toHaveLength(1)
  })
})
