// `causeway replay`: the digests of a fold from offset 0 equal the running server's live
// digests at the same offset; after a graceful stop, --verify finds the persisted snapshot
// equal to the replay (exit 0) and a corrupted snapshot digest different (exit 1).
import { spawnSync } from "node:child_process"
import { existsSync } from "node:fs"
import { join } from "node:path"
import { DatabaseSync } from "node:sqlite"
import { afterAll, describe, expect, it } from "vitest"
import { snapshotPath } from "../../src/Config.ts"
import type { KeyFile } from "../../src/domain/Keys.ts"
import { envelope, testKey } from "../support/fixtures.ts"
import { cleanup, cli, entry, eventually, getJson, lines, startServer, tempDir } from "./support/cli.ts"

afterAll(cleanup)

/** Post a batch of envelopes from several senders and types straight to the API. */
const seed = async (url: string, count: number): Promise<void> => {
  const senders = [testKey("replay-a"), testKey("replay-b", "secp256k1"), testKey("replay-c")]
  const batch = Array.from({ length: count }, (_, i) =>
    envelope(senders[i % senders.length] as KeyFile, {
      nonce: i + 1,
      lamport: i + 1,
      ...(i % 4 === 0
        ? { type: "UserOrderCancellation", payload: { orderId: (i.toString(16).padStart(2, "0")).repeat(32) } }
        : { payload: { component: `c${i}`, status: "ok", latencyMs: i } })
    }))
  const response = await fetch(`${url}/v1/messages`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(batch)
  })
  const body = await response.json() as { results: Array<{ ok: boolean }> }
  expect(response.status).toBe(200)
  expect(body.results.every((r) => r.ok)).toBe(true)
}

interface Status {
  readonly name: string
  readonly offset: number
  readonly digest: string
}

describe("causeway replay", () => {
  it("reaches the live digests, and --verify checks the persisted snapshot", async () => {
    const dir = tempDir()
    const dataDir = join(dir, "data")
    const server = await startServer(dataDir)
    let stopped = false
    try {
      await seed(server.url, 60)
      const submitted = await cli([
        "submit", "--key", await keyFile(dir), "--type", "NetworkHealth",
        "--payload", JSON.stringify({ component: "cli", status: "degraded", latencyMs: 9 }), "--url", server.url
      ])
      expect(submitted.code).toBe(0)
      const total = 61

      const live = await eventually(
        async () => (await getJson(`${server.url}/v1/projections`)).body as Array<Status>,
        (ps) => ps.length > 0 && ps.every((p) => p.offset === total)
      )
      const liveDigests = Object.fromEntries(live.map((p) => [p.name, p.digest]))
      expect(Object.keys(liveDigests)).toContain("log-index")
      const digest = liveDigests["log-index"] ?? ""
      expect(digest).toMatch(/^[0-9a-f]{64}$/)

      // Beside the running server (WAL lets it read), exactly one JSON line, and no progress
      // bar on a stderr that is not a terminal.
      const json = await cli(["replay", "--data-dir", dataDir, "--json"])
      expect(json.code).toBe(0)
      expect(json.stderr).toBe("")
      expect(json.stdout).toBe(`${JSON.stringify({ offset: total, digests: liveDigests })}\n`)

      const human = await cli(["replay", "--data-dir", dataDir])
      expect(human.code).toBe(0)
      expect(human.stdout).toMatch(new RegExp(`^replayed ${total} records in [0-9.]+ s`))
      expect(human.stdout).toContain(`log-index  ${digest}`)

      // A graceful stop writes the final snapshot: the live digest at the live offset.
      const exit = await server.stop("SIGTERM")
      stopped = true
      expect(exit.code).toBe(0)
      expect(existsSync(snapshotPath(dataDir))).toBe(true)

      const verified = await cli(["replay", "--data-dir", dataDir, "--verify", "--json"])
      expect(verified.code).toBe(0)
      expect(JSON.parse(verified.stdout)).toEqual({
        ok: true,
        projections: live.map((p) => ({ name: p.name, status: "equal", offset: total, snapshot: p.digest, replayed: p.digest }))
      })
      const verifiedText = await cli(["replay", "--data-dir", dataDir, "--verify"])
      expect(verifiedText.code).toBe(0)
      expect(lines(verifiedText.stdout)).toEqual(
        live.map((p) => `${p.name} @ offset ${total}: snapshot ${p.digest.slice(0, 16)} replay ${p.digest.slice(0, 16)} EQUAL`)
      )

      // Corrupt the persisted digest: the replay no longer agrees.
      const db = new DatabaseSync(snapshotPath(dataDir))
      db.prepare("UPDATE snapshots SET digest = ? WHERE name = ?").run("0".repeat(64), "log-index")
      db.close()
      const corrupted = await cli(["replay", "--data-dir", dataDir, "--verify"])
      expect(corrupted.code).toBe(1)
      expect(corrupted.stdout).toContain(`log-index @ offset ${total}: snapshot 0000000000000000 replay ${digest.slice(0, 16)} DIFFERS (digests differ)`)
      expect(corrupted.stderr).toContain("log-index: the replay does not reach the snapshot's digest")
      const corruptedJson = await cli(["replay", "--data-dir", dataDir, "--verify", "--json"])
      expect(corruptedJson.code).toBe(1)
      expect(JSON.parse(corruptedJson.stdout)).toMatchObject({ ok: false, projections: expect.arrayContaining([expect.objectContaining({ name: "log-index", status: "differs", snapshot: "0".repeat(64) })]) })
    } finally {
      if (!stopped) await server.stop()
    }
  }, 120_000)

  it("--verify-records finds a record altered in the log file: its body, its signature, a header column", async () => {
    const dir = tempDir()
    const dataDir = join(dir, "data")
    const server = await startServer(dataDir)
    try {
      await seed(server.url, 12)
    } finally {
      await server.stop()
    }
    const clean = await cli(["replay", "--data-dir", dataDir, "--verify-records"])
    expect(clean.code).toBe(0)
    expect(lines(clean.stdout)[0]).toBe("records: 12 checked, 0 refused")

    const db = new DatabaseSync(join(dataDir, "log.sqlite"))
    const body = (seq: number) => (db.prepare("SELECT body FROM log WHERE seq = ?").get(seq) as { body: string }).body
    // Offset 1: the payload changed (the id no longer matches); offset 5: the signature's last
    // byte changed; offset 9: the sender column names someone else.
    db.prepare("UPDATE log SET body = ? WHERE seq = ?").run(body(1).replace("\"latencyMs\":1", "\"latencyMs\":2"), 1)
    const sig = /"sig":"([0-9a-f]+)"/.exec(body(5))?.[1] ?? ""
    db.prepare("UPDATE log SET body = ? WHERE seq = ?").run(body(5).replace(sig, sig.slice(0, -2) + (sig.endsWith("00") ? "01" : "00")), 5)
    db.prepare("UPDATE log SET sender = ? WHERE seq = ?").run(testKey("replay-intruder").publicKey, 9)
    db.close()

    const tampered = await cli(["replay", "--data-dir", dataDir, "--verify-records", "--json"])
    expect(tampered.code).toBe(1)
    expect(tampered.stderr).toContain("3 of 12 records fail their check")
    const audit = JSON.parse(lines(tampered.stdout)[0] ?? "") as { records: { checked: number; refusedCount: number; refused: Array<{ offset: number; kind: string }> } }
    expect(audit.records.checked).toBe(12)
    expect(audit.records.refused.map((r) => [r.offset, r.kind])).toEqual([[1, "id"], [5, "signature"], [9, "header"]])
    // Without the flag the fold alone does not notice.
    expect((await cli(["replay", "--data-dir", dataDir, "--json"])).code).toBe(0)
  }, 120_000)

  it("fails with exit 1 and a clear message when the data directory is missing", async () => {
    const missing = join(tempDir(), "nope")
    const [plain, verify, fromEnv] = await Promise.all([
      cli(["replay", "--data-dir", missing, "--json"]),
      cli(["replay", "--data-dir", missing, "--verify"]),
      cli(["replay"], { env: { DATA_DIR: missing } })
    ])
    for (const run of [plain, verify, fromEnv]) {
      expect(run.code).toBe(1)
      expect(run.stdout).toBe("")
      expect(run.stderr).toContain(`data directory ${missing} does not exist`)
    }
    // Nothing was created by looking.
    expect(existsSync(missing)).toBe(false)
  }, 60_000)

  it("fails with exit 1 for a directory without a log", async () => {
    const empty = tempDir()
    const run = await cli(["replay", "--data-dir", empty])
    expect(run.code).toBe(1)
    expect(run.stderr).toContain(`no log in ${empty}`)
    expect(existsSync(join(empty, "log.sqlite"))).toBe(false)
  })

  // `script` gives the child a pseudo-terminal: there, and only there, the bar is drawn.
  const hasScript = spawnSync("script", ["--version"]).status === 0
  it.skipIf(!hasScript)("draws a progress bar when stderr is a terminal", async () => {
    const dir = tempDir()
    const dataDir = join(dir, "data")
    const server = await startServer(dataDir)
    try {
      await seed(server.url, 10)
    } finally {
      await server.stop()
    }
    const command = [process.execPath, entry, "replay", "--data-dir", dataDir, "--json"].map((a) => `'${a}'`).join(" ")
    const run = spawnSync("script", ["-qec", command, "/dev/null"], { encoding: "utf8", timeout: 30_000 })
    expect(run.status).toBe(0)
    expect(run.stdout).toMatch(/\r\[#{10,40}\] 10\/10 100\.0% \d+(?:\.\d+[kM])? records\/s/)
    expect(run.stdout).toContain("{\"offset\":10,\"digests\":{\"log-index\":")
  }, 60_000)
})

/** A key file made by the CLI. */
const keyFile = async (dir: string): Promise<string> => {
  const path = join(dir, "key.json")
  const run = await cli(["keygen", "--out", path])
  expect(run.code).toBe(0)
  return path
}
