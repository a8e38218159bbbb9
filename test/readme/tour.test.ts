/**
 * The README's mempool tour, run as a user would paste it: every block marked `<!-- tour -->`
 * runs, in order, in one bash session against a real `causeway serve` started with the flags
 * the README's start command gives (plus a free port and a temporary data directory), which
 * the test stops (SIGTERM) where the prose says to. The only edit is the server's address on
 * the tour's `export CAUSEWAY_URL=` line. The tour's
 * `REPO=$PWD` is a temporary directory whose `node_modules` and `src` link to this
 * repository's, so `$REPO/data` is the server's data directory and nothing is written here.
 */
import { spawn } from "node:child_process"
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import { cleanup, root, startServer, tempDir } from "../cli/support/cli.ts"

afterAll(cleanup)

const readme = readFileSync(join(root, "README.md"), "utf8")
const START = "npm start -- "
const URL_LINE = /^export CAUSEWAY_URL=http:\/\/127\.0\.0\.1:8080(.*)$/m

/** The tour's blocks, in order; `afterStop`: the prose asks to stop the server before it. */
export const tourBlocks = (text: string): Array<{ readonly code: string; readonly afterStop: boolean }> =>
  [...text.matchAll(/<!-- tour(: after the server stopped)? -->\n```sh\n([\s\S]*?)```/g)].map((m) => ({ code: m[2] as string, afterStop: m[1] !== undefined }))

/** The flags of the README's `npm start -- …` line in the tour section. */
const startFlags = (text: string): Array<string> => {
  const section = text.slice(text.indexOf("## Mempool tour"))
  const line = section.split("\n").find((l) => l.startsWith(START))
  if (line === undefined) throw new Error("the tour has no `npm start -- …` line")
  return line.slice(START.length).trim().split(/\s+/)
}

/** Run the script; `onLine` sees each line of its stdout as it comes. */
const run = (script: string, cwd: string, timeoutMs: number, onLine: (line: string) => void) =>
  new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = spawn("bash", ["-c", script], { cwd, env: { ...process.env, TMPDIR: cwd, CAUSEWAY_URL: "" }, stdio: ["ignore", "pipe", "pipe"] })
    let stdout = ""
    let stderr = ""
    child.stdout.setEncoding("utf8").on("data", (d: string) => {
      const done = stdout.length - (stdout.length - stdout.lastIndexOf("\n") - 1)
      stdout += d
      for (const line of stdout.slice(done).split("\n").slice(0, -1)) onLine(line)
    })
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d))
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs)
    child.on("close", (code) => {
      clearTimeout(timer)
      resolve({ code, stdout, stderr })
    })
  })

describe("the README's mempool tour", () => {
  it("finds the tour: its blocks, its start command and its server address line", () => {
    const blocks = tourBlocks(readme)
    expect(blocks.length).toBeGreaterThanOrEqual(6)
    expect(blocks[0]?.code).toMatch(URL_LINE)
    expect(blocks.at(-1)).toMatchObject({ afterStop: true, code: expect.stringContaining("replay") })
    expect(startFlags(readme)).toEqual(["--batch-window-ms", "2000"])
  })

  it("runs step by step against a real server", async () => {
    const repo = tempDir("causeway-tour-")
    symlinkSync(join(root, "node_modules"), join(repo, "node_modules"))
    symlinkSync(join(root, "src"), join(repo, "src"))
    const dataDir = join(repo, "data")
    mkdirSync(dataDir)
    const server = await startServer(dataDir, { args: [...startFlags(readme), "--port", "0", "--data-dir", dataDir] })
    try {
      const blocks = tourBlocks(readme)
      // Where the prose says to stop the server, the script waits for the test to do it.
      const stopped = join(repo, "server-stopped")
      const steps = blocks.map((b, i) => [
        b.afterStop ? `echo "::stop the server::"\nuntil [ -e ${stopped} ]; do sleep 0.2; done` : "",
        i === 0 ? b.code.replace(URL_LINE, `export CAUSEWAY_URL=${server.url}$1`) : b.code,
        `echo "::tour step ${i + 1} of ${blocks.length} passed::"`
      ].join("\n"))
      const onLine = (line: string) => {
        if (line === "::stop the server::") void server.stop("SIGTERM").then((r) => writeFileSync(stopped, `${r.code}`))
      }
      const result = await run(`set -e\n${steps.join("\n")}`, repo, 150_000, onLine)
      const passed = [...result.stdout.matchAll(/::tour step (\d+) of \d+ passed::/g)].length
      const report = `step ${passed + 1} failed (exit ${result.code}):\n--- block ---\n${blocks[passed]?.code ?? ""}\n--- stdout ---\n${result.stdout.slice(-3000)}\n--- stderr ---\n${result.stderr.slice(-3000)}`
      expect(passed, report).toBe(blocks.length)
      expect(result.code, report).toBe(0)
      // What the steps showed: the orders' final states, the verified receipt, the replay.
      expect(result.stdout).toContain("\"status\": \"revealed\"")
      expect(result.stdout).toMatch(/"verified": ?true/)
      expect(result.stdout).toMatch(/-rw------- .* [0-9a-f]{64}\.json/)
      // The server stopped gracefully, and every projection replays to its final snapshot.
      expect(readFileSync(stopped, "utf8")).toBe("0")
      expect(result.stdout).toMatch(/^mempool @ offset \d+: snapshot [0-9a-f]+ replay [0-9a-f]+ EQUAL$/m)
      expect(result.stdout).not.toMatch(/DIFFERS|skipped/)
    } finally {
      await server.stop("SIGTERM")
    }
  }, 200_000)
})
