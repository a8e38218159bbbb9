/**
 * Groth16 over BN254 in the snarkjs/circom JSON shapes: verification_key.json, proof.json
 * and public signals as decimal strings. Verified with noble's BN254 pairing (snarkjs is
 * GPL): one product of four pairings with one final exponentiation,
 * e(-A, B) · e(alpha, beta) · e(vk_x, gamma) · e(C, delta) = 1, vk_x = IC[0] + Σ s_i · IC[i+1].
 *
 * Stricter than snarkjs on purpose: the key's protocol must be "groth16" and its curve BN254
 * ("bn128", as snarkjs writes it, or "bn254"); a BLS12-381 key is refused (UnsupportedCurve),
 * not verified. Every coordinate and public signal is a canonical decimal string (digits, no
 * leading zero, sign or space) below its field's order, never reduced; every point of the key
 * and of the proof is checked on its curve and (G2) in the order-r subgroup; points are
 * affine (z = 1); the proof's points and the key's alpha, beta, gamma and delta may not be the
 * point at infinity (an IC point may); IC has exactly nPublic + 1 points and there are exactly
 * nPublic signals, at most MAX_PUBLIC_INPUTS, so one verification's work is bounded.
 *
 * A key's checked points and the pairing precomputations that depend on it alone (the Miller
 * loop of e(alpha, beta), gamma's and delta's line coefficients, IC's multiplication tables)
 * are kept for the last few keys by content, so verifying against a known key costs about the
 * bare pairing product. Failures are values (`Result`); nothing throws, whatever the input.
 */
import { bn254 } from "@noble/curves/bn254.js"
import { Result, Schema } from "effect"
import {
  BN254_R,
  CoordinateOutOfRange,
  type G1Point,
  type G2Point,
  g1Point,
  g2Point,
  PointNotInSubgroup,
  PointNotOnCurve
} from "./Bn254Pairing.ts"

/** Most public inputs a key may declare (each costs one scalar multiplication). */
export const MAX_PUBLIC_INPUTS = 256

/** The key or the proof does not have the snarkjs shape (or a public signal is not a canonical decimal). */
export class MalformedGroth16Input extends Schema.TaggedError<MalformedGroth16Input>()("MalformedGroth16Input", {
  field: Schema.String,
  reason: Schema.String
}) {}

/** The key or proof is for another proof system than Groth16 (its `protocol`). */
export class UnsupportedProofSystem extends Schema.TaggedError<UnsupportedProofSystem>()("UnsupportedProofSystem", {
  proofSystem: Schema.String
}) {}

/** The key or proof is on another curve than BN254 (its `curve`, e.g. "bls12381"). */
export class UnsupportedCurve extends Schema.TaggedError<UnsupportedCurve>()("UnsupportedCurve", {
  curve: Schema.String
}) {}

/** A point of the proof, or alpha, beta, gamma or delta of the key, is the point at infinity. */
export class PointAtInfinity extends Schema.TaggedError<PointAtInfinity>()("PointAtInfinity", {
  field: Schema.String
}) {}

/** The number of public signals is not the key's nPublic. */
export class PublicInputCountMismatch extends Schema.TaggedError<PublicInputCountMismatch>()("PublicInputCountMismatch", {
  expected: Schema.Number,
  got: Schema.Number
}) {}

/** A public signal is at or above the scalar field order r (it is refused, not reduced). */
export class ScalarOutOfRange extends Schema.TaggedError<ScalarOutOfRange>()("ScalarOutOfRange", {
  index: Schema.Number
}) {}

/** Every input is well formed, but the pairing product is not 1: the proof does not prove these publics under this key. */
export class PairingCheckFailed extends Schema.TaggedError<PairingCheckFailed>()("PairingCheckFailed", {}) {}

/** Why a Groth16 proof was not verified. */
export const Groth16Error = Schema.Union([
  MalformedGroth16Input,
  UnsupportedProofSystem,
  UnsupportedCurve,
  CoordinateOutOfRange,
  PointNotOnCurve,
  PointNotInSubgroup,
  PointAtInfinity,
  PublicInputCountMismatch,
  ScalarOutOfRange,
  PairingCheckFailed
])
export type Groth16Error = typeof Groth16Error.Type

/** What a verified proof establishes: these public signals, under the key given. */
export interface VerifiedGroth16 {
  readonly proofSystem: "groth16"
  readonly curve: "bn128"
  readonly publicSignals: ReadonlyArray<string>
}

// r and p have 77 digits: 78 bounds the work while still telling "too large" from "not a number".
const DECIMAL = /^(?:0|[1-9][0-9]{0,77})$/u
const Decimal = Schema.String.check(Schema.isPattern(DECIMAL))
const G1Json = Schema.Tuple([Decimal, Decimal, Decimal])
const Fp2Json = Schema.Tuple([Decimal, Decimal])
const G2Json = Schema.Tuple([Fp2Json, Fp2Json, Fp2Json])

/** What names a key's or proof's system: snarkjs writes both into verification_key.json and proof.json. */
const SystemJson = Schema.Struct({ protocol: Schema.String, curve: Schema.String })
const OptionalSystemJson = Schema.Struct({ protocol: Schema.optionalKey(Schema.String), curve: Schema.optionalKey(Schema.String) })

/** snarkjs verification_key.json (other fields, such as vk_alphabeta_12, are ignored). */
export const VerificationKeyJson = Schema.Struct({
  protocol: Schema.String,
  curve: Schema.String,
  nPublic: Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: MAX_PUBLIC_INPUTS })),
  vk_alpha_1: G1Json,
  vk_beta_2: G2Json,
  vk_gamma_2: G2Json,
  vk_delta_2: G2Json,
  IC: Schema.Array(G1Json).check(Schema.isMaxLength(MAX_PUBLIC_INPUTS + 1))
})
export type VerificationKeyJson = typeof VerificationKeyJson.Type

/** snarkjs proof.json (`protocol` and `curve` are checked when present). */
export const ProofJson = Schema.Struct({
  pi_a: G1Json,
  pi_b: G2Json,
  pi_c: G1Json,
  protocol: Schema.optionalKey(Schema.String),
  curve: Schema.optionalKey(Schema.String)
})
export type ProofJson = typeof ProofJson.Type

/** snarkjs public.json: the public signals as decimal strings. */
export const PublicSignalsJson = Schema.Array(Schema.String).check(Schema.isMaxLength(MAX_PUBLIC_INPUTS))

const decodeSystem = Schema.decodeUnknownResult(SystemJson)
const decodeOptionalSystem = Schema.decodeUnknownResult(OptionalSystemJson)
const decodeKey = Schema.decodeUnknownResult(VerificationKeyJson)
const decodeProof = Schema.decodeUnknownResult(ProofJson)
const decodePublicSignals = Schema.decodeUnknownResult(PublicSignalsJson)

const BN254_NAMES: ReadonlySet<string> = new Set(["bn128", "bn254"])

const lengthOver = (value: unknown, max: number): boolean => Array.isArray(value) && value.length > max
const malformed = (field: string, reason: string) => Result.fail(new MalformedGroth16Input({ field, reason }))
const oneLine = (message: string) => message.replace(/\s*\n\s*/g, " ")

const checkSystem = (protocol: string | undefined, curve: string | undefined): Result.Result<void, UnsupportedProofSystem | UnsupportedCurve> => {
  if (protocol !== undefined && protocol !== "groth16") return Result.fail(new UnsupportedProofSystem({ proofSystem: protocol }))
  if (curve !== undefined && !BN254_NAMES.has(curve)) return Result.fail(new UnsupportedCurve({ curve }))
  return Result.void
}

type G1Json = typeof G1Json.Type
type G2Json = typeof G2Json.Type

/** A G1 point from snarkjs's [x, y, "1"]; ["0", "1", "0"] is infinity, refused unless `infinityAllowed`. */
const g1FromJson = (json: G1Json, field: string, infinityAllowed: boolean): Result.Result<G1Point, Groth16Error> => {
  const [x, y, z] = json
  if (z === "0" && x === "0" && y === "1") return infinityAllowed ? Result.succeed(bn254.G1.Point.ZERO) : Result.fail(new PointAtInfinity({ field }))
  if (z !== "1") return malformed(field, "not an affine point (z must be 1)")
  const point = g1Point(BigInt(x), BigInt(y), field)
  // (0, 0) is the EVM's infinity, not a snarkjs point: it is not on the curve.
  if (Result.isSuccess(point) && point.success.is0()) return Result.fail(new PointNotOnCurve({ field }))
  return point
}

/** A G2 point from snarkjs's [[x.c0, x.c1], [y.c0, y.c1], ["1", "0"]] (real part first); never infinity. */
const g2FromJson = (json: G2Json, field: string): Result.Result<G2Point, Groth16Error> => {
  const [[x0, x1], [y0, y1], [z0, z1]] = json
  if (z0 === "0" && z1 === "0") return Result.fail(new PointAtInfinity({ field }))
  if (z0 !== "1" || z1 !== "0") return malformed(field, "not an affine point (z must be [\"1\", \"0\"])")
  const point = g2Point(BigInt(x0), BigInt(x1), BigInt(y0), BigInt(y1), field)
  if (Result.isSuccess(point) && point.success.is0()) return Result.fail(new PointNotOnCurve({ field }))
  return point
}

type Precompute = ReturnType<typeof bn254.utils.calcPairingPrecomputes>
type Fp12 = ReturnType<typeof bn254.millerLoopBatch>

/** A checked key with what its pairings need precomputed. */
interface PreparedKey {
  readonly nPublic: number
  readonly ic: ReadonlyArray<G1Point>
  /** How many IC points carry a multiplication table. */
  readonly tabled: number
  /** The Miller loop of e(alpha, beta), before the final exponentiation. */
  readonly alphaBeta: Fp12
  readonly gamma: Precompute
  readonly delta: Precompute
}

// A multiplication table (window 6) makes a public input's scalar multiplication ~6x faster
// but takes ~330 KiB per IC point: tables for at most TABLE_BUDGET points over the cached keys
// (~21 MiB); a key beyond the budget multiplies without them.
const TABLE_WINDOW = 6
const TABLE_BUDGET = 64
const CACHED_KEYS = 16
const preparedKeys = new Map<string, PreparedKey>()
let tabledPoints = 0

const prepareKey = (vk: VerificationKeyJson, withTables: boolean): Result.Result<PreparedKey, Groth16Error> => {
  const alpha = g1FromJson(vk.vk_alpha_1, "vk.vk_alpha_1", false)
  if (Result.isFailure(alpha)) return Result.fail(alpha.failure)
  const g2s: Array<G2Point> = []
  for (const name of ["vk_beta_2", "vk_gamma_2", "vk_delta_2"] as const) {
    const point = g2FromJson(vk[name], `vk.${name}`)
    if (Result.isFailure(point)) return Result.fail(point.failure)
    g2s.push(point.success)
  }
  const [beta, gamma, delta] = g2s as [G2Point, G2Point, G2Point]
  const ic: Array<G1Point> = []
  let tabled = 0
  for (const [i, json] of vk.IC.entries()) {
    const point = g1FromJson(json, `vk.IC[${i}]`, true)
    if (Result.isFailure(point)) return Result.fail(point.failure)
    // IC[0] is only added, never multiplied.
    const table = withTables && i > 0 && !point.success.is0()
    if (table) tabled++
    ic.push(table ? point.success.precompute(TABLE_WINDOW) : point.success)
  }
  const a = alpha.success.toAffine()
  return Result.succeed({
    nPublic: vk.nPublic,
    ic,
    tabled,
    alphaBeta: bn254.millerLoopBatch([[bn254.utils.calcPairingPrecomputes(beta), a.x, a.y]]),
    gamma: bn254.utils.calcPairingPrecomputes(gamma),
    delta: bn254.utils.calcPairingPrecomputes(delta)
  })
}

const preparedKeyOf = (vk: VerificationKeyJson): Result.Result<PreparedKey, Groth16Error> => {
  const id = JSON.stringify([vk.nPublic, vk.vk_alpha_1, vk.vk_beta_2, vk.vk_gamma_2, vk.vk_delta_2, vk.IC])
  const known = preparedKeys.get(id)
  if (known !== undefined) {
    // Most recently used last: the first entry is the one to evict.
    preparedKeys.delete(id)
    preparedKeys.set(id, known)
    return Result.succeed(known)
  }
  const prepared = prepareKey(vk, tabledPoints + vk.nPublic <= TABLE_BUDGET)
  if (Result.isSuccess(prepared)) {
    preparedKeys.set(id, prepared.success)
    tabledPoints += prepared.success.tabled
    for (const [oldId, old] of preparedKeys) {
      if (preparedKeys.size <= CACHED_KEYS) break
      preparedKeys.delete(oldId)
      tabledPoints -= old.tabled
    }
  }
  return prepared
}

/** The public signals as scalars: canonical decimal strings below r, exactly `nPublic` of them. */
const publicScalars = (publicSignals: unknown, nPublic: number): Result.Result<Array<bigint>, Groth16Error> => {
  const decoded = decodePublicSignals(publicSignals, { errors: "first" })
  if (Result.isFailure(decoded)) return malformed("publicSignals", oneLine(decoded.failure.message))
  const signals = decoded.success
  if (signals.length !== nPublic) return Result.fail(new PublicInputCountMismatch({ expected: nPublic, got: signals.length }))
  const scalars: Array<bigint> = []
  for (const [index, signal] of signals.entries()) {
    if (!DECIMAL.test(signal)) return malformed(`publicSignals[${index}]`, "not a canonical decimal string")
    const s = BigInt(signal)
    if (s >= BN254_R) return Result.fail(new ScalarOutOfRange({ index }))
    scalars.push(s)
  }
  return Result.succeed(scalars)
}

/**
 * Verify a Groth16 proof over BN254 given as snarkjs JSON (verification_key.json, proof.json,
 * public signals as decimal strings): success with the public signals proven, or a failure
 * whose `_tag` names why (see `Groth16Error`). Never throws.
 */
export const verifyGroth16 = (vk: unknown, proof: unknown, publicSignals: unknown): Result.Result<VerifiedGroth16, Groth16Error> => {
  // The system first, so a key for another curve is refused as such, not as malformed.
  const system = decodeSystem(vk, { errors: "first" })
  if (Result.isFailure(system)) return malformed("vk", oneLine(system.failure.message))
  const keySystem = checkSystem(system.success.protocol, system.success.curve)
  if (Result.isFailure(keySystem)) return Result.fail(keySystem.failure)
  const proofSystem = decodeOptionalSystem(proof, { errors: "first" })
  if (Result.isFailure(proofSystem)) return malformed("proof", oneLine(proofSystem.failure.message))
  const proofChecked = checkSystem(proofSystem.success.protocol, proofSystem.success.curve)
  if (Result.isFailure(proofChecked)) return Result.fail(proofChecked.failure)

  // Lengths before decoding, so an oversized array costs no more than its length check.
  if (typeof vk === "object" && vk !== null && "IC" in vk && lengthOver(vk.IC, MAX_PUBLIC_INPUTS + 1)) return malformed("vk.IC", `more than ${MAX_PUBLIC_INPUTS + 1} points`)
  if (lengthOver(publicSignals, MAX_PUBLIC_INPUTS)) return malformed("publicSignals", `more than ${MAX_PUBLIC_INPUTS} signals`)
  const key = decodeKey(vk, { errors: "first" })
  if (Result.isFailure(key)) return malformed("vk", oneLine(key.failure.message))
  if (key.success.IC.length !== key.success.nPublic + 1) {
    return malformed("vk.IC", `${key.success.IC.length} points for nPublic ${key.success.nPublic} (must be nPublic + 1)`)
  }
  const decodedProof = decodeProof(proof, { errors: "first" })
  if (Result.isFailure(decodedProof)) return malformed("proof", oneLine(decodedProof.failure.message))
  const scalars = publicScalars(publicSignals, key.success.nPublic)
  if (Result.isFailure(scalars)) return Result.fail(scalars.failure)

  const prepared = preparedKeyOf(key.success)
  if (Result.isFailure(prepared)) return Result.fail(prepared.failure)
  const a = g1FromJson(decodedProof.success.pi_a, "proof.pi_a", false)
  if (Result.isFailure(a)) return Result.fail(a.failure)
  const b = g2FromJson(decodedProof.success.pi_b, "proof.pi_b")
  if (Result.isFailure(b)) return Result.fail(b.failure)
  const c = g1FromJson(decodedProof.success.pi_c, "proof.pi_c", false)
  if (Result.isFailure(c)) return Result.fail(c.failure)

  if (!pairingCheck(prepared.success, a.success, b.success, c.success, scalars.success)) return Result.fail(new PairingCheckFailed())
  return Result.succeed({ proofSystem: "groth16", curve: "bn128", publicSignals: scalars.success.map(String) })
}

/** e(-A, B) · e(alpha, beta) · e(vk_x, gamma) · e(C, delta) = 1, with e(alpha, beta)'s Miller loop and the key's line coefficients precomputed. */
const pairingCheck = (key: PreparedKey, a: G1Point, b: G2Point, c: G1Point, scalars: ReadonlyArray<bigint>): boolean => {
  let vkX = key.ic[0] ?? bn254.G1.Point.ZERO
  for (const [i, s] of scalars.entries()) {
    const point = key.ic[i + 1]
    if (point !== undefined) vkX = vkX.add(point.multiplyUnsafe(s))
  }
  const negA = a.negate().toAffine()
  const cA = c.toAffine()
  const terms: Array<[Precompute, bigint, bigint]> = [
    [bn254.utils.calcPairingPrecomputes(b), negA.x, negA.y],
    [key.delta, cA.x, cA.y]
  ]
  // e(O, gamma) = 1: the term drops out.
  if (!vkX.is0()) {
    const x = vkX.toAffine()
    terms.push([key.gamma, x.x, x.y])
  }
  const { Fp12 } = bn254.fields
  return Fp12.eql(Fp12.finalExponentiate(Fp12.mul(bn254.millerLoopBatch(terms), key.alphaBeta)), Fp12.ONE)
}
