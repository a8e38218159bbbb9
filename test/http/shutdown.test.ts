import { type ChildProcess, spawn } from "node:child_process"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { DatabaseSync } from "node:sqlite"
import { fileURLToPath } from "node:url"
import { afterEach, describe, expect, it } from "@effect/vitest"
import { snapshotPath } from "../../src/Config.ts"
import { idOf } from "../../src/domain/Envelope.ts"
import type { MessageId } from "../../src/domain/Primitives.ts"
import { envelope, testKey } from "../support/fixtures.ts"
import { connect } from "./support/sse.ts"

const node = fileURLToPath(new URL("../../node_modules/.bin/node", import.meta.url))
const script = fileURLToPath(new URL("./support/serveProcess.ts", import.meta.url))

interface Child {
  readonly process: ChildProcess
  readonly base: string
  readonly lines: Array<any>
  readonly exited: Promise<number | null>
}

/** Start the server process and wait for its "Listening on" log line. */
const start = (dataDir: string, pendingTimeoutMs: number) =>
  new Promise<Child>((resolve, reject) => {
    const child = spawn(node, [script, dataDir, String(pendingTimeoutMs)], { stdio: ["ignore", "pipe", "inherit"] })
    const lines: Array<any> = []
    const exited = new Promise<number | null>((r) => child.on("exit", (code) => r(code)))
    let buffer = ""
    child.stdout.setEncoding("utf8")
    child.stdout.on("data", (chunk: string) => {
      buffer += chunk
      let nl: number
      while ((nl = buffer.indexOf("\n")) !== -1) {
        const line = buffer.slice(0, nl)
        buffer = buffer.slice(nl + 1)
        const json = JSON.parse(line) // every stdout line is a JSON log record
        lines.push(json)
        const m = /^Listening on (http:\/\/[^ ]+)$/.exec(json.message)
        if (m) resolve({ process: child, base: (m[1] as string).replace(/\/$/, ""), lines, exited })
      }
    })
    child.on("exit", (code) => reject(new Error(`server exited with ${code} before listening`)))
  })

const post = (base: string, body: unknown) =>
  fetch(`${base}/v1/messages`, { method: "POST", body: JSON.stringify(body), headers: { "content-type": "application/json" } })

const children: Array<ChildProcess> = []
const dirs: Array<string> = []
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null) c.kill("SIGKILL")
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
})

describe("graceful shutdown on SIGTERM", () => {
  it("stops accepting, finishes in-flight requests, ends streams, then snapshots the projections", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "causeway-shutdown-"))
    dirs.push(dataDir)
    const server = await start(dataDir, 1500)
    children.push(server.process)
    const k = testKey("shutdown")
    for (let n = 1; n <= 5; n++) expect((await post(server.base, envelope(k, { nonce: n }))).status).toBe(201)
    const stream = await connect(`${server.base}/v1/stream?from=0`)
    expect((await stream.records(5)).map((e) => e.id)).toEqual(["0", "1", "2", "3", "4"])

    // In flight: waits (1.5 s) for a dependency that never comes.
    const ghost = idOf(envelope(k, { nonce: 999 }))
    const held = post(server.base, envelope(k, { nonce: 6, deps: [ghost as MessageId] })).then(async (r) => [r.status, await r.json()] as const)
    await new Promise((r) => setTimeout(r, 200))
    const signalled = Date.now()
    server.process.kill("SIGTERM")

    // the event stream ends cleanly
    let event: unknown = "pending"
    while (event !== null) event = await stream.next()
    // no new connections once draining
    await new Promise((r) => setTimeout(r, 200))
    await expect(fetch(`${server.base}/healthz`)).rejects.toThrow()
    // the in-flight request is answered
    const [status, body] = (await held) as readonly [number, { _tag: string }]
    expect(status).toBe(424)
    expect(body._tag).toBe("UnknownDependencies")
    expect(Date.now() - signalled).toBeGreaterThan(1000)

    expect(await server.exited).toBe(130) // interrupted, nothing failed
    const messages = server.lines.map((l) => l.message)
    expect(messages).toContain("http server draining")
    expect(messages).toContain("http server closed")
    expect(server.lines.filter((l) => l.level === "ERROR")).toEqual([])
    const requestLines = server.lines.filter((l) => l.message === "http request")
    expect(requestLines.find((l) => l.annotations.status === 424)?.annotations).toMatchObject({
      method: "POST",
      path: "/v1/messages",
      route: "/v1/messages",
      durationMs: expect.any(Number)
    })

    // the projection runner wrote its final snapshot at the log's end
    const db = new DatabaseSync(snapshotPath(dataDir), { readOnly: true })
    const row = db.prepare("SELECT offset_ AS offset FROM snapshots WHERE name = 'log-index'").get() as { offset: number }
    db.close()
    expect(row.offset).toBe(5)
  }, 60_000)
})
