#!/usr/bin/env node
/**
 * The `causeway` command line: serve, keygen, submit, replay, log tail, chain prove / list,
 * and a user's orders: order place / commit / reveal / lock / cancel / status / receipt / watch.
 *
 * Exit codes: 0 success; 1 the command failed (a rejection, a digest mismatch, a missing data
 * directory, a server that would not start); 2 usage (unknown command or flag, a bad flag
 * value, an unreadable key file, a payload that is not JSON; the usage goes to stderr);
 * 3 the server cannot be reached; 130 interrupted (serve and log tail --follow exit 0 when
 * stopped by SIGINT/SIGTERM: see Signals.ts).
 */
import "./ThreadPool.ts" // first: sizes libuv's thread pool before anything starts it
import { NodeRuntime, NodeServices } from "@effect/platform-node"
import { Cause, Console, Effect, Layer } from "effect"
import { CliConfig, CliError, CliOutput, Command, GlobalFlag } from "effect/cli"
import { serviceVersion } from "../Config.ts"
import { assetCommand } from "./AssetCommand.ts"
import { proofCommand } from "./ProofCommand.ts"
import { operatorCommand } from "./OperatorCommand.ts"
import { effectCommand } from "./EffectCommand.ts"
import { chainCommand } from "./ChainCommand.ts"
import { CommandFailed, ServerUnreachable, UsageError, describe } from "./CliErrors.ts"
import { keygenCommand } from "./KeygenCommand.ts"
import { logCommand } from "./LogCommand.ts"
import { orderCommand } from "./OrderCommand.ts"
import { replayCommand } from "./ReplayCommand.ts"
import { serveCommand } from "./ServeCommand.ts"
import { teardown } from "./Signals.ts"
import { submitCommand } from "./SubmitCommand.ts"
import { tokenCommand } from "./TokenCommand.ts"

/** The root command. */
export const causeway = Command.make("causeway").pipe(
  Command.withDescription("A causal log of signed messages."),
  Command.withSubcommands([serveCommand, keygenCommand, submitCommand, orderCommand, replayCommand, logCommand, chainCommand, effectCommand, assetCommand, proofCommand, operatorCommand, tokenCommand])
)

/**
 * Requested help and the version go to stdout; usage shown because of a mistake (with its
 * errors, or because no command was given) goes to stderr, so stdout stays clean for output
 * a script reads.
 */
const presenter: CliOutput.Presenter = {
  present: (event) =>
    Effect.gen(function*() {
      const formatter = yield* CliOutput.Formatter
      switch (event._tag) {
        case "Help":
          return yield* (event.reason === "Requested" ? Console.log : Console.error)(formatter.formatHelpDoc(event.helpDoc))
        case "InvalidInvocation":
          yield* Console.error(formatter.formatHelpDoc(event.helpDoc))
          return yield* Console.error(formatter.formatErrors(event.errors))
        case "Version":
          return yield* Console.log(formatter.formatVersion(event.name, event.version))
      }
    })
}

/** Print a failure once, as `causeway: <message>`, and keep its exit code. */
const report = (cause: Cause.Cause<unknown>): Effect.Effect<never, unknown> => {
  if (Cause.hasInterruptsOnly(cause)) return Effect.failCause(cause)
  const error = Cause.squash(cause)
  // The parser's errors were shown with the usage already.
  if (CliError.isCliError(error)) return Effect.fail(new UsageError({ message: error.message }))
  if (error instanceof CommandFailed || error instanceof UsageError || error instanceof ServerUnreachable) {
    return Console.error(`causeway: ${error.message}`).pipe(Effect.andThen(Effect.fail(error)))
  }
  const message = Cause.hasDies(cause) ? `internal error: ${Cause.pretty(cause)}` : describe(error)
  return Console.error(`causeway: ${message}`).pipe(Effect.andThen(Effect.fail(new CommandFailed({ message }))))
}

Command.run(causeway, { version: serviceVersion }).pipe(
  Effect.catchCause(report),
  Effect.provide(
    Layer.mergeAll(
      NodeServices.layer,
      // Only --help and --version: `serve` has a --log-level of its own.
      CliConfig.layer({ builtIns: [GlobalFlag.Help, GlobalFlag.Version] }),
      CliOutput.layerPresenter(presenter)
    )
  ),
  NodeRuntime.runMain({ disableErrorReporting: true, teardown })
)
