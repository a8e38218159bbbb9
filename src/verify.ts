/**
 * causeway's offline verifiers as a library (`import … from "causeway/verify"`): check
 * CometBFT light blocks, ICS23 store proofs, EIP-1186 account/storage proofs, EVM receipt and
 * transaction proofs, the instance's signed ordering receipts (`checkReceipt`, against the key GET /v1/instance
 * publishes) and Groth16 proofs over BN254 (`verifyGroth16`, snarkjs JSON) without running the
 * service or trusting whoever handed them over.
 *
 * Conventions: times are RFC 3339 strings, durations nanoseconds as decimal strings, heights
 * numbers, hashes and keys hex strings, `trustLevel` a `{ numerator, denominator }` fraction;
 * light blocks are in the CometBFT RPC JSON shape (`/commit` + `/validators`). Verdicts are
 * values, never throws: `verifyLightBlock`, `verifyToHeight`, `verifyEip1186Proof` and `verifyGroth16` return
 * an effect `Result` (a plain object: `{ _tag: "Success", success }` or
 * `{ _tag: "Failure", failure }`, where `failure._tag` names the reason); the ICS23 checks
 * return a boolean.
 *
 * This module is the library's composition root: it picks node:crypto for Ed25519 (the
 * verdicts are the same as the domain's pure-JS default, only faster) and turns plain
 * (sync or Promise-returning) block providers into the domain's Effect providers.
 */
import { Data, Effect, Result } from "effect"
import * as NodeCryptoCommitVerifier from "./adapters/cosmos/NodeCryptoCommitVerifier.ts"
import {
  verifyIcs23Membership as verifyMembership,
  verifyIcs23NonMembership as verifyNonMembership,
  type Ics23SpecName
} from "./adapters/cosmos/Ics23Verifier.ts"
import type { ProofSpec } from "./domain/verify/Ics23.ts"
import { type Eip1186Error, type VerifiedEip1186Proof, verifyEip1186Proof as verifyEip1186 } from "./domain/verify/Eip1186.ts"
import {
  type VerifiedTarget,
  type VerifyToHeightError,
  verifyToHeight as verifyToHeightEffect
} from "./domain/verify/cometbft/CometBftBisection.ts"
import {
  type VerifiedLightBlock,
  type VerifyLightBlockOptions,
  verifyLightBlockBatch
} from "./domain/verify/cometbft/CometBftLightClient.ts"
import type { LightBlock } from "./domain/verify/cometbft/LightBlock.ts"
import type { LightBlockVerificationError, TrustLevel } from "./domain/verify/cometbft/LightClientErrors.ts"
import {
  MalformedReceipts,
  ReceiptOutOfPlace,
  receiptsRootOf,
  UnsupportedReceiptType
} from "./domain/verify/EvmReceipts.ts"
import {
  MalformedTransactions,
  TransactionHashMismatch,
  TransactionOutOfPlace,
  transactionsRootOf,
  UnsupportedTransactionType
} from "./domain/verify/EvmTransactions.ts"
import {
  acknowledgementCommitmentV1Bytes,
  acknowledgementCommitmentV2Bytes,
  commitmentHex,
  MalformedIbcInput,
  type PacketV1,
  type PacketV2,
  packetCommitmentV1Bytes,
  packetCommitmentV2Bytes
} from "./domain/ibc/IbcCommitments.ts"
import { ibcDenom as ibcDenomOf } from "./domain/ibc/IbcDenom.ts"
import { type Groth16Error, type VerifiedGroth16, verifyGroth16 as verifyGroth16Proof } from "./domain/proofs/Groth16.ts"

export type { Ics23SpecName } from "./adapters/cosmos/Ics23Verifier.ts"
export type { ProofSpec } from "./domain/verify/Ics23.ts"
export {
  AccountFieldMismatch,
  AccountProofRejected,
  type Eip1186Error,
  type GetProofResult,
  MalformedProofInput,
  StorageProofRejected,
  StorageValueMismatch,
  type VerifiedEip1186Proof,
  type VerifiedStorageSlot
} from "./domain/verify/Eip1186.ts"
export {
  type LightClientAttackEvidence,
  LightClientAttackDetected,
  TrustedRootRejected,
  type VerifiedTarget,
  type VerifyToHeightError,
  type WitnessReport
} from "./domain/verify/cometbft/CometBftBisection.ts"
export type { PowerTally, SelfVerifiedLightBlock, VerifiedLightBlock, VerifyLightBlockOptions } from "./domain/verify/cometbft/CometBftLightClient.ts"
export type {
  BlockIdJson,
  CommitJson,
  CommitSigJson,
  HeaderJson,
  LightBlock,
  SignedHeaderJson,
  TrustedLightBlock,
  ValidatorJson,
  ValidatorSetJson
} from "./domain/verify/cometbft/LightBlock.ts"
export {
  type InvalidReason,
  InvalidLightBlock,
  type LightBlockVerificationError,
  NotEnoughTrust,
  type TrustLevel
} from "./domain/verify/cometbft/LightClientErrors.ts"
export { checkReceipt, InvalidReceipt, type SignedReceipt } from "./domain/mempool/Receipt.ts"
export { type FairnessOptions, type FairOrdering, UnfairOrdering, type Violation as OrderingViolation, verifyOrderingFairness } from "./domain/mempool/OrderingFairness.ts"

// node:crypto (OpenSSL) Ed25519 with parsed keys cached; each commit's selected signatures
// are checked as a batch on both cores (the calling thread and a helper thread, started on
// first use and not keeping the process alive).
const ed25519 = NodeCryptoCommitVerifier.make({ cacheSize: 10_000 })

/**
 * Verify one light block (`untrusted`: `{ signed_header, validator_set, next_validator_set }`)
 * against a trusted one (`{ signed_header, next_validator_set }`), adjacent or skipping by
 * height. Failure is `NotEnoughTrust` (bisect: verify a block in between first) or
 * `InvalidLightBlock` with a `reason` (never trust it).
 */
export const verifyLightBlock = (options: {
  readonly trusted: VerifyLightBlockOptions["trusted"]
  readonly untrusted: VerifyLightBlockOptions["untrusted"]
  readonly now: string
  readonly trustingPeriod: string
  readonly trustLevel?: TrustLevel
  readonly maxClockDrift?: string
}): Result.Result<VerifiedLightBlock, LightBlockVerificationError> =>
  // The batch verifier is synchronous (the caller waits for its helper thread), so this stays a plain call.
  Effect.runSync(Effect.result(verifyLightBlockBatch(options, ed25519.verifyMany)))

/** A source of light blocks by height: a full node's RPC, a file, a cache. It may return a Promise. */
export type LightBlockSource = (height: number) => LightBlock | PromiseLike<LightBlock>

/** The primary could not deliver the block at `height` (its function threw or rejected). */
export class LightBlockSourceFailed extends Data.TaggedError("LightBlockSourceFailed")<{
  readonly height: number
  readonly cause: unknown
}> {}

/** Inputs of `verifyToHeight`. */
export interface VerifyToHeightInput {
  /** Height of the root of trust, obtained out of band. */
  readonly trustedHeight: number
  /** Header hash at `trustedHeight`, hex. */
  readonly trustedHash: string
  readonly targetHeight: number
  readonly primary: LightBlockSource
  /** Full nodes the target is cross-checked with; one that fails to answer is only reported. */
  readonly witnesses?: ReadonlyArray<LightBlockSource>
  readonly now: string
  readonly trustingPeriod: string
  readonly trustLevel?: TrustLevel
  readonly maxClockDrift?: string
}

const fromSource = (source: LightBlockSource) => (height: number): Effect.Effect<LightBlock, LightBlockSourceFailed> =>
  Effect.tryPromise({
    try: async () => source(height),
    catch: (cause) => new LightBlockSourceFailed({ height, cause })
  })

/**
 * Verify the primary's block at `targetHeight` from the root of trust by skipping
 * verification with bisection, then cross-check it with the witnesses. Resolves (never
 * rejects) to the verified target — `block`, `steps` (verification attempts), `trace`
 * (heights verified) and the witnesses' reports — or a typed failure: `InvalidLightBlock`,
 * `TrustedRootRejected`, `LightClientAttackDetected` (a witness holds a conflicting header
 * that verifies; the evidence is attached) or `LightBlockSourceFailed`.
 */
export const verifyToHeight = (
  input: VerifyToHeightInput
): Promise<Result.Result<VerifiedTarget, VerifyToHeightError | LightBlockSourceFailed>> =>
  Effect.runPromise(
    Effect.result(
      verifyToHeightEffect(
        {
          trustedHeight: input.trustedHeight,
          trustedHash: input.trustedHash,
          targetHeight: input.targetHeight,
          primary: fromSource(input.primary),
          witnesses: (input.witnesses ?? []).map(fromSource),
          now: input.now,
          trustingPeriod: input.trustingPeriod,
          ...(input.trustLevel === undefined ? {} : { trustLevel: input.trustLevel }),
          ...(input.maxClockDrift === undefined ? {} : { maxClockDrift: input.maxClockDrift })
        },
        ed25519.verify,
        ed25519.verifyMany
      )
    )
  )

/**
 * Does `proof` (hex protobuf CommitmentProof) prove `key` = `value` (hex) under `root` (hex)?
 * `spec` is "iavl", "tendermint", "smt" or a ProofSpec. Go's cosmos/ics23 rules apply.
 */
export const verifyIcs23Membership = (spec: Ics23SpecName | ProofSpec, root: string, proof: string, key: string, value: string): boolean =>
  verifyMembership(spec, root, proof, key, value)

/** Does `proof` (hex protobuf CommitmentProof) prove that `key` (hex) is absent under `root`? */
export const verifyIcs23NonMembership = (spec: Ics23SpecName | ProofSpec, root: string, proof: string, key: string): boolean =>
  verifyNonMembership(spec, root, proof, key)

/**
 * Verify an eth_getProof result (the JSON `result`, verbatim) against a trusted state root
 * (0x-prefixed 32-byte hex): the account and every storage slot, inclusion or exclusion.
 */
export const verifyEip1186Proof = (stateRoot: string, getProofResult: unknown): Result.Result<VerifiedEip1186Proof, Eip1186Error> =>
  verifyEip1186(stateRoot, getProofResult)

// ---------------------------------------------------------------------------------------------
// Effects: EVM receipts, IBC commitments and denoms

export {
  type ConsensusLog,
  HeaderMismatch,
  LogNotInReceipt,
  MalformedLogEvidence,
  MalformedReceipts,
  type BlockReceiptsError,
  ReceiptNotProven,
  ReceiptOutOfPlace,
  ReceiptProofRejected,
  type ReceiptLogError,
  type ReceiptLogEvidence,
  ReceiptsRootMismatch,
  UnsupportedReceiptType,
  type VerifiedBlockReceipts,
  type VerifiedReceiptLog,
  verifyBlockReceipts,
  verifyReceiptLog
} from "./domain/verify/EvmReceipts.ts"
export {
  type BlockTransactionsError,
  MalformedTransactionEvidence,
  MalformedTransactions,
  TransactionHashMismatch,
  TransactionHeaderMismatch,
  TransactionNotProven,
  TransactionOutOfPlace,
  TransactionProofRejected,
  type TransactionEvidence,
  type TransactionProofError,
  TransactionsRootMismatch,
  UnsupportedTransactionType,
  type VerifiedTransaction,
  verifyTransactionProof
} from "./domain/verify/EvmTransactions.ts"
export { type DenomHop, type DenomPath, parseIbcDenomPath } from "./domain/ibc/IbcDenom.ts"
export { MalformedIbcInput, type PacketV1, type PacketV2, type PayloadV2 } from "./domain/ibc/IbcCommitments.ts"

/** A computed value on success; on bad input a `Result` failure whose `failure._tag` names the reason (never a throw). */
export type Computed<E> = string | Result.Failure<string, E>

const computed = <E>(result: Result.Result<string, E>): Computed<E> => (Result.isSuccess(result) ? result.success : result)

/**
 * The receipts root (0x-prefixed lowercase hex) of an `eth_getBlockReceipts` result
 * (`receipts[i]` is transaction i; types 0x0-0x4; legacy `root` or `status`); a failure for
 * receipts it cannot encode or that are out of place.
 */
export const computeReceiptsRoot = (receipts: unknown): Computed<MalformedReceipts | UnsupportedReceiptType | ReceiptOutOfPlace> =>
  computed(receiptsRootOf(receipts))

/**
 * The transactions root (0x-prefixed lowercase hex) of a full block's `transactions`
 * (`eth_getBlockByHash(hash, true)`; `transactions[i]` is transaction i; types 0x0-0x4, blob
 * transactions without sidecars); a failure for transactions it cannot encode, out of place,
 * or whose fields hash to another `hash` than the one given.
 */
export const computeTransactionsRoot = (
  transactions: unknown
): Computed<MalformedTransactions | UnsupportedTransactionType | TransactionOutOfPlace | TransactionHashMismatch> => computed(transactionsRootOf(transactions))

/** The v1 packet commitment (lowercase hex, no 0x), as ibc-go's CommitPacket prints it. */
export const ibcPacketCommitment = (packet: PacketV1): Computed<MalformedIbcInput> =>
  computed(Result.map(packetCommitmentV1Bytes(packet), commitmentHex))

/** The v2 packet commitment (lowercase hex, no 0x), as ibc-go's 04-channel/v2 CommitPacket prints it. */
export const ibcPacketCommitmentV2 = (packet: PacketV2): Computed<MalformedIbcInput> =>
  computed(Result.map(packetCommitmentV2Bytes(packet), commitmentHex))

/** The v1 acknowledgement commitment: sha256 of the acknowledgement bytes (hex in, lowercase hex out). */
export const ibcAcknowledgementCommitment = (ack: string): Computed<MalformedIbcInput> =>
  computed(Result.map(acknowledgementCommitmentV1Bytes(ack), commitmentHex))

/** The v2 acknowledgement commitment over every app's acknowledgement (each hex). */
export const ibcAcknowledgementCommitmentV2 = (acks: ReadonlyArray<string>): Computed<MalformedIbcInput> =>
  computed(Result.map(acknowledgementCommitmentV2Bytes(acks), commitmentHex))

/** `ibc/` + uppercase hex SHA-256 of a full denom path; a path with no hop is returned unchanged. */
export const ibcDenom = (path: string): Computed<MalformedIbcInput> =>
  typeof path === "string" ? ibcDenomOf(path) : computed(Result.fail(new MalformedIbcInput({ field: "path", reason: "not a string" })))

// ---------------------------------------------------------------------------------------------
// Zero-knowledge proofs: Groth16 over BN254

export { CoordinateOutOfRange, PointNotInSubgroup, PointNotOnCurve } from "./domain/proofs/Bn254Pairing.ts"
export {
  type Groth16Error,
  MalformedGroth16Input,
  MAX_PUBLIC_INPUTS,
  PairingCheckFailed,
  PointAtInfinity,
  PublicInputCountMismatch,
  ScalarOutOfRange,
  UnsupportedCurve,
  UnsupportedProofSystem,
  type VerifiedGroth16
} from "./domain/proofs/Groth16.ts"

/**
 * Verify a Groth16 proof over BN254 as snarkjs writes it: `vk` is verification_key.json
 * (protocol "groth16", curve "bn128"), `proof` is proof.json, `publicSignals` the public
 * signals as decimal strings (public.json); the same check the instance runs on shared proofs.
 * Success holds the public signals proven; failure's `_tag` names why: MalformedGroth16Input,
 * UnsupportedProofSystem, UnsupportedCurve (e.g. a BLS12-381 key), CoordinateOutOfRange,
 * PointNotOnCurve, PointNotInSubgroup, PointAtInfinity, PublicInputCountMismatch,
 * ScalarOutOfRange (a public at or above the field order: refused, never reduced) or
 * PairingCheckFailed (the proof does not prove these publics under this key). Never throws.
 */
export const verifyGroth16 = (vk: unknown, proof: unknown, publicSignals: unknown): Result.Result<VerifiedGroth16, Groth16Error> =>
  verifyGroth16Proof(vk, proof, publicSignals)
