/**
 * Opening a data directory's embedded log from the CLI, next to (or without) a running
 * server: SQLite in WAL mode lets this process read while the server writes. The directory
 * and its log must exist: the CLI never creates an empty one by mistake.
 */
import { existsSync, statSync } from "node:fs"
import { resolve } from "node:path"
import { Effect, type Scope } from "effect"
import * as SqliteCausalLog from "../adapters/SqliteCausalLog.ts"
import { logPath } from "../Config.ts"
import type { CausalLogService } from "../ports/CausalLog.ts"
import { CommandFailed } from "./CliErrors.ts"

/** Fail unless `dataDir` is a directory holding a log. */
export const requireLog = (dataDir: string): Effect.Effect<string, CommandFailed> =>
  Effect.suspend(() => {
    const dir = resolve(dataDir)
    if (!existsSync(dir)) return Effect.fail(new CommandFailed({ message: `data directory ${dir} does not exist (set --data-dir or DATA_DIR)` }))
    if (!statSync(dir).isDirectory()) return Effect.fail(new CommandFailed({ message: `${dir} is not a directory` }))
    const path = logPath(dir)
    if (!existsSync(path)) return Effect.fail(new CommandFailed({ message: `no log in ${dir} (expected ${path}); has a server run with this data directory?` }))
    return Effect.succeed(path)
  })

/** The log of an existing data directory, open for the scope (`readOnly`: appends fail, nothing is migrated). */
export const openLog = (
  dataDir: string,
  options: { readonly readOnly?: boolean } = {}
): Effect.Effect<CausalLogService, CommandFailed, Scope.Scope> =>
  requireLog(dataDir).pipe(
    Effect.flatMap((path) => SqliteCausalLog.make({ path, readOnly: options.readOnly === true })),
    Effect.mapError((e) => e._tag === "CommandFailed" ? e : new CommandFailed({ message: `cannot open the log: ${e.operation}: ${String(e.cause)}` }))
  )
