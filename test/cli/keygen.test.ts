// `causeway keygen`: both schemes, file mode 0600, refusal to overwrite, and the key file
// really signs: its public key is its secret key's and the CLI prints it.
import { readFileSync, statSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { Schema } from "effect"
import { afterAll, describe, expect, it } from "vitest"
import { KeyFile, publicKeyOf } from "../../src/domain/Keys.ts"
import { fromHex, toHex } from "../../src/domain/Envelope.ts"
import { cleanup, cli, lines, tempDir } from "./support/cli.ts"

afterAll(cleanup)

const decodeKeyFile = Schema.decodeUnknownSync(KeyFile)

describe("causeway keygen", () => {
  it.each([
    ["ed25519", 64],
    ["secp256k1", 66]
  ] as const)("writes a %s key file with mode 0600 and prints its public key", async (scheme, publicHexLength) => {
    const out = join(tempDir(), "key.json")
    const run = await cli(["keygen", "--out", out, "--scheme", scheme])
    expect(run.code).toBe(0)
    expect(run.stderr).toBe("")
    const key = decodeKeyFile(JSON.parse(readFileSync(out, "utf8")))
    expect(key.scheme).toBe(scheme)
    expect(key.publicKey).toHaveLength(publicHexLength)
    expect(toHex(publicKeyOf(scheme, fromHex(key.secretKey)))).toBe(key.publicKey)
    expect(lines(run.stdout)).toEqual([key.publicKey])
    expect(statSync(out).mode & 0o777).toBe(0o600)
  })

  it("defaults to ed25519 and makes a different key each time", async () => {
    const dir = tempDir()
    const [a, b] = await Promise.all([cli(["keygen", "--out", join(dir, "a.json")]), cli(["keygen", "--out", join(dir, "b.json")])])
    expect([a.code, b.code]).toEqual([0, 0])
    expect(decodeKeyFile(JSON.parse(readFileSync(join(dir, "a.json"), "utf8"))).scheme).toBe("ed25519")
    expect(a.stdout.trim()).toMatch(/^[0-9a-f]{64}$/)
    expect(a.stdout).not.toBe(b.stdout)
  })

  it("refuses to overwrite an existing file: exit 1, file untouched", async () => {
    const out = join(tempDir(), "key.json")
    writeFileSync(out, "precious\n")
    const run = await cli(["keygen", "--out", out])
    expect(run.code).toBe(1)
    expect(run.stdout).toBe("")
    expect(run.stderr).toContain(`${out} already exists`)
    expect(readFileSync(out, "utf8")).toBe("precious\n")
  })

  it("fails with exit 1 when the file cannot be created", async () => {
    const out = join(tempDir(), "missing", "key.json")
    const run = await cli(["keygen", "--out", out])
    expect(run.code).toBe(1)
    expect(run.stderr).toContain(`cannot write ${out}`)
  })

  it("is a usage error (exit 2) without --out or with an unknown scheme", async () => {
    const [noOut, badScheme] = await Promise.all([
      cli(["keygen"]),
      cli(["keygen", "--out", join(tempDir(), "k.json"), "--scheme", "rsa"])
    ])
    expect(noOut.code).toBe(2)
    expect(noOut.stderr).toContain("Missing required flag: --out")
    expect(badScheme.code).toBe(2)
    expect(badScheme.stderr).toContain("--scheme")
    expect(badScheme.stdout).toBe("")
  })
})
