/**
 * Why a command failed, each with the process exit code it ends in: 1 when the command ran
 * and the answer is no (a rejection, a digest mismatch, a missing data directory), 2 for a
 * usage error (bad flags, an unreadable key, invalid JSON), 3 when the server cannot be reached.
 * The entry point prints `message` to stderr and exits with `[Runtime.errorExitCode]`.
 */
import { Data, Runtime } from "effect"

/** Exit code of a usage error (the same as a flag the parser refuses). */
export const EXIT_USAGE = 2

/** The command ran and failed: exit 1. */
export class CommandFailed extends Data.TaggedError("CommandFailed")<{ readonly message: string }> {
  override readonly [Runtime.errorExitCode] = 1
}

/** The invocation is wrong: a flag value, a file the flags name, or input that does not parse. Exit 2. */
export class UsageError extends Data.TaggedError("UsageError")<{ readonly message: string }> {
  override readonly [Runtime.errorExitCode] = EXIT_USAGE
}

/** No answer from the server (refused, reset, timed out): exit 3. */
export class ServerUnreachable extends Data.TaggedError("ServerUnreachable")<{
  readonly message: string
  readonly cause?: unknown
}> {
  override readonly [Runtime.errorExitCode] = 3
}

/** Any failure a command reports. */
export type CommandError = CommandFailed | UsageError | ServerUnreachable

/** The text of a thrown value or failure for messages: its message (or tag), then its cause's. */
export const describe = (cause: unknown): string => {
  if (typeof cause !== "object" || cause === null) return String(cause)
  const { message, _tag, operation, cause: inner } = cause as { message?: unknown; _tag?: unknown; operation?: unknown; cause?: unknown }
  let own = typeof message === "string" && message !== "" ? message : typeof _tag === "string" ? _tag : String(cause)
  if (typeof operation === "string") own = `${own} (${operation})`
  if (inner === undefined || inner === null) return own
  const rest = describe(inner)
  return rest === own || own.endsWith(rest) ? own : `${own}: ${rest}`
}
