/** Flags several commands share, each falling back to its environment variable, then to src/Config.ts. */
import { Config } from "effect"
import { Flag } from "effect/cli"
import { defaultServeConfig } from "../Config.ts"
import { DEFAULT_URL } from "./ServerClient.ts"

/** The environment variable --data-dir falls back to. */
export const dataDirEnv = "DATA_DIR"

/** --data-dir, else DATA_DIR, else ./data. */
export const dataDirFlag = Flag.String("data-dir").pipe(
  Flag.withDescription(`Data directory (env DATA_DIR, default ./${defaultServeConfig.dataDir})`),
  Flag.withFallbackConfig(Config.String(dataDirEnv)),
  Flag.withDefault(defaultServeConfig.dataDir)
)

/** The environment variable --url falls back to. */
export const urlEnv = "CAUSEWAY_URL"

/** --url, else CAUSEWAY_URL, else the default server address: the server a client command talks to. */
export const urlFlag = Flag.String("url").pipe(
  Flag.withDescription(`Server address (env ${urlEnv}, default ${DEFAULT_URL})`),
  Flag.withFallbackConfig(Config.String(urlEnv)),
  Flag.withDefault(DEFAULT_URL)
)

/** Default of --wait-timeout, seconds. */
export const DEFAULT_WAIT_SECONDS = 30

/** --wait-timeout: how long each wait of --wait may take. */
export const waitTimeoutFlag = Flag.Int("wait-timeout").pipe(
  Flag.withDescription(`With --wait: give up (exit 1) after this many seconds of waiting for one verdict (default ${DEFAULT_WAIT_SECONDS})`),
  Flag.filter((n) => n >= 1 && n <= 86_400, (n) => `--wait-timeout must be 1..86400 seconds, got ${n}`),
  Flag.withDefault(DEFAULT_WAIT_SECONDS)
)

/** --expiry: the envelope's expiry as Unix milliseconds, optional; `description` says whose. */
export const expiryFlag = (description: string) =>
  Flag.Int("expiry").pipe(
    Flag.withDescription(description),
    Flag.filter((n) => n >= 0 && Number.isSafeInteger(n), (n) => `--expiry must be a non-negative integer, got ${n}`),
    Flag.optional
  )
