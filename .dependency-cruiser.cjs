// Dependency direction for causeway (see ../shared/STYLE.md, "Dependency direction").
// Run with `npm run check:deps`; CI runs it from .ci/run and test/depcheck.test.ts proves
// each rule really fires on a violating fixture.
//
//   domain       -> domain, effect, @noble/*            (no node built-ins)
//   ports        -> domain, ports, effect
//   projections  -> domain, ports, projections, effect, @noble/*
//   services     -> domain, ports, projections, services, effect, lru-cache, @noble/*, node built-ins
//   adapters     -> domain, ports, adapters, any library, node built-ins
//   adapters/http (the driving adapter) may also call services and projections
//   only src/main.ts, src/cli/**, src/verify.ts (public library entry), test/** and bench/** import adapters
//
// Paths of npm packages are matched on where they resolve (node_modules/<name>/...), so a
// subpath import such as "effect/http-api" or "@noble/hashes/sha2.js" counts as its package.
// The match is not anchored at the start so that the fixture in test/fixtures/depcheck, cruised
// from its own folder, resolves packages to ../../../node_modules/<name>/ and is judged the same.

/** Packages a layer may import, as a regex on the resolved path. */
const pkg = (...names) => `(^|/)node_modules/(${names.join("|")})/`

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: "no-circular",
      severity: "error",
      comment: "Modules must not depend on each other in a cycle.",
      from: {},
      to: { circular: true }
    },
    {
      name: "no-unresolvable",
      severity: "error",
      comment:
        "Every import must resolve to a file or package; an unresolved import would slip past every other rule.",
      from: {},
      to: { couldNotResolve: true }
    },
    {
      name: "domain-no-node-builtins",
      severity: "error",
      comment: "The domain is pure: no node built-ins (fs, crypto, sqlite, ...).",
      from: { path: "^src/domain/" },
      to: { dependencyTypes: ["core"] }
    },
    {
      name: "domain-only-effect-noble",
      severity: "error",
      comment: "src/domain may import only other domain files, effect and @noble/*.",
      from: { path: "^src/domain/" },
      to: {
        dependencyTypesNot: ["core"],
        pathNot: ["^src/domain/", pkg("effect", "@noble/[^/]+")]
      }
    },
    {
      name: "ports-only-domain-effect",
      severity: "error",
      comment: "src/ports may import only domain, ports and effect.",
      from: { path: "^src/ports/" },
      to: { pathNot: ["^src/(domain|ports)/", pkg("effect")] }
    },
    {
      name: "projections-only-domain-ports-effect-noble",
      severity: "error",
      comment: "src/projections may import only domain, ports, projections, effect and @noble/* (never adapters).",
      from: { path: "^src/projections/" },
      to: { pathNot: ["^src/(domain|ports|projections)/", pkg("effect", "@noble/[^/]+")] }
    },
    {
      name: "services-only-core-layers",
      severity: "error",
      comment:
        "src/services may import domain, ports, projections, services, effect, lru-cache, @noble/* and node built-ins (never adapters).",
      from: { path: "^src/services/" },
      to: {
        dependencyTypesNot: ["core"],
        pathNot: ["^src/(domain|ports|projections|services)/", pkg("effect", "lru-cache", "@noble/[^/]+")]
      }
    },
    {
      name: "adapters-not-to-application",
      severity: "error",
      comment:
        "Adapters implement ports: they import ports, domain, other adapters and their own libraries, not services, projections or the composition root. The driving HTTP adapter (src/adapters/http) is the one exception allowed to call services and projections.",
      from: { path: "^src/adapters/", pathNot: "^src/adapters/http/" },
      to: { path: "^src/(services|projections)/" }
    },
    {
      name: "adapters-not-to-composition-root",
      severity: "error",
      comment: "No adapter imports the composition root (src/main.ts, src/cli).",
      from: { path: "^src/adapters/" },
      to: { path: "^src/(main\\.ts$|cli/)" }
    },
    {
      name: "only-composition-root-imports-adapters",
      severity: "error",
      comment:
        "Only src/main.ts, src/cli/**, src/verify.ts (the public library's entry), test/** and bench/** (and adapters themselves) may import src/adapters.",
      from: { pathNot: ["^src/adapters/", "^src/main\\.ts$", "^src/verify\\.ts$", "^src/cli/", "^test/", "^bench/"] },
      to: { path: "^src/adapters/" }
    }
  ],
  options: {
    // Type-only imports count: a domain file must not even name an adapter's type.
    tsPreCompilationDeps: true,
    detectProcessBuiltinModuleCalls: true,
    tsConfig: { fileName: "tsconfig.json" },
    doNotFollow: { path: "node_modules" },
    enhancedResolveOptions: {
      exportsFields: ["exports"],
      conditionNames: ["types", "import", "node", "default"],
      mainFields: ["module", "main", "types", "typings"]
    },
    reporterOptions: {
      text: { highlightFocused: true }
    }
  }
}
