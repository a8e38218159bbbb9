/**
 * `causeway operator register|remove|list` against a real `causeway serve` child: with the
 * data directory's admin token a key is registered, listed and removed (exit 0); without a
 * token the server's 401 exits 1; removing a key that is not registered exits 1 with 404; a
 * key that is not one exits 2.
 */
import { afterAll, describe, expect, it } from "vitest"
import { testKey } from "../support/fixtures.ts"
import { cleanup, cli, startServer, tempDir } from "./support/cli.ts"

afterAll(cleanup)

describe("causeway operator", () => {
  it("registers, lists and removes operators with the admin token; refusals exit 1 with the reason", async () => {
    const dataDir = tempDir()
    const server = await startServer(dataDir)
    try {
      const key = testKey("cli-operator").publicKey
      const url = server.url
      const anonymous = await cli(["operator", "register", key, "--url", url], { env: { DATA_DIR: tempDir() } })
      expect([anonymous.code, anonymous.stderr]).toEqual([1, expect.stringMatching(/401 Unauthorized/)])

      const registered = await cli(["operator", "register", key, "--name", "desk-1", "--url", url], { env: { DATA_DIR: dataDir } })
      expect(registered.code, registered.stderr).toBe(0)
      expect(registered.stdout).toMatch(new RegExp(`operator ${key} registered \\(OperatorRegistered at offset \\d+\\)`))
      const listed = await cli(["operator", "list", "--json", "--url", url])
      expect(listed.code, listed.stderr).toBe(0)
      expect(JSON.parse(listed.stdout)).toMatchObject([{ operator: key, name: "desk-1" }])

      const removed = await cli(["operator", "remove", key, "--url", url], { env: { DATA_DIR: dataDir } })
      expect(removed.code, removed.stderr).toBe(0)
      expect((await cli(["operator", "list", "--url", url])).stdout.trim()).toBe("")
      const again = await cli(["operator", "remove", key, "--url", url], { env: { DATA_DIR: dataDir } })
      expect([again.code, again.stderr]).toEqual([1, expect.stringMatching(/404 OperatorNotFound/)])

      const bad = await cli(["operator", "register", "XYZ", "--url", url], { env: { DATA_DIR: dataDir } })
      expect([bad.code, bad.stderr]).toEqual([2, expect.stringMatching(/is not a public key/)])
    } finally {
      await server.stop()
    }
  }, 60_000)
})
