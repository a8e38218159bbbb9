/**
 * A process that takes a data directory's lock, for the race test (test/cli/serveLock.test.ts):
 * `node lockChild.ts <dir>` prints "loaded", waits for a line on stdin, tries the lock, and
 * prints "held" or "refused <message>"; holding it, it keeps it until stdin closes.
 */
import { createInterface } from "node:readline"
import { Effect, Exit } from "effect"
import * as DataDirectoryLock from "../../../src/adapters/files/DataDirectoryLock.ts"

const [dir] = process.argv.slice(2)
if (dir === undefined) throw new Error("usage: lockChild.ts <dir>")

const lines = createInterface({ input: process.stdin })
const nextLine = new Promise<void>((resolve) => lines.once("line", () => resolve()))
const closed = new Promise<void>((resolve) => lines.once("close", () => resolve()))
console.log("loaded")
await nextLine

const exit = await Effect.runPromiseExit(Effect.scoped(Effect.gen(function*() {
  yield* DataDirectoryLock.hold(dir)
  console.log("held")
  yield* Effect.promise(() => closed)
})))
if (Exit.isFailure(exit)) {
  const error = exit.cause.reasons[0]
  console.log(`refused ${error?._tag === "Fail" ? (error.error as Error).message : String(exit.cause)}`)
}
process.exit(0)
