/**
 * Opening a data directory's log from the CLI, next to (or without) a running server: the
 * embedded log (`log.sqlite`), or the local index a server on Kafka keeps
 * (`kafka-index.sqlite`: the merged log as of its last merge, the same SQLite layout). SQLite
 * in WAL mode lets this process read while the server writes. The directory and its log must
 * exist: the CLI never creates an empty one by mistake.
 */
import { existsSync, statSync } from "node:fs"
import { resolve } from "node:path"
import { Effect, type Scope } from "effect"
import * as SqliteCausalLog from "../adapters/storage/SqliteCausalLog.ts"
import { kafkaIndexPath, logPath } from "../Config.ts"
import type { CausalLogService } from "../ports/CausalLog.ts"
import { CommandFailed, UsageError } from "./CliErrors.ts"

/** A log file the CLI reads: the embedded log, or a Kafka log's local index. */
export interface LocalLog {
  readonly kind: "embedded" | "kafka-index"
  readonly path: string
}

/** The resolved data directory, failing unless it is an existing directory. */
export const requireDir = (dataDir: string): Effect.Effect<string, CommandFailed> =>
  Effect.suspend(() => {
    const dir = resolve(dataDir)
    if (!existsSync(dir)) return Effect.fail(new CommandFailed({ message: `data directory ${dir} does not exist (set --data-dir or DATA_DIR)` }))
    if (!statSync(dir).isDirectory()) return Effect.fail(new CommandFailed({ message: `${dir} is not a directory` }))
    return Effect.succeed(dir)
  })

/** Fail unless `dataDir` is a directory holding an embedded log. */
export const requireLog = (dataDir: string): Effect.Effect<string, CommandFailed> =>
  Effect.flatMap(requireDir(dataDir), (dir) => {
    const path = logPath(dir)
    if (existsSync(path)) return Effect.succeed(path)
    const index = existsSync(kafkaIndexPath(dir)) ? `; it holds a Kafka log's local index, ${kafkaIndexPath(dir)} (--log kafka)` : ""
    return Effect.fail(new CommandFailed({ message: `no embedded log in ${dir} (expected ${path})${index}` }))
  })

/** Fail unless the Kafka log's local index file `path` exists. */
export const requireIndex = (path: string): Effect.Effect<string, CommandFailed> =>
  Effect.suspend(() =>
    existsSync(path)
      ? Effect.succeed(resolve(path))
      : Effect.fail(new CommandFailed({
        message: `no Kafka log index at ${resolve(path)}: a server on Kafka keeps it there unless --kafka-index said otherwise, ` +
          "and with --kafka-index memory it keeps none (read the topics themselves: --log kafka --brokers host:port)"
      }))
  )

/**
 * The log file `dataDir` holds: its embedded log or, for a server on Kafka, its local index.
 * Both: a usage error (`choose` says how to pick one); neither: the command fails.
 */
export const findLocalLog = (dataDir: string, choose: string): Effect.Effect<LocalLog, CommandFailed | UsageError> =>
  Effect.flatMap(requireDir(dataDir), (dir): Effect.Effect<LocalLog, CommandFailed | UsageError> => {
    const embedded = logPath(dir)
    const index = kafkaIndexPath(dir)
    const [hasEmbedded, hasIndex] = [existsSync(embedded), existsSync(index)]
    if (hasEmbedded && hasIndex) {
      return Effect.fail(new UsageError({ message: `${dir} holds both an embedded log (${embedded}) and a Kafka log's local index (${index}): ${choose}` }))
    }
    if (hasEmbedded) return Effect.succeed({ kind: "embedded", path: embedded })
    if (hasIndex) return Effect.succeed({ kind: "kafka-index", path: index })
    return Effect.fail(new CommandFailed({
      message: `no log in ${dir} (expected ${embedded}, or ${index} for a server on Kafka); has a server run with this data directory?`
    }))
  })

/** A local log file open read-only for the scope (appends fail, nothing is migrated). */
export const openLocalLog = (local: LocalLog): Effect.Effect<CausalLogService, CommandFailed, Scope.Scope> =>
  SqliteCausalLog.make({ path: local.path, readOnly: true }).pipe(
    Effect.mapError((e) => new CommandFailed({ message: `cannot open ${local.path}: ${e.operation}: ${String(e.cause)}` }))
  )

/** The log of an existing data directory, open read-only for the scope: its embedded log, else its Kafka log's local index. */
export const openLog = (dataDir: string, choose: string): Effect.Effect<CausalLogService, CommandFailed | UsageError, Scope.Scope> =>
  Effect.flatMap(findLocalLog(dataDir, choose), openLocalLog)
