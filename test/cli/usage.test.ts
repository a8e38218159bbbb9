// The command line itself: --help for every command (stdout, exit 0), usage errors (stderr,
// exit 2), --version; and the Node that runs the CLI in these tests is Node 24.
import { spawnSync } from "node:child_process"
import { describe, expect, it } from "vitest"
import { cli } from "./support/cli.ts"

describe("causeway usage", () => {
  it("runs the CLI under Node 24 (process.execPath), which strips the types of src/cli/causeway.ts", () => {
    const run = spawnSync(process.execPath, ["--version"], { encoding: "utf8" })
    expect(run.stdout.trim()).toMatch(/^v24\./)
  })

  it.each([
    [[], ["serve", "keygen", "submit", "order", "replay", "log"]],
    [["serve"], ["--host", "--port", "--data-dir", "--log-level", "env PORT"]],
    [["keygen"], ["--out", "--scheme", "ed25519, secp256k1"]],
    [["submit"], ["--key", "--type", "--payload", "--deps", "--url", "--nonce", "--lamport", "--expiry", "--wait", "--wait-timeout", "env CAUSEWAY_URL"]],
    [["order"], ["place", "commit", "reveal", "lock", "cancel", "status", "receipt", "watch"]],
    [["order", "lock"], ["--key", "--chain", "--market", "--side", "--amount-in", "--min-amount-out", "--limit-price", "--round", "--in", "--wait", "--wait-timeout", "CAIP-2", "integer base units", "per 10^18 base units spent"]],
    [["replay"], ["--data-dir", "--json", "--verify"]],
    [["log"], ["tail"]],
    [["log", "tail"], ["--data-dir", "--url", "--from", "--follow", "--limit"]]
  ] as const)("%j --help prints the usage on stdout and exits 0", async (path, mentions) => {
    const run = await cli([...path, "--help"])
    expect(run.code).toBe(0)
    expect(run.stderr).toBe("")
    expect(run.stdout).toContain(`USAGE\n  causeway${path.map((p) => ` ${p}`).join("")}`)
    for (const m of mentions) expect(run.stdout).toContain(m)
  })

  it("prints the version", async () => {
    const run = await cli(["--version"])
    expect(run.code).toBe(0)
    expect(run.stdout.trim()).toBe("causeway v0.1.0")
  })

  it("exit 2 with the usage on stderr for an unknown command, an unknown flag, a bad value or no command", async () => {
    const [unknownCommand, unknownFlag, badValue, none, noSubcommand] = await Promise.all([
      cli(["frobnicate"]),
      cli(["replay", "--bogus"]),
      cli(["log", "tail", "--from", "minus-one"]),
      cli([]),
      cli(["log"])
    ])
    for (const run of [unknownCommand, unknownFlag, badValue, none, noSubcommand]) {
      expect(run.code).toBe(2)
      expect(run.stdout).toBe("")
      expect(run.stderr).toContain("USAGE")
    }
    expect(unknownCommand.stderr).toContain("Unknown subcommand \"frobnicate\" for \"causeway\"")
    expect(unknownFlag.stderr).toContain("Unrecognized flag: --bogus in command causeway replay")
    expect(badValue.stderr).toContain("Invalid value for flag --from: \"minus-one\"")
  }, 60_000)

  it("refuses --log-level outside serve (it is serve's own flag, not a global one)", async () => {
    const run = await cli(["replay", "--log-level", "debug"])
    expect(run.code).toBe(2)
    expect(run.stderr).toContain("--log-level")
  })
})
