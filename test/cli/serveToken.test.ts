/**
 * `causeway serve` and its API tokens (docs/security.md), as a real child process: with no
 * token file the first start creates one admin token in DATA_DIR/api-token (0600), logs its
 * path and never the token, and keeps it across restarts; `--api-tokens FILE` (written by
 * `causeway token create`) replaces it with named, scoped tokens; a token file that does not
 * parse stops the start with the reason; `--private-reads` closes reads to anonymous callers.
 */
import { readFileSync, statSync, existsSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import { cleanup, cli, startServer, tempDir } from "./support/cli.ts"

afterAll(cleanup)

const watch = (url: string, token?: string) =>
  fetch(`${url}/v1/effects/watches`, {
    method: "POST",
    headers: { "content-type": "application/json", ...(token === undefined ? {} : { authorization: `Bearer ${token}` }) },
    body: JSON.stringify({ chain: "nochain", kind: "evm-log", filter: { address: "11".repeat(20), topics: [] } })
  })

describe("causeway serve: API tokens", () => {
  it("creates the data directory's admin token once (0600), logs its path and never the token", async () => {
    const dataDir = tempDir()
    const server = await startServer(dataDir)
    const path = join(dataDir, "api-token")
    let token: string
    try {
      expect(statSync(path).mode & 0o777).toBe(0o600)
      token = readFileSync(path, "utf8").trim()
      expect(token).toMatch(/^cw_[A-Za-z0-9_-]{43}$/)
      const output = server.stdout() + server.stderr()
      expect(output).toContain("API admin token created")
      expect(output).toContain(path)
      expect(output).not.toContain(token)
      expect((await watch(server.url)).status).toBe(401)
      // Past authentication: no such chain.
      expect((await watch(server.url, token)).status).toBe(404)
    } finally {
      await server.stop("SIGTERM")
    }
    const again = await startServer(dataDir)
    try {
      expect(again.stdout()).toContain("API admin token read")
      expect(readFileSync(path, "utf8").trim()).toBe(token)
      expect((await watch(again.url, token)).status).toBe(404)
    } finally {
      await again.stop("SIGTERM")
    }
  }, 90_000)

  it("serves the tokens of --api-tokens with their scopes, and private reads with --private-reads", async () => {
    const dataDir = tempDir()
    const file = join(tempDir(), "tokens.json")
    const created = await cli(["token", "create", "--name", "relayer", "--scope", "effects", "--api-tokens", file])
    expect(created.code, created.stderr).toBe(0)
    const relayer = created.stdout.trim()
    const prover = (await cli(["token", "create", "--name", "prover", "--scope", "chains"], { env: { API_TOKENS_FILE: file } })).stdout.trim()
    expect(statSync(file).mode & 0o777).toBe(0o600)
    expect(readFileSync(file, "utf8")).not.toContain(relayer)
    expect((await cli(["token", "list", "--api-tokens", file])).stdout).toBe("relayer  effects\nprover  chains\n")
    const server = await startServer(dataDir, { args: ["--port", "0", "--data-dir", dataDir, "--api-tokens", file, "--private-reads"] })
    try {
      expect(existsSync(join(dataDir, "api-token"))).toBe(false)
      expect((await watch(server.url, relayer)).status).toBe(404)
      const forbidden = await watch(server.url, prover)
      expect(forbidden.status).toBe(403)
      expect(await forbidden.json()).toMatchObject({ _tag: "Forbidden", scope: "effects" })
      expect((await fetch(`${server.url}/v1/effects`)).status).toBe(401)
      expect((await fetch(`${server.url}/v1/effects`, { headers: { authorization: `Bearer ${prover}` } })).status).toBe(200)
      expect((await fetch(`${server.url}/healthz`)).status).toBe(200)
    } finally {
      await server.stop("SIGTERM")
    }
    // Removed from the file: refused after a restart.
    expect((await cli(["token", "remove", "--name", "relayer", "--api-tokens", file])).code).toBe(0)
    const restarted = await startServer(dataDir, { args: ["--port", "0", "--data-dir", dataDir, "--api-tokens", file] })
    try {
      expect((await watch(restarted.url, relayer)).status).toBe(401)
    } finally {
      await restarted.stop("SIGTERM")
    }
  }, 90_000)

  it("a token file that does not parse stops the start with the reason; the token commands refuse bad input", async () => {
    const dir = tempDir()
    const file = join(dir, "tokens.json")
    writeFileSync(file, JSON.stringify({ tokens: [{ name: "x", sha256: "00", scopes: ["admin"] }] }))
    const failed = await cli(["serve", "--port", "0", "--data-dir", join(dir, "data"), "--api-tokens", file], { timeoutMs: 30_000 })
    expect(failed.code).toBe(1)
    expect(failed.stderr).toContain(`API tokens: ${file}:`)
    const missing = await cli(["serve", "--port", "0", "--data-dir", join(dir, "data"), "--api-tokens", join(dir, "none.json")], { timeoutMs: 30_000 })
    expect(missing.code).toBe(1)
    expect(missing.stderr).toContain("no such file")
    const badName = await cli(["token", "create", "--name", "has space", "--scope", "admin", "--api-tokens", join(dir, "t.json")])
    expect(badName.code).toBe(2)
    const noFile = await cli(["token", "list"])
    expect([noFile.code, noFile.stderr]).toEqual([2, expect.stringContaining("--api-tokens FILE")])
    const notAFile = await cli(["token", "list", "--api-tokens", file])
    expect([notAFile.code, notAFile.stderr]).toEqual([1, expect.stringContaining("is not a token file")])
  }, 90_000)

  it("token create --budget-per-second/--budget-burst: a relayer's budget, with or without a scope", async () => {
    const file = join(tempDir(), "tokens.json")
    const created = await cli(["token", "create", "--name", "relayer", "--budget-per-second", "5000", "--budget-burst", "10000", "--api-tokens", file])
    expect(created.code, created.stderr).toBe(0)
    expect(JSON.parse(readFileSync(file, "utf8")).tokens[0]).toMatchObject({ name: "relayer", scopes: [], budget: { perSecond: 5000, burst: 10000 } })
    expect((await cli(["token", "list", "--api-tokens", file])).stdout).toBe("relayer  -  budget 5000/s burst 10000\n")
    for (const args of [["--name", "n1"], ["--name", "n2", "--budget-per-second", "5"], ["--name", "n3", "--scope", "admin", "--budget-per-second", "0", "--budget-burst", "1"]]) {
      const refused = await cli(["token", "create", ...args, "--api-tokens", file])
      expect(refused.code, args.join(" ")).toBe(2)
    }
  }, 90_000)
})
