// The dependency-direction check (npm run check:deps) is only worth something if its rules
// really fire: a regex that matches no resolved path passes everything. These tests run the
// real .dependency-cruiser.cjs on a fixture that breaks every rule once, and on the real src/.
import { spawnSync } from "node:child_process"
import { readdirSync } from "node:fs"
import { join, relative, resolve } from "node:path"
import { describe, expect, it } from "vitest"

const root = resolve(import.meta.dirname, "..")
const fixture = join(root, "test", "fixtures", "depcheck")
const config = join(root, ".dependency-cruiser.cjs")
const depcruise = join(root, "node_modules", "dependency-cruiser", "bin", "dependency-cruiser.mjs")

interface Violation {
  readonly from: string
  readonly to: string
  readonly rule: { readonly name: string; readonly severity: string }
  readonly cycle?: ReadonlyArray<{ readonly name: string }>
}
interface CruiseResult {
  readonly modules: ReadonlyArray<{
    readonly source: string
    readonly dependencies: ReadonlyArray<{ readonly module: string; readonly resolved: string; readonly couldNotResolve: boolean }>
  }>
  readonly summary: { readonly violations: ReadonlyArray<Violation>; readonly error: number }
}

/** Runs depcruise with the project config on `src` inside `cwd`, as `npm run check:deps` does. */
const cruise = (cwd: string, outputType: "json" | "err") => {
  const run = spawnSync(process.execPath, [depcruise, "--config", config, "--output-type", outputType, "src"], {
    cwd,
    encoding: "utf8",
    timeout: 60_000
  })
  if (run.error) throw run.error
  return { status: run.status, stdout: run.stdout, stderr: run.stderr }
}

/** Names a resolved npm path by its package, so the fixture's ../../../node_modules paths compare plainly. */
const short = (path: string) => path.replace(/^.*node_modules\/((?:@[^/]+\/)?[^/]+)\/.*$/, "npm:$1")

const tsFilesUnder = (dir: string): Array<string> =>
  readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) return tsFilesUnder(path)
    return entry.name.endsWith(".ts") ? [relative(root, path)] : []
  })

describe("dependency-direction check", () => {
  it("reports every rule the fixture breaks, and nothing it keeps", () => {
    const run = cruise(fixture, "json")
    const result = JSON.parse(run.stdout) as CruiseResult
    const found = result.summary.violations
      .map((v) =>
        v.rule.name === "no-circular"
          ? `${v.rule.name}: ${v.from} (cycle through ${(v.cycle ?? []).map((c) => c.name).join(", ")})`
          : `${v.rule.name}: ${v.from} -> ${short(v.to)}`
      )
      .sort()

    expect(found).toEqual(
      [
        "adapters-not-to-application: src/adapters/AdapterX.ts -> src/services/ServiceS.ts",
        "adapters-not-to-composition-root: src/adapters/AdapterX.ts -> src/main.ts",
        "domain-no-node-builtins: src/domain/BadDomain.ts -> fs",
        "domain-no-node-builtins: src/domain/BadDomainBuiltinCall.ts -> os",
        "domain-only-effect-noble: src/domain/BadDomain.ts -> npm:lru-cache",
        "domain-only-effect-noble: src/domain/BadDomain.ts -> src/adapters/AdapterX.ts",
        "domain-only-effect-noble: src/domain/BadDomainTypeOnly.ts -> src/services/ServiceS.ts",
        "domain-only-effect-noble: src/domain/BadDomainUnresolvable.ts -> ./DoesNotExist.ts",
        "no-circular: src/services/CycleA.ts (cycle through src/services/CycleB.ts, src/services/CycleA.ts)",
        "no-unresolvable: src/domain/BadDomainUnresolvable.ts -> ./DoesNotExist.ts",
        "only-composition-root-imports-adapters: src/domain/BadDomain.ts -> src/adapters/AdapterX.ts",
        "only-composition-root-imports-adapters: src/projections/BadProjection.ts -> src/adapters/AdapterY.ts",
        "only-composition-root-imports-adapters: src/services/ServiceS.ts -> src/adapters/AdapterY.ts",
        "ports-only-domain-effect: src/ports/BadPort.ts -> src/projections/BadProjection.ts",
        "projections-only-domain-ports-effect-noble: src/projections/BadProjection.ts -> src/adapters/AdapterY.ts",
        "services-only-core-layers: src/services/ServiceS.ts -> src/adapters/AdapterY.ts"
      ].sort()
    )
  })

  it("fails the human-readable run with the rule name, as CI prints it", () => {
    // Only the "err" reporter (the CLI default, used by check:deps) exits with the error count.
    const run = cruise(fixture, "err")
    expect(run.status).toBe(16)
    expect(run.stdout).toContain("domain-no-node-builtins: src/domain/BadDomain.ts → fs")
    expect(run.stdout).toContain("only-composition-root-imports-adapters: src/domain/BadDomain.ts → src/adapters/AdapterX.ts")
  })

  it("passes on the real src/, having resolved every .ts import", () => {
    const run = cruise(root, "json")
    const result = JSON.parse(run.stdout) as CruiseResult
    const violations = result.summary.violations.map((v) => `${v.rule.name}: ${v.from} -> ${v.to}`)
    expect(violations).toEqual([])

    // Guard against a vacuous pass: every source file was cruised and every relative import
    // landed on a real src/ file (so the .ts-extension imports were understood).
    const cruised = new Set(result.modules.map((m) => m.source))
    for (const file of tsFilesUnder(join(root, "src"))) expect(cruised, file).toContain(file)
    const relativeImports = result.modules.flatMap((m) => m.dependencies.filter((d) => d.module.startsWith(".")))
    expect(relativeImports.length).toBeGreaterThan(0)
    for (const dep of relativeImports) {
      expect(dep.couldNotResolve, dep.module).toBe(false)
      expect(dep.resolved).toMatch(/^src\/.+\.ts$/)
    }
  })
})
