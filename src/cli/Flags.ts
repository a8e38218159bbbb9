/** Flags several commands share, each falling back to its environment variable, then to src/Config.ts. */
import { Config } from "effect"
import { Flag } from "effect/cli"
import { defaultServeConfig } from "../Config.ts"

/** The environment variable --data-dir falls back to. */
export const dataDirEnv = "DATA_DIR"

/** --data-dir, else DATA_DIR, else ./data. */
export const dataDirFlag = Flag.String("data-dir").pipe(
  Flag.withDescription(`Data directory (env DATA_DIR, default ./${defaultServeConfig.dataDir})`),
  Flag.withFallbackConfig(Config.String(dataDirEnv)),
  Flag.withDefault(defaultServeConfig.dataDir)
)
