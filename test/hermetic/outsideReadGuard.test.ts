/**
 * The outside-read guard, as the setup file installed it for this run: reads of a folder next
 * to the repository throw, whichever node:fs entry point and path form a test uses; reads
 * inside the repository, of node_modules by its real path, and outside the parent still work.
 */
import { spawnSync } from "node:child_process"
import fs, { createReadStream, existsSync, mkdtempSync, openSync, readFileSync, readdirSync, realpathSync, rmdirSync, rmSync, statSync, unlinkSync, writeFileSync } from "node:fs"
import { readFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import path from "node:path"
import { pathToFileURL } from "node:url"
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest"
import { installedOutsideReadGuard } from "./outsideReadGuard.ts"

const root = path.resolve(import.meta.dirname, "../..")
const guard = installedOutsideReadGuard()
const refusedMessage = /refused: .* is outside the repository .* but inside its parent folder: tests must not read there/

it("is installed by the setup file for this repository, and active here", () => {
  expect(guard?.root).toBe(root)
  expect(guard?.parent).toBe(path.dirname(root))
  // The guard is inactive only when the parent is / or the temporary folder; say so plainly.
  expect(guard?.active, `parent ${path.dirname(root)} is / or the temporary folder: the guard cannot tell siblings apart`).toBe(true)
})

describe.runIf(guard?.active)("a folder next to the repository", () => {
  let sibling = ""
  let file = ""
  beforeAll(() => {
    // mkdtemp and writes are not guarded: only reads are.
    sibling = mkdtempSync(path.join(path.dirname(root), "causeway-guard-probe-"))
    file = path.join(sibling, "vector.json")
    writeFileSync(file, "{}")
  })
  afterAll(() => {
    // unlink and rmdir are not reads; rmSync may stat what it removes (Node 20's does), which the guard refuses here.
    if (file !== "") unlinkSync(file)
    if (sibling !== "") rmdirSync(sibling)
  })
  // Every refusal is also recorded for the setup file's end-of-file check; these are expected.
  afterEach(() => {
    guard?.drainRefusals()
  })

  it("cannot be read through any node:fs entry point", async () => {
    const attempts: ReadonlyArray<readonly [string, () => unknown]> = [
      ["readFileSync", () => readFileSync(file, "utf8")],
      ["readFileSync (default import)", () => fs.readFileSync(file)],
      ["readFile (callback)", () => fs.readFile(file, () => undefined)],
      ["readdirSync", () => readdirSync(sibling)],
      ["readdir (callback)", () => fs.readdir(sibling, () => undefined)],
      ["openSync", () => openSync(file, "r")],
      ["open (callback)", () => fs.open(file, "r", () => undefined)],
      ["createReadStream", () => createReadStream(file)],
      ["statSync", () => statSync(file)],
      ["existsSync", () => existsSync(file)],
      ["copyFileSync", () => fs.copyFileSync(file, path.join(tmpdir(), "never"))]
    ]
    for (const [name, attempt] of attempts) expect(attempt, name).toThrow(refusedMessage)
    await expect(readFile(file, "utf8")).rejects.toThrow(refusedMessage)
    await expect(fs.promises.readFile(file)).rejects.toThrow(refusedMessage)
    await expect(fs.promises.readdir(sibling)).rejects.toThrow(refusedMessage)
    await expect(fs.promises.open(file, "r")).rejects.toThrow(refusedMessage)
    await expect(fs.promises.stat(file)).rejects.toThrow(refusedMessage)
  })

  it("cannot be read by a relative path, a file URL or a Buffer either, and the error names the path", () => {
    expect(() => readFileSync(path.relative(process.cwd(), file))).toThrow(`readFileSync(${JSON.stringify(path.relative(process.cwd(), file))}) refused: ${file} is outside`)
    expect(() => readFileSync(pathToFileURL(file))).toThrow(refusedMessage)
    expect(() => readFileSync(Buffer.from(file))).toThrow(refusedMessage)
  })

  it("records a refusal even when the caller swallows the error, so the setup file fails the file", () => {
    const probe = (): boolean => {
      try {
        return existsSync(file)
      } catch {
        return false
      }
    }
    expect(probe()).toBe(false)
    expect(guard?.drainRefusals()).toStrictEqual([`fs.existsSync(${JSON.stringify(file)}) refused: ${guard?.refusal(file, "probe")}`])
  })

  it("refuses listing the parent folder, but lets tools probe its direct entries as they walk up", () => {
    expect(() => readdirSync(path.dirname(root))).toThrow(refusedMessage)
    expect(() => existsSync(path.join(path.dirname(root), "package.json"))).not.toThrow()
    expect(existsSync(sibling)).toBe(true)
    expect(() => existsSync(path.join(sibling, "anything"))).toThrow(refusedMessage)
  })

  it("does not reach child processes (the static check covers their sources)", () => {
    const child = spawnSync(process.execPath, ["-e", `process.stdout.write(require("node:fs").readFileSync(${JSON.stringify(file)}, "utf8"))`], { encoding: "utf8" })
    expect(child.stdout).toBe("{}")
  })
})

describe("reads the guard allows", () => {
  it("inside the repository, by any entry point", async () => {
    expect(JSON.parse(readFileSync(path.join(root, "package.json"), "utf8")).name).toBe("causeway")
    expect(readdirSync(path.join(root, "test", "vectors"))).toContain("SHA256SUMS")
    expect(existsSync(path.join(root, "test", "vectors", "README.md"))).toBe(true)
    expect(statSync(path.join(root, "vitest.config.ts")).isFile()).toBe(true)
    expect(await readFile(path.join(root, "test", "vectors", "README.md"), "utf8")).toContain("conformance vectors")
    expect(readFileSync(path.relative(process.cwd(), path.join(root, "package.json")), "utf8")).toContain("\"causeway\"")
  })

  it("node_modules by its real path, even when it is a symlink to another checkout's", () => {
    const real = realpathSync(path.join(root, "node_modules", "vitest", "package.json"))
    expect(JSON.parse(readFileSync(real, "utf8")).name).toBe("vitest")
  })

  it("outside the parent folder: the temporary folder", () => {
    const dir = mkdtempSync(path.join(tmpdir(), "causeway-guard-"))
    try {
      writeFileSync(path.join(dir, "a"), "a")
      expect(readFileSync(path.join(dir, "a"), "utf8")).toBe("a")
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
