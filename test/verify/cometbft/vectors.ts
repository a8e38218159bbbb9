/** Reading the third-party CometBFT light-client vectors (test/vectors/cometbft-light-client). */
import { readFileSync, readdirSync } from "node:fs"
import path from "node:path"
import type { LightBlock, TrustedLightBlock } from "../../../src/domain/verify/cometbft/LightBlock.ts"

/** The tendermint-rs vector folder. */
export const COMETBFT_VECTORS = path.resolve(import.meta.dirname, "../../vectors/cometbft-light-client/tendermint-rs")

/** One single-step test file: an initial trusted block, then steps each with its own `now` and verdict. */
export interface SingleStepFile {
  readonly description: string
  readonly initial: TrustedLightBlock & { readonly trusting_period: string; readonly now: string }
  readonly input: ReadonlyArray<{
    readonly block: LightBlock
    readonly now: string
    readonly verdict: "SUCCESS" | "NOT_ENOUGH_TRUST" | "INVALID"
  }>
}

/** The single-step files, by name. */
export const singleStepFiles = (): ReadonlyArray<{ readonly name: string; readonly file: SingleStepFile }> => {
  const dir = path.join(COMETBFT_VECTORS, "model_based", "single_step")
  return readdirSync(dir)
    .filter((name) => name.endsWith(".json"))
    .sort()
    .map((name) => ({ name, file: JSON.parse(readFileSync(path.join(dir, name), "utf8")) as SingleStepFile }))
}

/** The header-hash vector. */
export const headerHashVector = (): { readonly header: Readonly<Record<string, unknown>>; readonly expected_hash: string } =>
  JSON.parse(readFileSync(path.join(COMETBFT_VECTORS, "header_hash_vector.json"), "utf8")) as {
    readonly header: Readonly<Record<string, unknown>>
    readonly expected_hash: string
  }
