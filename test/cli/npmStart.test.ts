// SIGTERM and SIGINT sent to `npm start` (to npm's pid only, as a service manager or a test
// harness does) reach the server: it shuts down gracefully and nothing is left running.
// npm forwards both signals to the script's process, `sh -c <script>`; a shell that runs the
// server as its child dies of the signal and leaves the server orphaned (measured on npm 11 /
// dash before the script said `exec`), so the script execs the server in the shell's place.
import { type ChildProcess, spawn } from "node:child_process"
import { connect } from "node:net"
import { join } from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import { baseEnv, cleanup, eventually, root, tempDir, waitForLine } from "./support/cli.ts"

afterAll(cleanup)

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
    return true
  } catch (e) {
    return (e as NodeJS.ErrnoException).code !== "ESRCH"
  }
}

const portOpen = (port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const socket = connect({ host: "127.0.0.1", port })
    socket.once("connect", () => {
      socket.destroy()
      resolve(true)
    })
    socket.once("error", () => resolve(false))
  })

/** The child's exit, or a failure after `timeoutMs`. */
const exitOf = (child: ChildProcess, timeoutMs: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }> =>
  new Promise((resolve, reject) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve({ code: child.exitCode, signal: child.signalCode })
    const timer = setTimeout(() => reject(new Error(`npm did not exit within ${timeoutMs} ms`)), timeoutMs)
    child.once("exit", (code, signal) => {
      clearTimeout(timer)
      resolve({ code, signal })
    })
  })

describe("npm start", () => {
  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    it(`${signal} to npm's pid stops the server gracefully, and nothing is orphaned`, async () => {
      const dataDir = join(tempDir(), "data")
      const npm = spawn("npm", ["start", "--", "--port", "0", "--data-dir", dataDir], {
        cwd: root,
        env: { ...baseEnv(), npm_config_update_notifier: "false" },
        stdio: ["ignore", "pipe", "pipe"]
      })
      let out = ""
      npm.stdout.setEncoding("utf8").on("data", (d: string) => (out += d))
      npm.stderr.setEncoding("utf8").on("data", (d: string) => (out += d))
      let serverPid: number | undefined
      try {
        const line = await waitForLine(npm, () => out, (l) => l.includes("\"causeway serving\""), 30_000)
        const { annotations } = JSON.parse(line) as { annotations: { pid: number; port: number } }
        serverPid = annotations.pid
        expect(serverPid).not.toBe(npm.pid)
        expect(await portOpen(annotations.port)).toBe(true)

        npm.kill(signal)
        const exit = await exitOf(npm, 20_000)
        expect(exit, out).toStrictEqual({ code: 0, signal: null })
        const pid = serverPid
        await eventually(async () => alive(pid), (a) => !a, 20_000)
        expect(await portOpen(annotations.port)).toBe(false)
        // The server's own graceful shutdown ran (it drains, then writes its last snapshot).
        expect(out).toContain("\"causeway shutting down\"")
      } finally {
        if (npm.exitCode === null && npm.signalCode === null) npm.kill("SIGKILL")
        if (serverPid !== undefined && alive(serverPid)) process.kill(serverPid, "SIGKILL")
      }
    }, 60_000)
  }
})
