/**
 * `causeway serve` with an EVM chain, as a child process: the --evm-* flags (and
 * EVM_RPC_URLS) turn the observer on against a real anvil, bad combinations are usage
 * errors (exit 2), and without them no chain is observed.
 */
import { afterAll, describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { cleanup, cli, lines, start, tempDir, waitForLine } from "../cli/support/cli.ts"
import { anvil } from "./support/Anvil.ts"

afterAll(cleanup)

describe("causeway serve --evm-*", () => {
  it("refuses flags that do not add up, with a usage error", async () => {
    const cases = [
      [["--evm-confirmations", "3"], /--evm-chain-id and --evm-confirmations need --evm-rpc/],
      [["--evm-rpc", "ftp://node"], /--evm-rpc "ftp:\/\/node" is not an http\(s\) URL/],
      [["--evm-rpc", "http://a, ,http://b,wss://c"], /--evm-rpc "wss:\/\/c" is not an http\(s\) URL/],
      [["--evm-rpc", "http://a", "--evm-confirmations", "300"], /--evm-confirmations 300 is not in 0\.\.255/]
    ] as const
    const runs = await Promise.all(cases.map(([args]) => cli(["serve", "--port", "0", "--data-dir", tempDir(), ...args])))
    runs.forEach((run, i) => {
      expect(run.code, run.stderr).toBe(2)
      expect(run.stderr).toMatch(cases[i]![1])
    })
  })

  it.live("follows the chain EVM_RPC_URLS names and serves it under /v1/chains", () =>
    Effect.gen(function*() {
      const node = yield* anvil()
      yield* Effect.promise(() => node.rpc("anvil_mine", ["0x3"]))
      const server = start(["serve", "--port", "0", "--data-dir", tempDir(), "--evm-chain-id", "anvil", "--evm-confirmations", "1"], {
        env: { EVM_RPC_URLS: node.url }
      })
      yield* Effect.addFinalizer(() => Effect.promise(() => server.stop("SIGTERM")))
      const line = yield* Effect.promise(() => waitForLine(server.child, server.stdout, (l) => l.includes("causeway serving")))
      const url = JSON.parse(line).annotations.url as string
      let chains: any = []
      for (let i = 0; i < 200 && chains[0]?.finalized?.height !== 2; i++) {
        chains = yield* Effect.promise(() => fetch(`${url}/v1/chains`).then((r) => r.json()))
        yield* Effect.sleep("25 millis")
      }
      expect(chains).toMatchObject([{ chain: "anvil", kind: "evm", latest: { height: 3 }, finalized: { height: 2 } }])
      const stopped = yield* Effect.promise(() => server.stop("SIGTERM"))
      expect(stopped.code).toBe(0)
      expect(lines(stopped.stdout).some((l) => l.includes("following a chain failed"))).toBe(false)
    }))
})
