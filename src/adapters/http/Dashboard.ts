/**
 * The dashboard (web/): its page at /, its script at /dashboard.js and its style sheet at
 * /dashboard.css. The script is bundled from web/src/main.tsx by esbuild when the server
 * starts (in the background; a request before it is done waits for it), minified and kept in
 * memory: nothing is generated on disk, and no build step precedes `npm start`. A bundle that
 * fails is logged once as a DashboardBuildFailed and the three paths answer 503 with its
 * reason; the API serves on regardless.
 *
 * The page holds no data (it reads the API from the browser, with the token the user gives
 * it), so it is served without a token even when reads are private (ApiAuth.ts). Every
 * answer carries a Content-Security-Policy that allows only this origin's script, style and
 * connections: no inline script, no third-party origin.
 */
import { readFile } from "node:fs/promises"
import { join, resolve } from "node:path"
import { Data, Effect, Layer } from "effect"
import { HttpRouter, HttpServerResponse } from "effect/http"
import { build } from "esbuild"

/** The dashboard's files as served. */
export interface DashboardFiles {
  readonly html: string
  readonly script: string
  readonly css: string
}

/** The dashboard could not be built (a source missing, a bundling error). */
export class DashboardBuildFailed extends Data.TaggedError("DashboardBuildFailed")<{
  readonly reason: string
}> {}

/** Where the dashboard's sources are (web/ at the repository root). */
export const DEFAULT_WEB_DIR = resolve(import.meta.dirname, "..", "..", "..", "web")

/** The paths the dashboard serves; public even with private reads (they hold no data). */
export const DASHBOARD_PATHS: ReadonlyArray<string> = ["/", "/dashboard.js", "/dashboard.css"]

/** The Content-Security-Policy of every dashboard answer. */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'"
].join("; ")

const oneLine = (s: string): string => s.replace(/\s*\n\s*/g, " ").slice(0, 2000)

/** Bundle web/src/main.tsx (with Preact, and the domain's receipt check) and read the page and style sheet. */
export const buildFiles = Effect.fn("Dashboard.build")(function*(webDir: string) {
  const read = (name: string) =>
    Effect.tryPromise({
      try: () => readFile(join(webDir, name), "utf8"),
      catch: (cause) => new DashboardBuildFailed({ reason: `cannot read web/${name}: ${oneLine(String(cause))}` })
    })
  const html = yield* read("index.html")
  const css = yield* read("style.css")
  const result = yield* Effect.tryPromise({
    try: () =>
      build({
        entryPoints: [join(webDir, "src", "main.tsx")],
        bundle: true,
        minify: true,
        write: false,
        format: "esm",
        platform: "browser",
        target: "es2022",
        jsx: "automatic",
        jsxImportSource: "preact",
        // The domain's sources, as the repository's own code imports them.
        conditions: ["causeway-source"],
        legalComments: "none",
        logLevel: "silent"
      }),
    catch: (cause) => new DashboardBuildFailed({ reason: `bundling web/src/main.tsx failed: ${oneLine(String(cause))}` })
  })
  const script = result.outputFiles[0]?.text
  if (script === undefined) return yield* new DashboardBuildFailed({ reason: "esbuild produced no output" })
  return { html, script, css } satisfies DashboardFiles
})

const securityHeaders = {
  "content-security-policy": CONTENT_SECURITY_POLICY,
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "cache-control": "no-cache"
}

const unavailable = (e: DashboardBuildFailed) =>
  HttpServerResponse.jsonUnsafe({ _tag: "DashboardUnavailable", reason: e.reason }, { status: 503 })

/**
 * The dashboard's routes, bundling from `webDir` (default web/) once: started in the
 * background when the layer is built, awaited by the first requests.
 */
export const layer = (options: { readonly webDir?: string } = {}) =>
  HttpRouter.use(Effect.fnUntraced(function*(router) {
    const files = yield* Effect.cached(
      buildFiles(options.webDir ?? DEFAULT_WEB_DIR).pipe(
        Effect.tapError((e) => Effect.logError("dashboard unavailable", e.reason))
      )
    )
    yield* Effect.forkScoped(Effect.ignore(files))
    const serve = (pick: (f: DashboardFiles) => string, contentType: string) =>
      files.pipe(
        Effect.map((f) => HttpServerResponse.text(pick(f), { contentType, headers: securityHeaders })),
        Effect.catch((e) => Effect.succeed(unavailable(e)))
      )
    yield* router.add("GET", "/", serve((f) => f.html, "text/html; charset=utf-8"))
    yield* router.add("GET", "/dashboard.js", serve((f) => f.script, "text/javascript; charset=utf-8"))
    yield* router.add("GET", "/dashboard.css", serve((f) => f.css, "text/css; charset=utf-8"))
  }))

/** No dashboard (an embedder that serves only the API). */
export const layerNone = Layer.empty
