/**
 * `causeway/verify` as a dependency sees it: Node does not strip types inside node_modules,
 * so a consumer needs the JavaScript that `npm run build:verify` emits. This test builds the
 * module with the project's tsconfig.verify.json into a temporary package (the real
 * package.json, verbatim, next to the emitted dist/), links it into a tiny consumer
 * package's node_modules, and runs the consumer with plain Node: it must resolve
 * `causeway/verify` through the `exports` map to dist/verify.js and get the vectors' verdicts.
 * The consumer's TypeScript must also resolve the emitted declarations.
 */
import { spawnSync } from "node:child_process"
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"

const root = path.resolve(import.meta.dirname, "../..")
const tsc = path.join(root, "node_modules", "typescript", "bin", "tsc")
const vectors = path.join(root, "test", "vectors")

let work = ""

const run = (args: ReadonlyArray<string>, cwd: string) => {
  const r = spawnSync(process.execPath, args, { cwd, encoding: "utf8", timeout: 120_000 })
  if (r.error) throw r.error
  return r
}

beforeAll(() => {
  work = mkdtempSync(path.join(tmpdir(), "causeway-verify-"))
  const pkg = path.join(work, "causeway")
  mkdirSync(pkg)
  const build = run([tsc, "-p", path.join(root, "tsconfig.verify.json"), "--outDir", path.join(pkg, "dist")], root)
  if (build.status !== 0) throw new Error(`build:verify failed\n${build.stdout}${build.stderr}`)
  copyFileSync(path.join(root, "package.json"), path.join(pkg, "package.json"))
  // The package's own dependencies (effect, @confio/ics23, @noble/*), as an install would provide them.
  symlinkSync(path.join(root, "node_modules"), path.join(pkg, "node_modules"), "dir")

  const consumer = path.join(work, "consumer")
  mkdirSync(path.join(consumer, "node_modules"), { recursive: true })
  symlinkSync(pkg, path.join(consumer, "node_modules", "causeway"), "dir")
  writeFileSync(path.join(consumer, "package.json"), JSON.stringify({ name: "consumer", private: true, type: "module", dependencies: { causeway: "file:../causeway" } }))
  writeFileSync(
    path.join(consumer, "check.mjs"),
    `import { readFileSync } from "node:fs"
import * as verify from "causeway/verify"
const read = (p) => JSON.parse(readFileSync(${JSON.stringify(vectors)} + "/" + p, "utf8"))
const exist = read("ics23/iavl/exist_left.json")
const absent = read("ics23/iavl/nonexist_left.json")
const file = read("cometbft-light-client/tendermint-rs/model_based/single_step/MC100_2_faulty_TestSuccess.json")
const step = file.input[0]
const lightBlock = verify.verifyLightBlock({ trusted: file.initial, untrusted: step.block, now: step.now, trustingPeriod: file.initial.trusting_period, maxClockDrift: "0" })
const eth = read("eth-getproof/cases.json").cases.find((c) => c.name === "ethereumjs/ropsten_nonexistentAccount")
const toHeight = await verify.verifyToHeight({ trustedHeight: 1, trustedHash: "00", targetHeight: 2, primary: async () => { throw new Error("offline") }, now: step.now, trustingPeriod: file.initial.trusting_period })
console.log(JSON.stringify({
  resolved: import.meta.resolve("causeway/verify"),
  exports: Object.keys(verify).sort(),
  membership: verify.verifyIcs23Membership("iavl", exist.root, exist.proof, exist.key, exist.value),
  forgedMembership: verify.verifyIcs23Membership("iavl", exist.root, exist.proof, exist.key, exist.value + "00"),
  nonMembership: verify.verifyIcs23NonMembership("iavl", absent.root, absent.proof, absent.key),
  lightBlock: lightBlock._tag === "Success" ? "SUCCESS" : lightBlock.failure._tag,
  expectedLightBlock: step.verdict,
  eth: verify.verifyEip1186Proof(eth.stateRoot, eth.proof)._tag,
  toHeight: toHeight._tag === "Failure" ? toHeight.failure._tag : "Success"
}))
`
  )
  writeFileSync(
    path.join(consumer, "typed.ts"),
    `import { type LightBlock, verifyIcs23Membership, verifyLightBlock, verifyToHeight } from "causeway/verify"
declare const block: LightBlock
const verdict = verifyLightBlock({ trusted: block, untrusted: block, now: "2024-01-01T00:00:00Z", trustingPeriod: "1" })
export const height: number | undefined = verdict._tag === "Success" ? verdict.success.height : undefined
export const ok: boolean = verifyIcs23Membership("iavl", "", "", "", "")
export const target = verifyToHeight({ trustedHeight: 1, trustedHash: "", targetHeight: 2, primary: () => block, now: "", trustingPeriod: "" })
`
  )
  writeFileSync(
    path.join(consumer, "tsconfig.json"),
    JSON.stringify({ compilerOptions: { module: "NodeNext", moduleResolution: "NodeNext", target: "ES2024", strict: true, noEmit: true, skipLibCheck: true, types: [] }, files: ["typed.ts"] })
  )
}, 120_000)

afterAll(() => {
  if (work !== "") rmSync(work, { recursive: true, force: true })
})

describe("causeway/verify built for consumers", () => {
  it("resolves to dist/verify.js from node_modules and gives the vectors' verdicts", () => {
    const r = run(["check.mjs"], path.join(work, "consumer"))
    expect(r.stderr).toBe("")
    const out = JSON.parse(r.stdout) as Record<string, unknown>
    expect(out["resolved"]).toMatch(/\/causeway\/dist\/verify\.js$/)
    expect(out["exports"]).toEqual(
      expect.arrayContaining(["verifyLightBlock", "verifyToHeight", "verifyIcs23Membership", "verifyIcs23NonMembership", "verifyEip1186Proof"])
    )
    expect(out["membership"]).toBe(true)
    expect(out["forgedMembership"]).toBe(false)
    expect(out["nonMembership"]).toBe(true)
    expect(out["expectedLightBlock"]).toBe("SUCCESS")
    expect(out["lightBlock"]).toBe("SUCCESS")
    expect(out["eth"]).toBe("Success")
    expect(out["toHeight"]).toBe("LightBlockSourceFailed")
  })

  it("type-checks a TypeScript consumer against the emitted declarations", () => {
    const r = run([tsc, "-p", "tsconfig.json"], path.join(work, "consumer"))
    expect(`${r.stdout}${r.stderr}`).toBe("")
    expect(r.status).toBe(0)
  })
})
