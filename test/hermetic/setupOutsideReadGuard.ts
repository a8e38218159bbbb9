/**
 * vitest setup file of both projects (vitest.config.ts): installs the outside-read guard
 * (outsideReadGuard.ts) before each test file, and fails the file if anything in it was
 * refused, even where a caller caught the error (an `existsSync` that "skips when absent").
 */
import path from "node:path"
import { afterAll } from "vitest"
import { installOutsideReadGuard } from "./outsideReadGuard.ts"

const guard = installOutsideReadGuard(path.resolve(import.meta.dirname, "../.."))

afterAll(() => {
  const refused = guard.drainRefusals()
  if (refused.length > 0) throw new Error(`reads outside the repository were refused during this file:\n${refused.join("\n")}`)
})
