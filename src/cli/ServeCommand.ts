/**
 * `causeway serve`: run the service (src/main.ts `appLayer`) until SIGINT/SIGTERM, then shut
 * down gracefully (the server drains, the projections write their last snapshot) and exit 0.
 * Each setting comes from its flag, else its environment variable, else src/Config.ts.
 * Logs are JSON lines on stdout; one line, `causeway serving`, says where it listens.
 */
import { resolve } from "node:path"
import { Config, Effect, Layer, Option, Result } from "effect"
import { Command, Flag } from "effect/cli"
import * as HttpService from "../adapters/http/HttpService.ts"
import { type CosmosChainConfig, type EvmChainConfig, type ServeConfig, defaultServeConfig } from "../Config.ts"
import { appLayer } from "../main.ts"
import { CommandFailed, UsageError, describe } from "./CliErrors.ts"
import { dataDirFlag } from "./Flags.ts"
import { runsUntilStopped } from "./Signals.ts"

const logLevels = { trace: "Trace", debug: "Debug", info: "Info", warn: "Warn", error: "Error" } as const satisfies Record<string, ServeConfig["logLevel"]>

/** A log level name, any case. */
export const parseLogLevel = (text: string): Option.Option<ServeConfig["logLevel"]> => {
  const key = text.trim().toLowerCase()
  return Object.hasOwn(logLevels, key) ? Option.some(logLevels[key as keyof typeof logLevels]) : Option.none()
}

const isHttpUrl = (text: string): boolean => {
  try {
    const url = new URL(text)
    return url.protocol === "http:" || url.protocol === "https:"
  } catch {
    return false
  }
}

/** The Cosmos chain the --cosmos-* flags describe: none without --cosmos-rpc, or why they do not add up. */
export const cosmosConfig = (flags: {
  readonly rpc: Option.Option<string>
  readonly chainId: Option.Option<string>
  readonly trustedHeight: Option.Option<number>
  readonly trustedHash: Option.Option<string>
  readonly witnesses: Option.Option<string>
}): Result.Result<CosmosChainConfig | undefined, string> => {
  if (Option.isNone(flags.rpc)) {
    const stray = [flags.chainId, flags.trustedHeight, flags.trustedHash, flags.witnesses].some((o: Option.Option<unknown>) => Option.isSome(o))
    return stray ? Result.fail("--cosmos-chain-id, --cosmos-trusted-height, --cosmos-trusted-hash and --cosmos-witness need --cosmos-rpc") : Result.succeed(undefined)
  }
  const rpc = flags.rpc.value
  if (!isHttpUrl(rpc)) return Result.fail(`--cosmos-rpc ${JSON.stringify(rpc)} is not an http(s) URL`)
  if (Option.isNone(flags.chainId) || !/^[\x21-\x7e]{1,50}$/.test(flags.chainId.value)) return Result.fail("--cosmos-chain-id is required with --cosmos-rpc (1..50 printable characters)")
  if (Option.isNone(flags.trustedHeight) || flags.trustedHeight.value < 1) return Result.fail("--cosmos-trusted-height is required with --cosmos-rpc (a positive height)")
  if (Option.isNone(flags.trustedHash) || !/^(?:0x)?[0-9a-fA-F]{64}$/.test(flags.trustedHash.value)) {
    return Result.fail("--cosmos-trusted-hash is required with --cosmos-rpc (the 32-byte header hash at the trusted height, hex)")
  }
  const witnesses = Option.isNone(flags.witnesses) ? [] : flags.witnesses.value.split(",").map((w) => w.trim()).filter((w) => w !== "")
  const bad = witnesses.find((w) => !isHttpUrl(w))
  if (bad !== undefined) return Result.fail(`--cosmos-witness ${JSON.stringify(bad)} is not an http(s) URL`)
  return Result.succeed({
    rpc,
    chainId: flags.chainId.value,
    trustedHeight: flags.trustedHeight.value,
    trustedHash: flags.trustedHash.value.replace(/^0x/, "").toUpperCase(),
    witnesses
  })
}

/** The EVM chain the --evm-* flags describe: none without --evm-rpc, or why they do not add up. */
export const evmConfig = (flags: {
  readonly rpc: Option.Option<string>
  readonly chainId: Option.Option<string>
  readonly confirmations: Option.Option<number>
}): Result.Result<EvmChainConfig | undefined, string> => {
  if (Option.isNone(flags.rpc)) {
    return Option.isSome(flags.chainId) || Option.isSome(flags.confirmations)
      ? Result.fail("--evm-chain-id and --evm-confirmations need --evm-rpc")
      : Result.succeed(undefined)
  }
  const rpcUrls = flags.rpc.value.split(",").map((u) => u.trim()).filter((u) => u !== "")
  if (rpcUrls.length === 0) return Result.fail("--evm-rpc needs at least one URL")
  const bad = rpcUrls.find((u) => !isHttpUrl(u))
  if (bad !== undefined) return Result.fail(`--evm-rpc ${JSON.stringify(bad)} is not an http(s) URL`)
  const chainId = Option.getOrElse(flags.chainId, () => "evm")
  if (!/^[\x21-\x7e]{1,64}$/.test(chainId)) return Result.fail(`--evm-chain-id ${JSON.stringify(chainId)} is not 1..64 printable characters`)
  if (Option.isSome(flags.confirmations) && !(flags.confirmations.value >= 0 && flags.confirmations.value <= 255)) {
    return Result.fail(`--evm-confirmations ${flags.confirmations.value} is not in 0..255`)
  }
  return Result.succeed({ chainId, rpcUrls, ...(Option.isSome(flags.confirmations) ? { confirmations: flags.confirmations.value } : {}) })
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
    ),
    cosmosRpc: Flag.String("cosmos-rpc").pipe(
      Flag.withDescription("Observe a CometBFT chain through this full node's RPC URL, verified by the light client (env COSMOS_RPC; default off)"),
      Flag.withFallbackConfig(Config.String("COSMOS_RPC")),
      Flag.optional
    ),
    cosmosChainId: Flag.String("cosmos-chain-id").pipe(
      Flag.withDescription("The chain's CometBFT chain ID (env COSMOS_CHAIN_ID)"),
      Flag.withFallbackConfig(Config.String("COSMOS_CHAIN_ID")),
      Flag.optional
    ),
    cosmosTrustedHeight: Flag.Int("cosmos-trusted-height").pipe(
      Flag.withDescription("Height of the light client's root of trust (env COSMOS_TRUSTED_HEIGHT)"),
      Flag.withFallbackConfig(Config.Int("COSMOS_TRUSTED_HEIGHT")),
      Flag.optional
    ),
    cosmosTrustedHash: Flag.String("cosmos-trusted-hash").pipe(
      Flag.withDescription("Header hash at the trusted height, hex (env COSMOS_TRUSTED_HASH)"),
      Flag.withFallbackConfig(Config.String("COSMOS_TRUSTED_HASH")),
      Flag.optional
    ),
    cosmosWitness: Flag.String("cosmos-witness").pipe(
      Flag.withDescription("Witness RPC URLs, comma-separated, cross-checked for conflicting headers (env COSMOS_WITNESS)"),
      Flag.withFallbackConfig(Config.String("COSMOS_WITNESS")),
      Flag.optional
    ),
    evmRpc: Flag.String("evm-rpc").pipe(
      Flag.withDescription("Observe an EVM chain through these JSON-RPC URLs, comma-separated; several must agree on every header (env EVM_RPC_URLS; default off)"),
      Flag.withFallbackConfig(Config.String("EVM_RPC_URLS")),
      Flag.optional
    ),
    evmChainId: Flag.String("evm-chain-id").pipe(
      Flag.withDescription("The EVM chain's name in causeway (env EVM_CHAIN_ID, default evm)"),
      Flag.withFallbackConfig(Config.String("EVM_CHAIN_ID")),
      Flag.optional
    ),
    evmConfirmations: Flag.Int("evm-confirmations").pipe(
      Flag.withDescription("Finality by this many confirmations instead of the node's safe/finalized tags (env EVM_CONFIRMATIONS)"),
      Flag.withFallbackConfig(Config.Int("EVM_CONFIRMATIONS")),
      Flag.optional
    )
  },
  Effect.fn("causeway.serve")(function*(flags) {
    const cosmos = cosmosConfig({
      rpc: flags.cosmosRpc,
      chainId: flags.cosmosChainId,
      trustedHeight: flags.cosmosTrustedHeight,
      trustedHash: flags.cosmosTrustedHash,
      witnesses: flags.cosmosWitness
    })
    if (Result.isFailure(cosmos)) return yield* new UsageError({ message: cosmos.failure })
    const evm = evmConfig({ rpc: flags.evmRpc, chainId: flags.evmChainId, confirmations: flags.evmConfirmations })
    if (Result.isFailure(evm)) return yield* new UsageError({ message: evm.failure })
    const config: ServeConfig = {
      ...defaultServeConfig,
      host: flags.host,
      port: flags.port,
      dataDir: flags.dataDir,
      logLevel: flags.logLevel,
      ...(cosmos.success === undefined ? {} : { cosmos: cosmos.success }),
      ...(evm.success === undefined ? {} : { evm: evm.success })
    }
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
