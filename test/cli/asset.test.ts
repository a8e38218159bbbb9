/**
 * `causeway asset resolve` against a real `causeway serve` child (mappings registered over
 * its HTTP API), by --url and by CAUSEWAY_URL: a registered voucher resolves (exit 0, JSON or
 * a summary); the server's refusals exit 1 with its status, tag and reason; no server exits
 * 3; a missing flag exits 2. `causeway asset ibc-denom` computes without any server, and a
 * path that cannot be one exits 2.
 */
import { createHash } from "node:crypto"
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import { cleanup, cli, closedPort, startServer, tempDir } from "./support/cli.ts"

afterAll(cleanup)

const sha = (path: string): string => `ibc/${createHash("sha256").update(path, "utf8").digest("hex").toUpperCase()}`
const HUB = "cosmos:cosmoshub-4"
const OSMO = "cosmos:osmosis-1"
const atom = { chain: HUB, id: "slip44:118" }

describe("causeway asset", () => {
  it("resolves through a running server's registry; its refusals exit 1 with the reason", async () => {
    const dataDir = tempDir()
    const server = await startServer(dataDir)
    try {
      const registered = await fetch(`${server.url}/v1/assets/mappings`, {
        method: "POST",
        // The admin token the server created in its data directory at first start.
        headers: { "content-type": "application/json", authorization: `Bearer ${readFileSync(join(dataDir, "api-token"), "utf8").trim()}` },
        body: JSON.stringify({
          mappings: [
            { canonical: atom, chain: HUB, local: "uatom", provider: "native" },
            { canonical: atom, chain: OSMO, local: sha("transfer/channel-0/uatom"), provider: "ibc", path: "transfer/channel-0/uatom" }
          ]
        })
      })
      expect(registered.status, await registered.clone().text()).toBe(201)

      const json = await cli(["asset", "resolve", "--source", OSMO, "--target", HUB, "--asset", sha("transfer/channel-0/uatom"), "--url", server.url, "--json"])
      expect(json.code, json.stderr).toBe(0)
      expect(JSON.parse(json.stdout)).toMatchObject({ canonical: atom, caip19: "cosmos:cosmoshub-4/slip44:118", provider: "native", localDenomOrAddress: "uatom", path: [] })

      // CAUSEWAY_URL instead of --url; a computed path, summarized for people.
      const summary = await cli(["asset", "resolve", "--source", HUB, "--target", OSMO, "--asset", "transfer/channel-0/uatom"], { env: { CAUSEWAY_URL: server.url } })
      expect(summary.code, summary.stderr).toBe(0)
      expect(summary.stdout).toContain("transfer/channel-0/uatom on cosmos:cosmoshub-4 is cosmos:cosmoshub-4/slip44:118")
      expect(summary.stdout).toContain(`on cosmos:osmosis-1: ${sha("transfer/channel-0/uatom")} (ibc)`)
      expect(summary.stdout).toContain("path: transfer/channel-0")

      const [unknown, invalid, noRoute] = await Promise.all([
        cli(["asset", "resolve", "--source", HUB, "--target", OSMO, "--asset", sha("transfer/channel-9/uatom"), "--url", server.url]),
        cli(["asset", "resolve", "--source", "cosmoshub", "--target", OSMO, "--asset", "uatom", "--url", server.url]),
        cli(["asset", "resolve", "--source", HUB, "--target", "eip155:1", "--asset", "uatom", "--url", server.url])
      ])
      expect(unknown.code).toBe(1)
      expect(unknown.stdout).toBe("")
      expect(unknown.stderr).toMatch(/404 UnknownAsset: .*cannot be reversed/)
      expect(invalid.code).toBe(1)
      expect(invalid.stderr).toMatch(/400 InvalidAssetReference: source "cosmoshub" is not a CAIP-2 chain id/)
      expect(noRoute.code).toBe(1)
      expect(noRoute.stderr).toMatch(/404 NoRoute: /)
    } finally {
      await server.stop("SIGTERM")
    }
  }, 60_000)

  it("computes an IBC denom without a server; a bad path exits 2", async () => {
    const [human, json, lower, bad] = await Promise.all([
      cli(["asset", "ibc-denom", "transfer/channel-0/transfer/channel-52/uatom"]),
      cli(["asset", "ibc-denom", "--json", "transfer/08-wasm-1369/0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48"]),
      cli(["asset", "ibc-denom", "--json", "transfer/08-wasm-1369/0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48"]),
      cli(["asset", "ibc-denom", "transfer/channel-0/"])
    ])
    expect(human.code, human.stderr).toBe(0)
    // test/vectors/ibc/denoms.json
    expect(human.stdout.split("\n")[0]).toBe("ibc/869A01B76A1E87154A4253B3493A2CDD106F4AE6E8F4800C252006C13B20C226")
    expect(human.stdout).toContain("trace: transfer/channel-0 <- transfer/channel-52")
    expect(json.code, json.stderr).toBe(0)
    const checksummed = JSON.parse(json.stdout)
    expect(checksummed).toEqual({
      path: "transfer/08-wasm-1369/0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48",
      ibcDenom: sha("transfer/08-wasm-1369/0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48"),
      base: "0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48",
      trace: [{ portId: "transfer", channelId: "08-wasm-1369" }]
    })
    expect(JSON.parse(lower.stdout).ibcDenom).not.toBe(checksummed.ibcDenom)
    expect(bad.code).toBe(2)
    expect(bad.stderr).toMatch(/is not a denom path: the path has no base denom/)
  })

  it("exits 3 when no server answers, 2 on a usage error", async () => {
    const port = await closedPort()
    const [down, noAsset, badUrl] = await Promise.all([
      cli(["asset", "resolve", "--source", HUB, "--target", OSMO, "--asset", "uatom", "--url", `http://127.0.0.1:${port}`]),
      cli(["asset", "resolve", "--source", HUB, "--target", OSMO, "--url", `http://127.0.0.1:${port}`]),
      cli(["asset", "resolve", "--source", HUB, "--target", OSMO, "--asset", "uatom", "--url", "ftp://x"])
    ])
    expect(down.code).toBe(3)
    expect(down.stderr).toMatch(/cannot reach the server/)
    expect(noAsset.code).toBe(2)
    expect(noAsset.stderr).toMatch(/--asset/)
    expect(badUrl.code).toBe(2)
    expect(badUrl.stderr).toMatch(/--url must be an http\(s\) URL/)
  })
})
