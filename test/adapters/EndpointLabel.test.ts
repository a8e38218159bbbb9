/**
 * RPC endpoints are named by scheme and host only in errors and logs (docs/security.md): an
 * operator's URL may hold an API key in its path, query or user info, and error reasons reach
 * anonymous HTTP callers. Checked on the helpers and on the EVM and CometBFT adapters' real
 * failures against a port nothing listens on.
 */
import { createServer } from "node:net"
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import * as CometRpc from "../../src/adapters/cosmos/CometRpc.ts"
import * as EvmRpcPool from "../../src/adapters/evm/EvmRpcPool.ts"
import { endpointLabel, scrubEndpoint } from "../../src/adapters/rpc/EndpointLabel.ts"

const closedPort = () =>
  new Promise<number>((resolve) => {
    const s = createServer()
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port
      s.close(() => resolve(port))
    })
  })

describe("RPC endpoint labels", () => {
  it("keep scheme and host, drop user info, path and query; quoted URLs are scrubbed", () => {
    expect(endpointLabel("https://user:pw@eth.example.org:8545/v2/SECRET?key=SECRET2")).toBe("https://eth.example.org:8545")
    expect(endpointLabel("not a url")).toBe("an endpoint")
    const url = "https://eth.example.org/v2/SECRET"
    expect(scrubEndpoint(`request to ${url} failed; URL: ${url}/ (details)`, url)).toBe("request to https://eth.example.org failed; URL: https://eth.example.org/ (details)")
  })

  it.effect("an unreachable EVM endpoint's error names its host, never its key", () =>
    Effect.gen(function*() {
      const port = yield* Effect.promise(closedPort)
      const url = `http://127.0.0.1:${port}/v2/SECRETKEY123?apikey=SECRETQUERY`
      const pool = EvmRpcPool.make({ chain: "evm", urls: [url], timeoutMs: 2_000, retryCount: 0 })
      const e = yield* Effect.flip(pool.header("latest"))
      expect(e.detail).toContain(`http://127.0.0.1:${port}`)
      expect(e.detail).not.toMatch(/SECRET/)
      expect(e.message ?? "").not.toMatch(/SECRET/)
    }))

  it.effect("an unreachable CometBFT node's error names its host, never its key", () =>
    Effect.gen(function*() {
      const port = yield* Effect.promise(closedPort)
      const rpc = CometRpc.make(`http://127.0.0.1:${port}/SECRETKEY456/`, { timeoutMs: 2_000 })
      expect(rpc.endpoint).toBe(`http://127.0.0.1:${port}`)
      const e = yield* Effect.flip(rpc.latestHeight)
      expect(e.endpoint).toBe(`http://127.0.0.1:${port}`)
      expect(String(e.cause instanceof Error ? e.cause.message : e.cause)).not.toMatch(/SECRET/)
    }))
})
