/**
 * `npm run lint:openapi`: lint the OpenAPI document generated from the HTTP contract (the
 * same OpenApi.fromApi(Api) that /openapi.json serves) with Redocly and redocly.yaml. The
 * document goes to a temporary file, removed after; extra arguments go to `redocly lint`
 * (e.g. `-- --format=summary`). Exits with Redocly's status: non-zero on any error.
 */
import { spawnSync } from "node:child_process"
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { createRequire } from "node:module"
import { tmpdir } from "node:os"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import { OpenApi } from "effect/http-api"
import { Api } from "../src/adapters/http/Api.ts"

const root = join(dirname(fileURLToPath(import.meta.url)), "..")
const redocly = join(dirname(createRequire(import.meta.url).resolve("@redocly/cli/package.json")), "bin", "cli.js")

const dir = mkdtempSync(join(tmpdir(), "causeway-openapi-"))
try {
  const file = join(dir, "openapi.json")
  writeFileSync(file, JSON.stringify(OpenApi.fromApi(Api), null, 2))
  const result = spawnSync(process.execPath, [redocly, "lint", file, "--config", join(root, "redocly.yaml"), ...process.argv.slice(2)], {
    stdio: "inherit",
    // No telemetry, no update check: the lint must not phone home.
    env: { ...process.env, REDOCLY_TELEMETRY: "off", REDOCLY_SUPPRESS_UPDATE_NOTICE: "true", REDOCLY_SUPPRESS_NOTIFICATIONS: "true" }
  })
  process.exitCode = result.status ?? 1
} finally {
  rmSync(dir, { recursive: true, force: true })
}
