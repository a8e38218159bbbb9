/**
 * Skipping verification with bisection from a root of trust to a target height (CometBFT's
 * `VerifySkipping` / tendermint-rs `verify_to_target`), with the target cross-checked against
 * witnesses.
 *
 * Providers are functions from a height to an `Effect` of a light block, so callers choose
 * the transport and its errors; wrap a Promise-returning RPC client with `Effect.tryPromise`.
 * The primary's errors end verification (they are in the error channel as `E`); a witness
 * that fails to answer is only reported.
 *
 * 1. Root: the primary's block at `trustedHeight` must hash to `trustedHash` and verify on its
 *    own (sets hash to the header, > 2/3 of its validators signed).
 * 2. Bisection: try the target directly against the latest verified block; on NotEnoughTrust
 *    fetch the block half-way, and so on; each success becomes the new trusted block and the
 *    target is tried again. Any Invalid verdict ends verification.
 * 3. Witnesses: each is asked for the target. The same hash agrees. A different hash is
 *    examined as CometBFT's detector does: walk the primary's trace, find the first height
 *    where the witness disagrees, and verify the witness's block there from the last block
 *    both agree on (bisecting over the witness). If it verifies, two valid conflicting
 *    headers exist, which is a light-client attack: fail with `LightClientAttackDetected`
 *    carrying the evidence. If it does not, the witness is reported as faulty and ignored.
 */
import { Data, Effect, Result } from "effect"
import {
  type SelfVerifiedLightBlock,
  type VerifiedLightBlock,
  type VerifyLightBlockOptions,
  type VerifySignature,
  type VerifySignatures,
  lightBlockHash,
  nobleEd25519Verify,
  verifyLightBlock,
  verifyLightBlockBatch,
  verifyOwnCommit,
  verifyOwnCommitBatch
} from "./CometBftLightClient.ts"
import type { LightBlock, TrustedLightBlock } from "./LightBlock.ts"
import { InvalidLightBlock, type LightBlockVerificationError, type TrustLevel } from "./LightClientErrors.ts"

/** A source of light blocks by height (a primary or witness full node). */
export type LightBlockProvider<E> = (height: number) => Effect.Effect<LightBlock, E>

/** Inputs of `verifyToHeight`. */
export interface VerifyToHeightOptions<E> {
  /** Height of the root of trust (obtained out of band, e.g. from social consensus or a previous run). */
  readonly trustedHeight: number
  /** Header hash at `trustedHeight`, hex (either case). */
  readonly trustedHash: string
  readonly targetHeight: number
  readonly primary: LightBlockProvider<E>
  readonly witnesses?: ReadonlyArray<LightBlockProvider<unknown>>
  /** The verifier's current time, RFC 3339. */
  readonly now: string
  /** Nanoseconds as a decimal string. */
  readonly trustingPeriod: string
  readonly trustLevel?: TrustLevel
  /** Nanoseconds as a decimal string; default 10 s. */
  readonly maxClockDrift?: string
}

/** What a witness said about the target. */
export interface WitnessReport {
  readonly index: number
  readonly status: "agreed" | "unavailable" | "faulty"
  readonly detail: string
}

/** The verified target. */
export interface VerifiedTarget {
  readonly block: LightBlock
  /** The verdict for the target (against the last block of the trace before it). */
  readonly verified: VerifiedLightBlock | SelfVerifiedLightBlock
  /** Verification attempts (calls of `verifyLightBlock`): 1 when the target was trusted directly from the root. */
  readonly steps: number
  /** Heights verified, in order, ending with the target (the root excluded). */
  readonly trace: ReadonlyArray<number>
  readonly witnesses: ReadonlyArray<WitnessReport>
}

/** Two valid headers for one height: evidence of a light-client attack (or a forked chain). */
export interface LightClientAttackEvidence {
  readonly witnessIndex: number
  /** The first height at which the witness's chain and the primary's differ. */
  readonly conflictingHeight: number
  /** The last verified height both agree on. */
  readonly commonHeight: number
  readonly primaryHash: string
  readonly witnessHash: string
  readonly primaryBlock: LightBlock
  readonly witnessBlock: LightBlock
}

/** The root of trust does not check out (wrong hash, wrong height, or not validly signed). */
export class TrustedRootRejected extends Data.TaggedError("TrustedRootRejected")<{
  readonly reason: string
}> {}

/** A witness holds a conflicting header that verifies from the common trusted block. */
export class LightClientAttackDetected extends Data.TaggedError("LightClientAttackDetected")<{
  readonly evidence: LightClientAttackEvidence
}> {}

/** What `verifyToHeight` can fail with, besides the primary's own errors. */
export type VerifyToHeightError = InvalidLightBlock | TrustedRootRejected | LightClientAttackDetected

interface Settings {
  readonly now: string
  readonly trustingPeriod: string
  readonly trustLevel: TrustLevel | undefined
  readonly maxClockDrift: string | undefined
  // One verification step, through the batch verifier when there is one.
  readonly verify: (options: VerifyLightBlockOptions) => Effect.Effect<VerifiedLightBlock, LightBlockVerificationError>
}

// No honest bisection needs more: each pivot halves the remaining height range.
const MAX_STEPS = 10_000

const heightOf = (block: LightBlock): number => Number(block.signed_header.header.height)

const trustedOf = (block: LightBlock): TrustedLightBlock => ({
  signed_header: block.signed_header,
  next_validator_set: block.next_validator_set
})

// The height a block claims, read defensively: providers hand over whatever the network sent.
const claimedHeight = (block: unknown): unknown => {
  if (typeof block !== "object" || block === null || !("signed_header" in block)) return undefined
  const signedHeader = block.signed_header
  if (typeof signedHeader !== "object" || signedHeader === null || !("header" in signedHeader)) return undefined
  const header = signedHeader.header
  return typeof header === "object" && header !== null && "height" in header ? header.height : undefined
}

// Fetch a block and make sure it is for the height asked for.
const fetchAt = <E>(provider: LightBlockProvider<E>, height: number): Effect.Effect<LightBlock, E | InvalidLightBlock> =>
  Effect.flatMap(provider(height), (block) => {
    const got = claimedHeight(block)
    return (typeof got === "string" || typeof got === "number") && String(got) === String(height)
      ? Effect.succeed(block)
      : Effect.fail(new InvalidLightBlock({ reason: "UnexpectedHeight", detail: `asked for height ${height}, got ${String(got)}` }))
  })

interface Trace {
  readonly blocks: ReadonlyArray<LightBlock>
  readonly last: VerifiedLightBlock
  readonly steps: number
}

/** CometBFT's VerifySkipping: verify `target` from `root`, fetching pivots from `source` as needed. */
const verifySkipping = <E>(
  source: LightBlockProvider<E>,
  root: LightBlock,
  target: LightBlock,
  settings: Settings
): Effect.Effect<Trace, E | InvalidLightBlock> =>
  Effect.gen(function* () {
    let verified = root
    let pending: Array<LightBlock> = [target]
    let depth = 0
    let steps = 0
    const blocks: Array<LightBlock> = []
    while (steps < MAX_STEPS) {
      steps++
      const candidate = pending[depth] ?? target
      const verdict = yield* Effect.result(settings.verify(
        {
          trusted: trustedOf(verified),
          untrusted: candidate,
          now: settings.now,
          trustingPeriod: settings.trustingPeriod,
          ...(settings.trustLevel === undefined ? {} : { trustLevel: settings.trustLevel }),
          ...(settings.maxClockDrift === undefined ? {} : { maxClockDrift: settings.maxClockDrift })
        }
      ))
      if (Result.isSuccess(verdict)) {
        blocks.push(candidate)
        if (depth === 0) return { blocks, last: verdict.success, steps }
        verified = candidate
        pending = pending.slice(0, depth)
        depth = 0
        continue
      }
      const failure = verdict.failure
      if (failure._tag === "InvalidLightBlock") return yield* Effect.fail(failure)
      if (depth === pending.length - 1) {
        const from = heightOf(verified)
        const pivot = from + Math.floor((heightOf(candidate) - from) / 2)
        if (pivot <= from) {
          return yield* Effect.fail(new InvalidLightBlock({ reason: "NonIncreasingHeight", detail: `cannot bisect between ${from} and ${heightOf(candidate)}` }))
        }
        pending.push(yield* fetchAt(source, pivot))
      }
      depth++
    }
    return yield* Effect.fail(new InvalidLightBlock({ reason: "InvalidOptions", detail: `no verdict after ${MAX_STEPS} steps` }))
  })

const hashOrUndefined = (block: unknown): string | undefined => {
  const r = lightBlockHash(block)
  return Result.isSuccess(r) ? r.success : undefined
}

// Compare one witness with the primary's verified trace; see step 3 of the module comment.
const examineWitness = (
  index: number,
  witness: LightBlockProvider<unknown>,
  root: LightBlock,
  trace: ReadonlyArray<LightBlock>,
  targetFromWitness: LightBlock,
  settings: Settings
): Effect.Effect<WitnessReport, LightClientAttackDetected> =>
  Effect.gen(function* () {
    let common = root
    for (const primaryBlock of trace) {
      const height = heightOf(primaryBlock)
      const fetched =
        primaryBlock === trace[trace.length - 1] ? Result.succeed(targetFromWitness) : yield* Effect.result(fetchAt(witness, height))
      if (Result.isFailure(fetched)) return { index, status: "unavailable", detail: `no block at ${height}` } as const
      const witnessBlock = fetched.success
      const primaryHash = hashOrUndefined(primaryBlock) ?? ""
      const witnessHash = hashOrUndefined(witnessBlock)
      if (witnessHash === undefined) return { index, status: "faulty", detail: `malformed block at ${height}` } as const
      if (witnessHash === primaryHash) {
        common = primaryBlock
        continue
      }
      const witnessTrace = yield* Effect.result(verifySkipping(witness, common, witnessBlock, settings))
      if (Result.isFailure(witnessTrace)) {
        const why = witnessTrace.failure instanceof InvalidLightBlock ? `${witnessTrace.failure.reason}: ${witnessTrace.failure.detail}` : "provider failed"
        return { index, status: "faulty", detail: `conflicting block at ${height} does not verify (${why})` } as const
      }
      return yield* Effect.fail(
        new LightClientAttackDetected({
          evidence: {
            witnessIndex: index,
            conflictingHeight: height,
            commonHeight: heightOf(common),
            primaryHash,
            witnessHash,
            primaryBlock,
            witnessBlock
          }
        })
      )
    }
    // Unreachable from verifyToHeight (the target hashes differ), kept total for safety.
    return { index, status: "agreed", detail: "same header hash at every height compared" } as const
  })

/**
 * Verify the primary's block at `targetHeight` from the root of trust (`trustedHeight`,
 * `trustedHash`) by skipping verification with bisection, then cross-check it with the
 * witnesses. See the module comment. With `verifySignatures`, each step's selected
 * signatures are checked as one batch by it (the same verdicts; it may use several cores).
 */
export const verifyToHeight = <E>(
  options: VerifyToHeightOptions<E>,
  verifySignature: VerifySignature = nobleEd25519Verify,
  verifySignatures?: VerifySignatures
): Effect.Effect<VerifiedTarget, E | VerifyToHeightError> =>
  Effect.gen(function* () {
    const settings: Settings = {
      now: options.now,
      trustingPeriod: options.trustingPeriod,
      trustLevel: options.trustLevel,
      maxClockDrift: options.maxClockDrift,
      verify: (o) => (verifySignatures === undefined ? Effect.fromResult(verifyLightBlock(o, verifySignature)) : verifyLightBlockBatch(o, verifySignatures))
    }
    if (!Number.isSafeInteger(options.trustedHeight) || !Number.isSafeInteger(options.targetHeight) || options.trustedHeight < 1) {
      return yield* Effect.fail(new InvalidLightBlock({ reason: "InvalidOptions", detail: "heights must be positive integers" }))
    }
    if (options.targetHeight < options.trustedHeight) {
      return yield* Effect.fail(new InvalidLightBlock({ reason: "InvalidOptions", detail: "verifying below the trusted height is not supported" }))
    }

    const root = yield* fetchAt(options.primary, options.trustedHeight)
    const rootCheck = yield* Effect.result(
      verifySignatures === undefined ? Effect.fromResult(verifyOwnCommit(root, verifySignature)) : verifyOwnCommitBatch(root, verifySignatures)
    )
    if (Result.isFailure(rootCheck)) {
      return yield* Effect.fail(new TrustedRootRejected({ reason: `${rootCheck.failure.reason}: ${rootCheck.failure.detail}` }))
    }
    if (rootCheck.success.hash !== options.trustedHash.toUpperCase()) {
      return yield* Effect.fail(new TrustedRootRejected({ reason: `block ${options.trustedHeight} hashes to ${rootCheck.success.hash}, not the trusted hash` }))
    }
    if (options.targetHeight === options.trustedHeight) {
      return { block: root, verified: rootCheck.success, steps: 0, trace: [], witnesses: [] }
    }

    const target = yield* fetchAt(options.primary, options.targetHeight)
    const trace = yield* verifySkipping(options.primary, root, target, settings)

    const reports: Array<WitnessReport> = []
    for (const [index, witness] of (options.witnesses ?? []).entries()) {
      const answer = yield* Effect.result(fetchAt(witness, options.targetHeight))
      if (Result.isFailure(answer)) {
        reports.push({ index, status: "unavailable", detail: `no block at ${options.targetHeight}` })
        continue
      }
      const witnessHash = hashOrUndefined(answer.success)
      if (witnessHash === trace.last.hash) {
        reports.push({ index, status: "agreed", detail: `same header hash at ${options.targetHeight}` })
        continue
      }
      reports.push(yield* examineWitness(index, witness, root, trace.blocks, answer.success, settings))
    }
    return {
      block: target,
      verified: trace.last,
      steps: trace.steps,
      trace: trace.blocks.map(heightOf),
      witnesses: reports
    }
  }).pipe(Effect.withSpan("CometBft.verifyToHeight"))
