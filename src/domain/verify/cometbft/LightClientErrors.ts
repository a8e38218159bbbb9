/** The typed failures of CometBFT light-client verification. */
import { Data } from "effect"

/** A fraction of voting power, e.g. the default trust level 1/3. */
export interface TrustLevel {
  readonly numerator: number
  readonly denominator: number
}

/** Why a light block is invalid; the names follow tendermint-rs's `VerificationErrorDetail`. */
export type InvalidReason =
  | "MalformedInput"
  | "InvalidOptions"
  | "InvalidValidatorSet"
  | "InvalidNextValidatorSet"
  | "InvalidTrustedNextValidatorSet"
  | "InvalidCommitValue"
  | "CommitHeightMismatch"
  | "NoSignatureForCommit"
  | "MismatchPreCommitLength"
  | "FaultySigner"
  | "DuplicateValidator"
  | "NotWithinTrustPeriod"
  | "NonMonotonicBftTime"
  | "ChainIdMismatch"
  | "NonIncreasingHeight"
  | "HeaderFromTheFuture"
  | "InvalidValidatorAddress"
  | "InvalidSignature"
  | "InsufficientSignersOverlap"
  | "UnexpectedHeight"

/**
 * The trusted validators that signed the new header hold too little power to trust it
 * directly. Not a fault: verify a header in between first (bisection).
 */
export class NotEnoughTrust extends Data.TaggedError("NotEnoughTrust")<{
  readonly tallied: bigint
  readonly total: bigint
  readonly trustLevel: TrustLevel
}> {}

/** The light block is invalid (or cannot be verified against this trusted state): never trust it. */
export class InvalidLightBlock extends Data.TaggedError("InvalidLightBlock")<{
  readonly reason: InvalidReason
  readonly detail: string
}> {}

/** What `verifyLightBlock` can fail with. */
export type LightBlockVerificationError = NotEnoughTrust | InvalidLightBlock
