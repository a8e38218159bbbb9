// `causeway log tail`: the records submitted with the CLI, as JSON lines, read from the data
// directory and from the server's event stream; --from/--limit; --follow on both sources
// (including a server restart under a following stream).
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { cleanup, cli, closedPort, lines, type Server, start, startServer, tempDir, waitForLine } from "./support/cli.ts"

afterAll(cleanup)

interface Line {
  readonly offset: number
  readonly id: string
  readonly lamport: number
  readonly type: string
  readonly sender: string
}

const parsed = (stdout: string): Array<Line> => lines(stdout).map((l) => JSON.parse(l) as Line)

describe("causeway log tail", () => {
  let dir: string
  let dataDir: string
  let key: string
  let sender: string
  let server: Server
  const expected: Array<Line> = []

  const submit = async (component: string, extra: ReadonlyArray<string> = []): Promise<Line> => {
    const run = await cli([
      "submit", "--key", key, "--type", "NetworkHealth", "--url", server.url,
      "--payload", JSON.stringify({ component, status: "ok", latencyMs: 1 }), ...extra
    ])
    expect(run.code, run.stderr).toBe(0)
    const receipt = JSON.parse(run.stdout) as { id: string; offset: number; lamport: number }
    const line = { offset: receipt.offset, id: receipt.id, lamport: receipt.lamport, type: "NetworkHealth", sender }
    expected.push(line)
    return line
  }

  beforeAll(async () => {
    dir = tempDir()
    dataDir = join(dir, "data")
    key = join(dir, "key.json")
    const [keygen, started] = await Promise.all([cli(["keygen", "--out", key]), startServer(dataDir)])
    expect(keygen.code).toBe(0)
    sender = keygen.stdout.trim()
    server = started
    await submit("one")
    await submit("two", ["--lamport", "5"])
    await submit("three", ["--deps", expected[0]?.id ?? ""])
  }, 60_000)

  afterAll(async () => {
    await server?.stop()
  })

  it("prints every record of the data directory as a JSON line, then exits 0", async () => {
    const run = await cli(["log", "tail", "--data-dir", dataDir])
    expect(run.code).toBe(0)
    expect(run.stderr).toBe("")
    expect(parsed(run.stdout)).toEqual(expected.slice(0, 3))
    expect(expected.slice(0, 3).map((l) => [l.offset, l.lamport])).toEqual([[0, 1], [1, 5], [2, 2]])
    // Exactly these keys, in this order.
    expect(lines(run.stdout)[0]).toBe(JSON.stringify(expected[0]))
  })

  it("reads DATA_DIR when neither --data-dir nor --url is given", async () => {
    const run = await cli(["log", "tail"], { env: { DATA_DIR: dataDir } })
    expect(run.code).toBe(0)
    expect(parsed(run.stdout)).toEqual(expected.slice(0, 3))
  })

  it("prints the same records from the server's event stream", async () => {
    const run = await cli(["log", "tail", "--url", server.url])
    expect(run.code).toBe(0)
    expect(run.stderr).toBe("")
    expect(parsed(run.stdout)).toEqual(expected.slice(0, 3))
  })

  it("honours --from and --limit on both sources", async () => {
    const [local, remote, past] = await Promise.all([
      cli(["log", "tail", "--data-dir", dataDir, "--from", "1", "--limit", "1"]),
      cli(["log", "tail", "--url", server.url, "--from", "1"]),
      cli(["log", "tail", "--url", server.url, "--from", "99"])
    ])
    expect(parsed(local.stdout)).toEqual([expected[1]])
    expect(parsed(remote.stdout)).toEqual(expected.slice(1, 3))
    expect(past.code).toBe(0)
    expect(past.stdout).toBe("")
  })

  it("--follow keeps printing new records, from the data directory and from the server", async () => {
    const local = start(["log", "tail", "--data-dir", dataDir, "--follow", "--from", "2"])
    const remote = start(["log", "tail", "--url", server.url, "--follow", "--from", "2"])
    try {
      for (const t of [local, remote]) await waitForLine(t.child, t.stdout, (l) => l.includes(`"offset":2,`))
      const added = await submit("four")
      expect(added.offset).toBe(3)
      for (const t of [local, remote]) await waitForLine(t.child, t.stdout, (l) => l.includes(`"offset":3,`))
    } finally {
      const [l, r] = await Promise.all([local.stop("SIGINT"), remote.stop("SIGTERM")])
      // Stopping a follower is its normal end.
      expect([l.code, r.code]).toEqual([0, 0])
      expect(parsed(l.stdout)).toEqual(expected.slice(2, 4))
      expect(parsed(r.stdout)).toEqual(expected.slice(2, 4))
    }
  }, 60_000)

  it("--follow --url resumes from the next offset when the server restarts", async () => {
    const follower = start(["log", "tail", "--url", server.url, "--follow"])
    try {
      await waitForLine(follower.child, follower.stdout, (l) => l.includes(`"offset":${expected.length - 1},`))
      const port = server.port
      await server.stop()
      server = await startServer(dataDir, { args: ["--port", String(port), "--data-dir", dataDir] })
      const added = await submit("after-restart")
      await waitForLine(follower.child, follower.stdout, (l) => l.includes(`"offset":${added.offset},`))
    } finally {
      const run = await follower.stop("SIGINT")
      // Every record once, in order, across the reconnection.
      expect(parsed(run.stdout)).toEqual(expected)
    }
  }, 60_000)

  it("exit 2 for both sources at once, exit 1 for a missing data directory, exit 3 for no server", async () => {
    const port = await closedPort()
    const missing = join(dir, "nope")
    const [both, absent, unreachable, unreachableFollow] = await Promise.all([
      cli(["log", "tail", "--data-dir", dataDir, "--url", server.url]),
      cli(["log", "tail", "--data-dir", missing]),
      cli(["log", "tail", "--url", `http://127.0.0.1:${port}`]),
      cli(["log", "tail", "--url", `http://127.0.0.1:${port}`, "--follow"])
    ])
    expect(both.code).toBe(2)
    expect(both.stderr).toContain("--data-dir and --url are alternatives")
    expect(absent.code).toBe(1)
    expect(absent.stderr).toContain(`data directory ${missing} does not exist`)
    expect(unreachable.code).toBe(3)
    expect(unreachable.stderr).toContain(`cannot reach the server at http://127.0.0.1:${port}`)
    expect(unreachableFollow.code).toBe(3)
  }, 60_000)
})
