// `causeway serve` and `causeway submit` end to end: a real server in a child process, real
// keys from `causeway keygen`, envelopes checked back through the HTTP API; then every exit
// code of submit (0 accepted, 1 rejected, 2 usage, 3 unreachable) and serve's configuration
// precedence and graceful shutdown.
import { existsSync, readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { idOf } from "../../src/domain/Envelope.ts"
import { cleanup, cli, closedPort, getJson, lines, type Server, startServer, tempDir } from "./support/cli.ts"

afterAll(cleanup)

const health = (component: string, latencyMs = 1) => JSON.stringify({ component, status: "ok", latencyMs })

interface Receipt {
  readonly id: string
  readonly offset: number
  readonly lamport: number
}

const receiptOf = (stdout: string): Receipt => {
  const out = lines(stdout)
  expect(out).toHaveLength(1)
  return JSON.parse(out[0] as string) as Receipt
}

describe("causeway serve + submit", () => {
  let dir: string
  let server: Server
  let edKey: string
  let secpKey: string
  let edPublic: string
  let secpPublic: string

  beforeAll(async () => {
    dir = tempDir()
    edKey = join(dir, "ed.json")
    secpKey = join(dir, "secp.json")
    const [ed, secp, started] = await Promise.all([
      cli(["keygen", "--out", edKey]),
      cli(["keygen", "--out", secpKey, "--scheme", "secp256k1"]),
      startServer(join(dir, "data"))
    ])
    expect([ed.code, secp.code]).toEqual([0, 0])
    edPublic = ed.stdout.trim()
    secpPublic = secp.stdout.trim()
    server = started
  }, 60_000)

  afterAll(async () => {
    await server?.stop()
  })

  it("announces where it listens in one JSON log line", () => {
    expect(server.announcement.message).toBe("causeway serving")
    expect(server.port).toBeGreaterThan(0)
    expect(server.url).toBe(`http://127.0.0.1:${server.port}`)
    expect(server.announcement.annotations["dataDir"]).toBe(join(dir, "data"))
    // Every stdout line is a JSON log record.
    for (const line of lines(server.stdout())) expect(() => JSON.parse(line)).not.toThrow()
  })

  it("signs, submits and prints the receipt; the server holds exactly that envelope", async () => {
    const first = await cli(["submit", "--key", edKey, "--type", "NetworkHealth", "--payload", health("a", 3), "--url", server.url])
    expect(first.stderr).toBe("")
    expect(first.code).toBe(0)
    const r1 = receiptOf(first.stdout)
    expect(r1).toEqual({ id: expect.stringMatching(/^[0-9a-f]{64}$/), offset: 0, lamport: 1 })

    const stored = await getJson(`${server.url}/v1/messages/${r1.id}`)
    expect(stored.status).toBe(200)
    expect(stored.body.offset).toBe(0)
    expect(stored.body.sender).toBe(edPublic)
    expect(stored.body.type).toBe("NetworkHealth")
    expect(stored.body.deps).toEqual([])
    expect(stored.body.envelope.payload).toEqual({ component: "a", status: "ok", latencyMs: 3 })
    expect(stored.body.envelope.scheme).toBe("ed25519")
    expect(stored.body.envelope.expiry).toBeNull()
    // The id the server computed is the id of the envelope the CLI signed.
    expect(idOf(stored.body.envelope)).toBe(r1.id)
    // The default nonce is Unix time in microseconds.
    expect(Math.abs(stored.body.nonce / 1000 - Date.now())).toBeLessThan(60_000)

    // A secp256k1 sender, an explicit Lamport time, nonce and expiry.
    const expiry = Date.now() + 3_600_000
    const second = await cli([
      "submit", "--key", secpKey, "--type", "NetworkHealth", "--payload", health("b"), "--url", server.url,
      "--lamport", "7", "--nonce", "42", "--expiry", String(expiry)
    ])
    expect(second.code).toBe(0)
    const r2 = receiptOf(second.stdout)
    expect(r2).toMatchObject({ offset: 1, lamport: 7 })
    const stored2 = await getJson(`${server.url}/v1/messages/${r2.id}`)
    expect(stored2.body).toMatchObject({ sender: secpPublic, nonce: 42, lamport: 7 })
    expect(stored2.body.envelope).toMatchObject({ scheme: "secp256k1", expiry })

    // Deps given unsorted: sent sorted, and the Lamport time defaults to 1 + the deps' highest (7).
    const third = await cli([
      "submit", "--key", edKey, "--type", "NetworkHealth", "--payload", health("c"), "--url", `${server.url}/`,
      "--deps", `${[r1.id, r2.id].sort().reverse().join(",")}`
    ])
    expect(third.stderr).toBe("")
    expect(third.code).toBe(0)
    const r3 = receiptOf(third.stdout)
    expect(r3).toMatchObject({ offset: 2, lamport: 8 })
    const stored3 = await getJson(`${server.url}/v1/messages/${r3.id}`)
    expect(stored3.body.deps).toEqual([r1.id, r2.id].sort())
    // Successive default nonces of one key increase.
    expect(stored3.body.nonce).toBeGreaterThan(stored.body.nonce)
  }, 60_000)

  it("exit 1 with the server's reason on stderr when the message is rejected", async () => {
    const [replayed, unknownType, badPayload] = await Promise.all([
      cli(["submit", "--key", edKey, "--type", "NetworkHealth", "--payload", health("d"), "--url", server.url, "--nonce", "1"]),
      cli(["submit", "--key", edKey, "--type", "NoSuchType", "--payload", health("e"), "--url", server.url]),
      cli(["submit", "--key", edKey, "--type", "NetworkHealth", "--payload", "{\"component\":\"f\"}", "--url", server.url])
    ])
    expect(replayed.code).toBe(1)
    expect(replayed.stdout).toBe("")
    expect(replayed.stderr).toMatch(/rejected \(409 NonceReplayed: nonce 1 is not above/)
    expect(unknownType.code).toBe(1)
    expect(unknownType.stderr).toContain("400 UnknownMessageType: message type \"NoSuchType\" is not known")
    expect(badPayload.code).toBe(1)
    expect(badPayload.stderr).toContain("400 MalformedMessage: NetworkHealth payload")
  }, 60_000)

  it("exit 1 when a dependency is not in the log (its Lamport time cannot be known)", async () => {
    const missing = "ab".repeat(32)
    const run = await cli(["submit", "--key", edKey, "--type", "NetworkHealth", "--payload", health("g"), "--url", server.url, "--deps", missing])
    expect(run.code).toBe(1)
    expect(run.stderr).toContain(`dependency ${missing} is not in the log`)
  })

  it("exit 2 for usage errors: payload not JSON, bad key file, bad deps, bad or missing flags", async () => {
    const garbageKey = join(dir, "garbage.json")
    writeFileSync(garbageKey, JSON.stringify({ scheme: "ed25519", secretKey: "zz", publicKey: "00" }))
    const mismatchedKey = join(dir, "mismatched.json")
    const ed = JSON.parse(readFileSync(edKey, "utf8"))
    writeFileSync(mismatchedKey, JSON.stringify({ ...ed, publicKey: "11".repeat(32) }))
    const base = ["--type", "NetworkHealth", "--url", server.url]
    const runs = await Promise.all([
      cli(["submit", "--key", edKey, ...base, "--payload", "{not json"]),
      cli(["submit", "--key", join(dir, "absent.json"), ...base, "--payload", health("h")]),
      cli(["submit", "--key", garbageKey, ...base, "--payload", health("h")]),
      cli(["submit", "--key", mismatchedKey, ...base, "--payload", health("h")]),
      cli(["submit", "--key", edKey, ...base, "--payload", health("h"), "--deps", "xyz"]),
      cli(["submit", "--key", edKey, ...base, "--payload", health("h"), "--lamport", "0"]),
      cli(["submit", "--key", edKey, "--url", server.url, "--payload", health("h")]),
      cli(["submit", "--key", edKey, ...base, "--payload", health("h"), "--bogus"])
    ])
    const [notJson, absent, garbage, mismatched, badDeps, badLamport, noType, unknownFlag] = runs
    for (const run of runs) {
      expect(run.code).toBe(2)
      expect(run.stdout).toBe("")
    }
    expect(notJson?.stderr).toContain("--payload is not valid JSON")
    expect(absent?.stderr).toContain(`cannot read key file ${join(dir, "absent.json")}`)
    expect(garbage?.stderr).toContain(`${garbageKey} is not a key file`)
    expect(mismatched?.stderr).toContain("publicKey does not belong to secretKey")
    expect(badDeps?.stderr).toContain("--deps: \"xyz\" is not a message id")
    expect(badLamport?.stderr).toContain("--lamport must be a positive integer")
    expect(noType?.stderr).toContain("Missing required flag: --type")
    expect(unknownFlag?.stderr).toContain("Unrecognized flag: --bogus")
    // Nothing of it reached the log.
    const status = await getJson(`${server.url}/v1/projections`)
    expect(status.body[0].offset).toBe(3)
  }, 60_000)

  it("exit 3 when the server cannot be reached", async () => {
    const port = await closedPort()
    const run = await cli(["submit", "--key", edKey, "--type", "NetworkHealth", "--payload", health("i"), "--url", `http://127.0.0.1:${port}`])
    expect(run.code).toBe(3)
    expect(run.stdout).toBe("")
    expect(run.stderr).toContain(`cannot reach the server at http://127.0.0.1:${port}/v1/messages`)
  })
})

describe("causeway serve configuration and shutdown", () => {
  it("takes settings from the environment, flags over environment, and exits 0 on SIGTERM", async () => {
    const dir = tempDir()
    const server = await startServer(join(dir, "ignored"), {
      args: ["--data-dir", join(dir, "from-flag")],
      env: { HOST: "127.0.0.1", PORT: "0", DATA_DIR: join(dir, "from-env"), LOG_LEVEL: "debug" }
    })
    expect(server.announcement.annotations["dataDir"]).toBe(join(dir, "from-flag"))
    expect(server.port).toBeGreaterThan(0)
    const health = await getJson(`${server.url}/healthz`)
    expect(health).toEqual({ status: 200, body: { status: "ok" } })
    const stopped = await server.stop("SIGTERM")
    expect(stopped.code).toBe(0)
    expect(existsSync(join(dir, "from-flag", "log.sqlite"))).toBe(true)
    expect(existsSync(join(dir, "from-env"))).toBe(false)
    expect(lines(stopped.stdout).map((l) => JSON.parse(l).message)).toContain("causeway shutting down")
  }, 60_000)

  it("exit 2 for a bad port or log level, from a flag or the environment", async () => {
    const runs = await Promise.all([
      cli(["serve", "--port", "70000"]),
      cli(["serve", "--log-level", "loud"]),
      cli(["serve"], { env: { PORT: "eighty" } })
    ])
    expect(runs.map((r) => r.code)).toEqual([2, 2, 2])
    expect(runs[0]?.stderr).toContain("port 70000 is not in 0..65535")
    expect(runs[1]?.stderr).toContain("log level \"loud\" is not one of trace, debug, info, warn, error")
    expect(runs[2]?.stderr).toContain("--port")
  }, 60_000)

  it("exit 1 with a message when the port is taken", async () => {
    const dir = tempDir()
    const first = await startServer(join(dir, "a"))
    try {
      const second = await cli(["serve", "--port", String(first.port), "--data-dir", join(dir, "b")])
      expect(second.code).toBe(1)
      expect(second.stderr).toContain("the server failed")
      expect(second.stderr).toContain("EADDRINUSE")
    } finally {
      await first.stop()
    }
  }, 60_000)
})
