/**
 * test/vectors is the project's own copy of the third-party vectors: it must hold exactly the
 * files SHA256SUMS records, with the recorded bytes. The check is proven to fire on a copy
 * with one byte changed, one file added and one removed, and the sync that refreshes the copy
 * is run on temporary folders.
 */
import { spawnSync } from "node:child_process"
import { appendFileSync, cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import path from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import { COPY_NOTE, syncVectors } from "./syncVectors.ts"
import { checkManifest, MANIFEST, manifestOf } from "./vectorManifest.ts"

const vectors = path.resolve(import.meta.dirname, "../vectors")
const clean = { altered: [], added: [], removed: [], invalid: [] }

const temps: Array<string> = []
const tempDir = (): string => {
  const dir = mkdtempSync(path.join(tmpdir(), "causeway-vectors-"))
  temps.push(dir)
  return dir
}
afterAll(() => {
  for (const dir of temps) rmSync(dir, { recursive: true, force: true })
})

describe("test/vectors", () => {
  it("holds exactly the files SHA256SUMS records, with their recorded hashes", () => {
    expect(checkManifest(vectors)).toStrictEqual(clean)
  })

  it("records every folder of the vectors with its README.txt", () => {
    const recorded = readFileSync(path.join(vectors, MANIFEST), "utf8")
    for (const folder of ["cometbft-light-client", "drand-tlock", "ed25519", "eth-getproof", "evm-receipts", "groth16", "ibc", "ics23"]) {
      expect(recorded).toContain(`  ${folder}/README.txt\n`)
    }
    expect(recorded).toContain("  README.md\n")
  })

  it("has SHA256SUMS sorted and complete as written, and sha256sum itself accepts it", () => {
    expect(readFileSync(path.join(vectors, MANIFEST), "utf8")).toBe(manifestOf(vectors))
    const run = spawnSync("sha256sum", ["--check", "--strict", "--quiet", MANIFEST], { cwd: vectors, encoding: "utf8" })
    expect({ status: run.status, output: run.stdout + run.stderr }).toStrictEqual({ status: 0, output: "" })
  })
})

describe("checkManifest", () => {
  it("names a file with one byte changed, a file added and a file removed", () => {
    const copy = path.join(tempDir(), "vectors")
    cpSync(vectors, copy, { recursive: true })
    expect(checkManifest(copy)).toStrictEqual(clean)

    const altered = "ics23/iavl/exist_left.json"
    const bytes = readFileSync(path.join(copy, altered))
    bytes.writeUInt8(bytes.readUInt8(10) ^ 1, 10)
    writeFileSync(path.join(copy, altered), bytes)
    writeFileSync(path.join(copy, "ed25519", "extra.json"), "{}")
    rmSync(path.join(copy, "drand-tlock", "lorem.txt"))

    expect(checkManifest(copy)).toStrictEqual({
      altered: [altered],
      added: ["ed25519/extra.json"],
      removed: ["drand-tlock/lorem.txt"],
      invalid: []
    })
  })

  it("refuses a symlink, a malformed line and a missing manifest", () => {
    const dir = tempDir()
    writeFileSync(path.join(dir, "a.json"), "{}")
    writeFileSync(path.join(dir, MANIFEST), manifestOf(dir))
    expect(checkManifest(dir)).toStrictEqual(clean)

    symlinkSync(path.join(dir, "a.json"), path.join(dir, "link.json"))
    appendFileSync(path.join(dir, MANIFEST), "not a hash  b.json\n")
    expect(checkManifest(dir)).toStrictEqual({
      altered: [],
      added: [],
      removed: [],
      invalid: ["link.json: not a regular file", `${MANIFEST} line 2: "not a hash  b.json"`]
    })

    rmSync(path.join(dir, MANIFEST))
    rmSync(path.join(dir, "link.json"))
    expect(checkManifest(dir)).toStrictEqual({ altered: [], added: ["a.json"], removed: [], invalid: [`${MANIFEST}: missing`] })
  })
})

describe("syncVectors", () => {
  it("makes the target a byte copy of the source, removes what the source lost, and rewrites the manifest", () => {
    const source = path.join(tempDir(), "arrivals")
    const target = path.join(tempDir(), "vectors")
    mkdirSync(path.join(source, "suite", "deep"), { recursive: true })
    writeFileSync(path.join(source, "README.md"), "# vectors\n")
    writeFileSync(path.join(source, "suite", "README.txt"), "source: somewhere, licence: MIT\r\n")
    writeFileSync(path.join(source, "suite", "deep", "case.json"), Uint8Array.from([0x7b, 0x7d, 0x00, 0xff]))
    mkdirSync(path.join(target, "gone"), { recursive: true })
    writeFileSync(path.join(target, "gone", "old.json"), "{}")
    writeFileSync(path.join(target, "README.md"), "# stale\n")

    const first = syncVectors({ source, target, sourceName: "arrivals", date: "2026-01-02" })
    expect(first).toStrictEqual({ written: ["README.md", "suite/README.txt", "suite/deep/case.json"], removed: ["gone/old.json"] })
    expect(checkManifest(target)).toStrictEqual(clean)
    expect(readFileSync(path.join(target, MANIFEST), "utf8").split("\n").map((l) => l.slice(66))).toStrictEqual([
      ".gitattributes",
      COPY_NOTE,
      "README.md",
      "suite/README.txt",
      "suite/deep/case.json",
      ""
    ])
    for (const name of ["README.md", "suite/README.txt", "suite/deep/case.json"]) {
      expect(readFileSync(path.join(target, name)).equals(readFileSync(path.join(source, name)))).toBe(true)
    }
    expect(readFileSync(path.join(target, COPY_NOTE), "utf8")).toContain("copy of `arrivals`, the folder\nwhere new third-party vectors arrive, taken on 2026-01-02")

    // Nothing new: nothing written, and the note keeps the date of the copy it describes.
    expect(syncVectors({ source, target, sourceName: "arrivals", date: "2026-03-04" })).toStrictEqual({ written: [], removed: [] })
    expect(readFileSync(path.join(target, COPY_NOTE), "utf8")).toContain("taken on 2026-01-02")
  })

  it("refuses a source that holds a file the copy writes itself", () => {
    const source = tempDir()
    writeFileSync(path.join(source, MANIFEST), "")
    expect(() => syncVectors({ source, target: tempDir(), sourceName: "arrivals", date: "2026-01-02" })).toThrow(/SHA256SUMS, which the copy writes itself/)
  })
})
