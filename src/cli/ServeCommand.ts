/**
 * `causeway serve`: run the service (src/main.ts `appLayer`) until SIGINT/SIGTERM, then shut
 * down gracefully (the server drains, the projections write their last snapshot) and exit 0.
 * Each setting comes from its flag, else its environment variable, else src/Config.ts.
 * Logs are JSON lines on stdout; one line, `causeway serving`, says where it listens.
 */
import { resolve } from "node:path"
import { Config, Effect, Layer, Option } from "effect"
import { Command, Flag } from "effect/cli"
import * as HttpService from "../adapters/http/HttpService.ts"
import { type ServeConfig, defaultServeConfig } from "../Config.ts"
import { appLayer } from "../main.ts"
import { CommandFailed, describe } from "./CliErrors.ts"
import { dataDirFlag } from "./Flags.ts"
import { runsUntilStopped } from "./Signals.ts"

const logLevels = { trace: "Trace", debug: "Debug", info: "Info", warn: "Warn", error: "Error" } as const satisfies Record<string, ServeConfig["logLevel"]>

/** A log level name, any case. */
export const parseLogLevel = (text: string): Option.Option<ServeConfig["logLevel"]> => {
  const key = text.trim().toLowerCase()
  return Object.hasOwn(logLevels, key) ? Option.some(logLevels[key as keyof typeof logLevels]) : Option.none()
}

/** The serve command. */
export const serveCommand = Command.make(
  "serve",
  {
    host: Flag.String("host").pipe(
      Flag.withDescription(`Interface to listen on (env HOST, default ${defaultServeConfig.host})`),
      Flag.withFallbackConfig(Config.String("HOST")),
      Flag.withDefault(defaultServeConfig.host)
    ),
    port: Flag.Int("port").pipe(
      Flag.withDescription(`Port to listen on, 0 for any free one (env PORT, default ${defaultServeConfig.port})`),
      Flag.withFallbackConfig(Config.Int("PORT")),
      Flag.withDefault(defaultServeConfig.port),
      Flag.filter((p) => Number.isInteger(p) && p >= 0 && p <= 65535, (p) => `port ${p} is not in 0..65535`)
    ),
    dataDir: dataDirFlag,
    logLevel: Flag.String("log-level").pipe(
      Flag.withDescription(`trace, debug, info, warn or error (env LOG_LEVEL, default ${defaultServeConfig.logLevel.toLowerCase()})`),
      Flag.withFallbackConfig(Config.String("LOG_LEVEL")),
      Flag.withDefault(defaultServeConfig.logLevel),
      Flag.filterMap(parseLogLevel, (s) => `log level ${JSON.stringify(s)} is not one of trace, debug, info, warn, error`)
    )
  },
  Effect.fn("causeway.serve")(function*(flags) {
    const config: ServeConfig = { ...defaultServeConfig, host: flags.host, port: flags.port, dataDir: flags.dataDir, logLevel: flags.logLevel }
    // Built after the server is listening, so the line tells the bound port (also for --port 0);
    // its finalizer runs first on shutdown.
    const announce = Layer.effectDiscard(
      Effect.gen(function*() {
        const port = yield* HttpService.boundPort
        yield* Effect.logInfo("causeway serving").pipe(
          Effect.annotateLogs({ url: `http://${config.host.includes(":") ? `[${config.host}]` : config.host}:${port}`, host: config.host, port, dataDir: resolve(config.dataDir) })
        )
        yield* Effect.addFinalizer(() => Effect.logInfo("causeway shutting down"))
      })
    )
    yield* runsUntilStopped
    return yield* Layer.launch(announce.pipe(Layer.provide(appLayer(config)), Layer.provide(HttpService.logging(config.logLevel)))).pipe(
      Effect.mapError((e) => new CommandFailed({ message: `the server failed: ${describe(e)}` }))
    )
  })
).pipe(Command.withDescription("Run the causeway server until SIGINT/SIGTERM."))
