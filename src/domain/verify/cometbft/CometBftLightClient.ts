/**
 * CometBFT light-client verification of one light block against a trusted one, as the
 * light-client spec defines it and tendermint-rs's `PredicateVerifier::verify_update_header`
 * implements it (same checks, same order, so the same verdicts):
 *
 * 1. The untrusted block is self-consistent: its validator set and next validator set hash
 *    to the header's `validators_hash` / `next_validators_hash`, the header hashes to the
 *    commit's block ID, and the commit has a signature slot per validator, at least one
 *    signature, and no signer outside the set.
 * 2. Against the trusted block: the trusted header is still within the trusting period, time
 *    and height move forward, the chain ID is the same, and an adjacent block (height + 1)
 *    carries exactly the validator set the trusted header announced as next.
 * 3. The header is not from the future (`time < now + maxClockDrift`).
 * 4. Signatures: more than 2/3 of the untrusted set's power signed (precommits for this
 *    block, Ed25519 over CanonicalVote bytes); when skipping (non-adjacent), also more than
 *    `trustLevel` of the trusted next validator set's power. Each set is walked in canonical
 *    order (the trusted set first) and COMMIT votes are selected until their power passes the
 *    threshold; then every selected signature must verify, each at most once (a signer in
 *    both sets is checked once). This is CometBFT's light verification (`VerifyCommitLight`,
 *    `VerifyCommitLightTrusting`: `verifyCommitBatch` with `countAllSignatures = false`) and
 *    tendermint-rs's: signatures past the threshold are never looked at and cannot change the
 *    verdict, since they cannot make a header that too little power signed look signed.
 *    Before a vote is selected, its validator's address must be SHA-256(key)[:20], since
 *    votes are matched to validators by address. When several failures are present, the
 *    first in walking order is reported (as tendermint-rs does; CometBFT reports missing
 *    power before a bad signature, the verdict is a rejection either way).
 *
 * Because the selection needs no signature, the checks can run as one batch:
 * `verifyLightBlockBatch` hands them to an injected `VerifySignatures` (an adapter may spread
 * them over cores) and gives `verifyLightBlock`'s verdicts. Not provided: CometBFT's
 * `VerifyCommitLightAllSignatures` / `...TrustingAllSignatures`, which check every signature
 * of a commit (nil votes included) for evidence that names and punishes the validators who
 * signed; this light client decides whether to trust a header, and its attack evidence
 * carries whole blocks for whoever attributes it to check in full.
 *
 * Failing the trust threshold is `NotEnoughTrust` (bisect and retry); everything else is
 * `InvalidLightBlock` with a reason. Times are RFC 3339 compared as bigint nanoseconds;
 * durations are decimal nanosecond strings.
 */
import { ed25519 } from "@noble/curves/ed25519.js"
import { Effect, Result } from "effect"
import { formatRfc3339Nanos, parseDurationNanos, parseRfc3339Nanos } from "./CometBftTime.ts"
import { precommitSignBytes } from "./CanonicalVote.ts"
import { bytesEqual, bytesToUpperHex } from "./JsonBytes.ts"
import { InvalidLightBlock, type InvalidReason, type LightBlockVerificationError, NotEnoughTrust, type TrustLevel } from "./LightClientErrors.ts"
import {
  type Commit,
  type CommitVote,
  type Header,
  type LightBlock,
  MalformedLightBlock,
  type ParsedLightBlock,
  isDerivedAddress,
  type TrustedLightBlock,
  type ValidatorSet,
  parseHeader,
  parseLightBlock,
  parseValidatorSet,
  parseTrustedHeader,
  parseTrustedNextValidators
} from "./LightBlock.ts"
import { merkleRoot } from "./SimpleMerkle.ts"

/** Ed25519 verification of `signature` over `message` by a raw 32-byte public key. */
export type VerifySignature = (publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array) => boolean

/** The pure-JS default: noble's Ed25519 with ZIP-215 rules, which CometBFT's own verifier also follows. */
export const nobleEd25519Verify: VerifySignature = (publicKey, message, signature) => {
  try {
    return ed25519.verify(signature, message, publicKey)
  } catch {
    return false
  }
}

/** The light-client spec's default trust level. */
export const DEFAULT_TRUST_LEVEL: TrustLevel = { numerator: 1, denominator: 3 }

/** CometBFT's default tolerated clock drift: 10 s, in nanoseconds. */
export const DEFAULT_MAX_CLOCK_DRIFT = "10000000000"

/** Inputs of one verification step. */
export interface VerifyLightBlockOptions {
  readonly trusted: TrustedLightBlock
  readonly untrusted: LightBlock
  /** The verifier's current time, RFC 3339. */
  readonly now: string
  /** How long a trusted header may be relied on, nanoseconds as a decimal string. */
  readonly trustingPeriod: string
  /** Fraction of the trusted validators' power that must sign a skipped-to header; default 1/3, must lie in [1/3, 1]. */
  readonly trustLevel?: TrustLevel
  /** Tolerated clock drift, nanoseconds as a decimal string; default 10 s. */
  readonly maxClockDrift?: string
}

/** Voting power counted against a threshold (the count stops once the threshold is passed). */
export interface PowerTally {
  readonly tallied: bigint
  readonly total: bigint
}

/** A light block that verified: it can become the new trusted state. */
export interface VerifiedLightBlock {
  readonly height: number
  /** Header hash, uppercase hex. */
  readonly hash: string
  readonly time: string
  /** Adjacent (height + 1) or skipping verification. */
  readonly adjacent: boolean
  /** Signatures verified (each a call of the signature verifier). */
  readonly signaturesChecked: number
  /** Power of the untrusted validator set that signed (> 2/3 needed). */
  readonly signers: PowerTally
  /** Power of the trusted next validator set that signed (> trust level needed); skipping only. */
  readonly trustedSigners: PowerTally | undefined
}

const TWO_THIRDS: TrustLevel = { numerator: 2, denominator: 3 }

const invalid = (reason: InvalidReason, detail: string): Result.Result<never, InvalidLightBlock> =>
  Result.fail(new InvalidLightBlock({ reason, detail }))

const isEnoughPower = (tally: PowerTally, level: TrustLevel): boolean =>
  tally.tallied * BigInt(level.denominator) > tally.total * BigInt(level.numerator)

const hashValidatorSet = (set: ValidatorSet): Uint8Array => merkleRoot(set.validators.map((v) => v.leaf))

// The next validator set is nearly always the current one: compare the encodings (cheap) before hashing twice.
const sameEncoding = (a: ValidatorSet, b: ValidatorSet): boolean =>
  a === b || (a.validators.length === b.validators.length && a.validators.every((v, i) => bytesEqual(v.leaf, b.validators[i]?.leaf ?? new Uint8Array(0))))

const validTrustLevel = (level: TrustLevel): boolean =>
  Number.isSafeInteger(level.numerator) &&
  Number.isSafeInteger(level.denominator) &&
  level.denominator > 0 &&
  3 * level.numerator >= level.denominator &&
  level.numerator <= level.denominator

/** One Ed25519 signature the light client needs checked. */
export interface SignatureCheck {
  readonly publicKey: Uint8Array
  readonly message: Uint8Array
  readonly signature: Uint8Array
}

/**
 * Checks a batch of signatures, answers in order: `VerifySignature` for each, but free to
 * spread them over threads.
 */
export type VerifySignatures = (checks: ReadonlyArray<SignatureCheck>) => Effect.Effect<ReadonlyArray<boolean>>

// What a verdict still waits on, in the order the light client walks: a signature to check
// (its index into the plan's checks), or a failure found without checking any signature.
type Step = { readonly check: number; readonly detail: string } | { readonly failure: InvalidLightBlock }

interface Selection {
  readonly checks: Array<SignatureCheck>
  readonly steps: Array<Step>
  // A vote already selected for checking with this key (a signer in both sets is checked once).
  readonly selected: Map<CommitVote, Uint8Array>
}

/**
 * Selects the votes of `set` that carry power past `level`, in canonical order, as CometBFT's
 * `verifyCommitBatch` with `countAllSignatures = false` does: power is tallied before any
 * signature is checked, selection stops once the threshold is passed, and every selected
 * signature must then verify. Votes past the threshold are never looked at. Returns the
 * tally (assuming the selected signatures verify), or undefined when a validator's address
 * is not derived from its key (recorded as a step: it fails unless an earlier check does).
 */
const selectSigners = (
  set: ValidatorSet,
  commit: Commit,
  level: TrustLevel,
  signBytes: (timestampNanos: bigint) => Uint8Array,
  selection: Selection
): PowerTally | undefined => {
  let tallied = 0n
  const total = set.totalPower
  for (const validator of set.validators) {
    const vote = commit.votes.get(validator.address)
    if (vote === undefined) continue
    const selectedWith = selection.selected.get(vote)
    if (selectedWith === undefined || !bytesEqual(selectedWith, validator.pubKey)) {
      if (!isDerivedAddress(validator.addressBytes, validator.pubKey)) {
        selection.steps.push({
          failure: new InvalidLightBlock({ reason: "InvalidValidatorAddress", detail: `validator ${validator.address} is not SHA-256(pub_key)[:20]` })
        })
        return undefined
      }
      selection.steps.push({ check: selection.checks.length, detail: `signature ${vote.index} by ${validator.address} does not verify` })
      selection.checks.push({ publicKey: validator.pubKey, message: signBytes(vote.timestampNanos), signature: vote.signature })
      selection.selected.set(vote, validator.pubKey)
    }
    tallied += validator.power
    if (isEnoughPower({ tallied, total }, level)) break
  }
  return { tallied, total }
}

interface Parsed extends ParsedLightBlock {
  readonly trustedHeader: Header
  readonly now: bigint
  readonly trustingPeriod: bigint
  readonly maxClockDrift: bigint
}

const parseAll = (options: VerifyLightBlockOptions): Result.Result<Parsed, InvalidLightBlock> => {
  const now = parseRfc3339Nanos(options.now)
  if (now === undefined) return invalid("InvalidOptions", "now is not an RFC 3339 time")
  const trustingPeriod = parseDurationNanos(options.trustingPeriod)
  if (trustingPeriod === undefined) return invalid("InvalidOptions", "trustingPeriod is not a decimal nanosecond count")
  const maxClockDrift = parseDurationNanos(options.maxClockDrift ?? DEFAULT_MAX_CLOCK_DRIFT)
  if (maxClockDrift === undefined) return invalid("InvalidOptions", "maxClockDrift is not a decimal nanosecond count")
  try {
    const block = parseLightBlock(options.untrusted, "untrusted")
    return Result.succeed({ trustedHeader: parseTrustedHeader(options.trusted), ...block, now, trustingPeriod, maxClockDrift })
  } catch (e) {
    if (e instanceof MalformedLightBlock) return invalid("MalformedInput", e.message)
    throw e
  }
}

// Step 1: the block's sets hash to its header, the header to its commit, and the commit fits the set.
const checkSelfConsistent = (block: ParsedLightBlock): Result.Result<Uint8Array, InvalidLightBlock> => {
  const { header, commit, validators, nextValidators } = block
  const validatorsHash = hashValidatorSet(validators)
  if (!bytesEqual(validatorsHash, header.validatorsHash)) {
    return invalid("InvalidValidatorSet", `validator set hashes to ${bytesToUpperHex(validatorsHash)}, header says ${bytesToUpperHex(header.validatorsHash)}`)
  }
  const nextValidatorsHash = sameEncoding(validators, nextValidators) ? validatorsHash : hashValidatorSet(nextValidators)
  if (!bytesEqual(nextValidatorsHash, header.nextValidatorsHash)) {
    return invalid("InvalidNextValidatorSet", `next validator set hashes to ${bytesToUpperHex(nextValidatorsHash)}, header says ${bytesToUpperHex(header.nextValidatorsHash)}`)
  }
  const headerHash = merkleRoot(header.merkleLeaves)
  if (!bytesEqual(headerHash, commit.blockId.hash)) {
    return invalid("InvalidCommitValue", `header hashes to ${bytesToUpperHex(headerHash)}, commit is for ${bytesToUpperHex(commit.blockId.hash)}`)
  }
  if (commit.height !== header.height) return invalid("CommitHeightMismatch", `commit height ${commit.height}, header height ${header.height}`)
  if (commit.signers.length === 0) return invalid("NoSignatureForCommit", "the commit has no signature")
  if (commit.size !== validators.validators.length) {
    return invalid("MismatchPreCommitLength", `${commit.size} commit signatures for ${validators.validators.length} validators`)
  }
  const faulty = commit.signers.find((address) => !validators.byAddress.has(address))
  if (faulty !== undefined) return invalid("FaultySigner", `signer ${faulty} is not in the validator set`)
  return Result.succeed(headerHash)
}

/**
 * A verification whose every other check passed: it waits only on `checks`. `steps` say in
 * which order a failed check (or a failure found while selecting) decides the verdict;
 * `conclude` gives the verdict once all of them passed.
 */
interface Plan<A, E> {
  readonly checks: ReadonlyArray<SignatureCheck>
  readonly steps: ReadonlyArray<Step>
  readonly conclude: () => Result.Result<A, E>
}

type Planned<A, E> = Result.Result<Plan<A, E>, InvalidLightBlock>

// The first failing step in walking order decides, so the verdict does not depend on which
// signatures were checked first or on which thread.
const settle = <A, E>(plan: Plan<A, E>, passes: (check: number) => boolean): Result.Result<A, E | InvalidLightBlock> => {
  for (const step of plan.steps) {
    if ("failure" in step) return Result.fail(step.failure)
    if (!passes(step.check)) return invalid("InvalidSignature", step.detail)
  }
  return plan.conclude()
}

// Checks one signature at a time, stopping at the first that fails.
const settleWith = <A, E>(planned: Planned<A, E>, verifySignature: VerifySignature): Result.Result<A, E | InvalidLightBlock> => {
  if (Result.isFailure(planned)) return Result.fail(planned.failure)
  const plan = planned.success
  return settle(plan, (i) => {
    const c = plan.checks[i]
    return c !== undefined && verifySignature(c.publicKey, c.message, c.signature)
  })
}

// Checks all the selected signatures as one batch, then settles in walking order.
const settleBatch = <A, E>(planned: Planned<A, E>, verifySignatures: VerifySignatures): Effect.Effect<A, E | InvalidLightBlock> => {
  if (Result.isFailure(planned)) return Effect.fail(planned.failure)
  const plan = planned.success
  const verdict = (answers: ReadonlyArray<boolean>) => Effect.fromResult(settle(plan, (i) => answers[i] === true))
  return plan.checks.length === 0 ? verdict([]) : Effect.flatMap(verifySignatures(plan.checks), verdict)
}

const planLightBlock = (options: VerifyLightBlockOptions): Planned<VerifiedLightBlock, LightBlockVerificationError> => {
  const trustLevel = options.trustLevel ?? DEFAULT_TRUST_LEVEL
  if (!validTrustLevel(trustLevel)) return invalid("InvalidOptions", "trustLevel must be a fraction in [1/3, 1]")
  const parsed = parseAll(options)
  if (Result.isFailure(parsed)) return Result.fail(parsed.failure)
  const { trustedHeader, header, commit, validators, now, trustingPeriod, maxClockDrift } = parsed.success

  // 1. The untrusted light block is self-consistent.
  const consistent = checkSelfConsistent(parsed.success)
  if (Result.isFailure(consistent)) return Result.fail(consistent.failure)
  const headerHash = consistent.success

  // 2. Against the trusted state.
  if (trustedHeader.timeNanos + trustingPeriod <= now) {
    return invalid("NotWithinTrustPeriod", "the trusted header has expired (trusted time + trusting period <= now)")
  }
  if (header.timeNanos <= trustedHeader.timeNanos) return invalid("NonMonotonicBftTime", "header time is not after the trusted header's")
  if (header.chainId !== trustedHeader.chainId) {
    return invalid("ChainIdMismatch", `chain ${JSON.stringify(header.chainId)}, trusted ${JSON.stringify(trustedHeader.chainId)}`)
  }
  const adjacent = header.height === trustedHeader.height + 1n
  if (adjacent) {
    if (!bytesEqual(header.validatorsHash, trustedHeader.nextValidatorsHash)) {
      return invalid("InvalidNextValidatorSet", "validators_hash is not the trusted header's next_validators_hash")
    }
  } else if (header.height <= trustedHeader.height) {
    return invalid("NonIncreasingHeight", `height ${header.height} is not above the trusted height ${trustedHeader.height}`)
  }

  // 3. Not from the future.
  if (header.timeNanos >= now + maxClockDrift) return invalid("HeaderFromTheFuture", "header time is not before now + maxClockDrift")

  // 4. Signatures: select the votes each threshold needs (trusted set first), check them after.
  if (commit.duplicate !== undefined) return invalid("DuplicateValidator", `validator ${commit.duplicate} signed twice`)
  const signBytes = precommitSignBytes(header.chainId, commit)
  const selection: Selection = { checks: [], steps: [], selected: new Map() }
  let trustedSigners: PowerTally | undefined
  if (!adjacent) {
    let trustedSet: ValidatorSet
    try {
      trustedSet = parseTrustedNextValidators(options.trusted)
    } catch (e) {
      if (e instanceof MalformedLightBlock) return invalid("MalformedInput", e.message)
      throw e
    }
    if (!bytesEqual(hashValidatorSet(trustedSet), trustedHeader.nextValidatorsHash)) {
      return invalid("InvalidTrustedNextValidatorSet", "trusted next_validator_set does not hash to the trusted next_validators_hash")
    }
    trustedSigners = selectSigners(trustedSet, commit, trustLevel, signBytes, selection)
  }
  // A selection that ended on a failure step never reaches `conclude`.
  const signers = adjacent || trustedSigners !== undefined ? selectSigners(validators, commit, TWO_THIRDS, signBytes, selection) : undefined
  return Result.succeed({
    checks: selection.checks,
    steps: selection.steps,
    conclude: () => {
      if (signers === undefined) return invalid("InvalidValidatorAddress", "unreachable: an address failure is a step")
      if (trustedSigners !== undefined && !isEnoughPower(trustedSigners, trustLevel)) {
        return Result.fail(new NotEnoughTrust({ ...trustedSigners, trustLevel }))
      }
      if (!isEnoughPower(signers, TWO_THIRDS)) {
        return invalid("InsufficientSignersOverlap", `${signers.tallied} of ${signers.total} voting power signed, more than 2/3 needed`)
      }
      return Result.succeed({
        height: Number(header.height),
        hash: bytesToUpperHex(headerHash),
        time: formatRfc3339Nanos(header.timeNanos),
        adjacent,
        signaturesChecked: selection.checks.length,
        signers,
        trustedSigners
      })
    }
  })
}

/** Verify `untrusted` against `trusted` (adjacent or skipping, by height); see the module comment for the checks. */
export const verifyLightBlock = (
  options: VerifyLightBlockOptions,
  verifySignature: VerifySignature = nobleEd25519Verify
): Result.Result<VerifiedLightBlock, LightBlockVerificationError> => settleWith(planLightBlock(options), verifySignature)

/**
 * `verifyLightBlock` with the selected signatures checked as one batch by `verifySignatures`
 * (which may spread them over cores): the same verdicts, `signaturesChecked` included.
 */
export const verifyLightBlockBatch = (
  options: VerifyLightBlockOptions,
  verifySignatures: VerifySignatures
): Effect.Effect<VerifiedLightBlock, LightBlockVerificationError> => settleBatch(planLightBlock(options), verifySignatures)

/** The header hash (uppercase hex) of a header in RPC JSON, or the reason it cannot be parsed. */
export const headerHash = (header: unknown): Result.Result<string, InvalidLightBlock> => {
  try {
    return Result.succeed(bytesToUpperHex(merkleRoot(parseHeader(header).merkleLeaves)))
  } catch (e) {
    if (e instanceof MalformedLightBlock) return invalid("MalformedInput", e.message)
    throw e
  }
}

/** The hash (uppercase hex) of a validator set in RPC JSON, in canonical order, or the reason it cannot be parsed. */
export const validatorSetHash = (validatorSet: unknown): Result.Result<string, InvalidLightBlock> => {
  try {
    return Result.succeed(bytesToUpperHex(hashValidatorSet(parseValidatorSet(validatorSet))))
  } catch (e) {
    if (e instanceof MalformedLightBlock) return invalid("MalformedInput", e.message)
    throw e
  }
}

/** What `verifyOwnCommit` establishes about a light block. */
export interface SelfVerifiedLightBlock {
  readonly height: number
  /** Header hash, uppercase hex. */
  readonly hash: string
  readonly timeNanos: bigint
  readonly signaturesChecked: number
}

const planOwnCommit = (block: LightBlock): Planned<SelfVerifiedLightBlock, InvalidLightBlock> => {
  let parsed: ParsedLightBlock
  try {
    parsed = parseLightBlock(block, "light_block")
  } catch (e) {
    if (e instanceof MalformedLightBlock) return invalid("MalformedInput", e.message)
    throw e
  }
  const consistent = checkSelfConsistent(parsed)
  if (Result.isFailure(consistent)) return Result.fail(consistent.failure)
  const { header, commit, validators } = parsed
  if (commit.duplicate !== undefined) return invalid("DuplicateValidator", `validator ${commit.duplicate} signed twice`)
  const selection: Selection = { checks: [], steps: [], selected: new Map() }
  const signers = selectSigners(validators, commit, TWO_THIRDS, precommitSignBytes(header.chainId, commit), selection)
  return Result.succeed({
    checks: selection.checks,
    steps: selection.steps,
    conclude: () => {
      if (signers === undefined) return invalid("InvalidValidatorAddress", "unreachable: an address failure is a step")
      if (!isEnoughPower(signers, TWO_THIRDS)) {
        return invalid("InsufficientSignersOverlap", `${signers.tallied} of ${signers.total} voting power signed, more than 2/3 needed`)
      }
      return Result.succeed({ height: Number(header.height), hash: bytesToUpperHex(consistent.success), timeNanos: header.timeNanos, signaturesChecked: selection.checks.length })
    }
  })
}

/**
 * Check a light block on its own, as CometBFT does for a root of trust fetched by height and
 * hash: self-consistent (step 1 above) and signed by more than 2/3 of its own validator set.
 * This says nothing about whether that validator set is the chain's: the caller vouches for
 * the block by its hash.
 */
export const verifyOwnCommit = (
  block: LightBlock,
  verifySignature: VerifySignature = nobleEd25519Verify
): Result.Result<SelfVerifiedLightBlock, InvalidLightBlock> => settleWith(planOwnCommit(block), verifySignature)

/** `verifyOwnCommit` with the selected signatures checked as one batch by `verifySignatures`. */
export const verifyOwnCommitBatch = (
  block: LightBlock,
  verifySignatures: VerifySignatures
): Effect.Effect<SelfVerifiedLightBlock, InvalidLightBlock> => settleBatch(planOwnCommit(block), verifySignatures)

/** The header hash (uppercase hex) of a light block in RPC JSON, or the reason it cannot be parsed. */
export const lightBlockHash = (block: unknown): Result.Result<string, InvalidLightBlock> => {
  try {
    return Result.succeed(bytesToUpperHex(merkleRoot(parseTrustedHeader(block, "light_block").merkleLeaves)))
  } catch (e) {
    if (e instanceof MalformedLightBlock) return invalid("MalformedInput", e.message)
    throw e
  }
}
