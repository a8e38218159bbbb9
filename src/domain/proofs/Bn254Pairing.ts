/**
 * BN254 (alt_bn128) points from untrusted coordinates and the EIP-197 pairing check
 * (precompile 0x08), on noble's pairing. Every coordinate is checked below the base field
 * order p (never reduced), every point on its curve and every G2 point in the order-r
 * subgroup (G2 has a cofactor; G1 has none, so on the curve is in the subgroup). The point
 * checks are shared with the Groth16 verifier; failures are values, nothing throws.
 */
import { bn254 } from "@noble/curves/bn254.js"
import { Result, Schema } from "effect"

/** A G1 point (affine coordinates over Fp). */
export type G1Point = InstanceType<typeof bn254.G1.Point>
/** A G2 point (affine coordinates over Fp2). */
export type G2Point = InstanceType<typeof bn254.G2.Point>

const { Fp, Fp2, Fp12 } = bn254.fields

/** The base field order p. */
export const BN254_P: bigint = Fp.ORDER
/** The scalar field order r (the order of G1, G2 and GT). */
export const BN254_R: bigint = bn254.fields.Fr.ORDER

const G1_B = bn254.G1.Point.CURVE().b
const G2_B = bn254.G2.Point.CURVE().b

/** A coordinate is not below the base field order p. */
export class CoordinateOutOfRange extends Schema.TaggedError<CoordinateOutOfRange>()("CoordinateOutOfRange", { field: Schema.String }) {}

/** The coordinates do not satisfy the curve equation (y² = x³ + 3, or the twist's for G2). */
export class PointNotOnCurve extends Schema.TaggedError<PointNotOnCurve>()("PointNotOnCurve", { field: Schema.String }) {}

/** A G2 point on the twist but outside the order-r subgroup. */
export class PointNotInSubgroup extends Schema.TaggedError<PointNotInSubgroup>()("PointNotInSubgroup", { field: Schema.String }) {}

/** Why coordinates do not make a point of G1 or G2. */
export type PointError = CoordinateOutOfRange | PointNotOnCurve | PointNotInSubgroup

const below = (p: bigint) => (v: bigint) => v >= 0n && v < p
const isFp = below(BN254_P)

/** The G1 point (x, y); (0, 0) is the point at infinity (the EVM's encoding). */
export const g1Point = (x: bigint, y: bigint, field: string): Result.Result<G1Point, PointError> => {
  if (!isFp(x) || !isFp(y)) return Result.fail(new CoordinateOutOfRange({ field }))
  if (x === 0n && y === 0n) return Result.succeed(bn254.G1.Point.ZERO)
  if (Fp.sqr(y) !== Fp.add(Fp.mul(Fp.sqr(x), x), G1_B)) return Result.fail(new PointNotOnCurve({ field }))
  return Result.succeed(bn254.G1.Point.fromAffine({ x, y }))
}

/** The G2 point (x0 + x1·i, y0 + y1·i); all zeros is the point at infinity. */
export const g2Point = (x0: bigint, x1: bigint, y0: bigint, y1: bigint, field: string): Result.Result<G2Point, PointError> => {
  if (!isFp(x0) || !isFp(x1) || !isFp(y0) || !isFp(y1)) return Result.fail(new CoordinateOutOfRange({ field }))
  if (x0 === 0n && x1 === 0n && y0 === 0n && y1 === 0n) return Result.succeed(bn254.G2.Point.ZERO)
  const x = Fp2.fromBigTuple([x0, x1])
  const y = Fp2.fromBigTuple([y0, y1])
  if (!Fp2.eql(Fp2.sqr(y), Fp2.add(Fp2.mul(Fp2.sqr(x), x), G2_B))) return Result.fail(new PointNotOnCurve({ field }))
  const point = bn254.G2.Point.fromAffine({ x, y })
  if (!point.isTorsionFree()) return Result.fail(new PointNotInSubgroup({ field }))
  return Result.succeed(point)
}

/** One term of a pairing product. */
export interface PairingTerm {
  readonly g1: G1Point
  readonly g2: G2Point
}

/**
 * Is the product of the pairings e(g1, g2) the identity of GT? Terms holding the point at
 * infinity contribute 1 and are dropped; the rest share one Miller loop and one final
 * exponentiation. The points must come from `g1Point` / `g2Point`, which checked them
 * (noble's pairingBatch would test each G2 subgroup again, so its Miller loop is used directly).
 */
export const pairingProductIsOne = (terms: ReadonlyArray<PairingTerm>): boolean => {
  const live = terms.filter((t) => !t.g1.is0() && !t.g2.is0())
  const f = bn254.millerLoopBatch(
    live.map((t) => {
      const { x, y } = t.g1.toAffine()
      return [bn254.utils.calcPairingPrecomputes(t.g2), x, y]
    })
  )
  return Fp12.eql(Fp12.finalExponentiate(f), Fp12.ONE)
}

/** EIP-197 input that the precompile refuses (it fails, consuming its gas). */
export class PairingInputRejected extends Schema.TaggedError<PairingInputRejected>()("PairingInputRejected", {
  reason: Schema.String,
  point: Schema.optionalKey(Schema.Union([CoordinateOutOfRange, PointNotOnCurve, PointNotInSubgroup]))
}) {}

const PAIR_BYTES = 192

const word = (input: Uint8Array, offset: number): bigint => {
  let v = 0n
  for (let i = offset; i < offset + 32; i++) v = (v << 8n) | BigInt(input[i] ?? 0)
  return v
}

/**
 * The EIP-197 ecPairing precompile (0x08): `input` is k pairs of 192 bytes (G1 x, G1 y,
 * G2 x.im, G2 x.re, G2 y.im, G2 y.re, 32-byte big-endian each; all zeros the point at
 * infinity); the 32-byte output is 1 when the product of the pairings is 1, else 0. Input of
 * the wrong length or with a point that is not valid (also one paired with infinity) is
 * refused. The caller bounds the input (gas bounds it on chain).
 */
export const ecPairing = (input: Uint8Array): Result.Result<Uint8Array, PairingInputRejected> => {
  if (input.length % PAIR_BYTES !== 0) {
    return Result.fail(new PairingInputRejected({ reason: `input length ${input.length} is not a multiple of ${PAIR_BYTES}` }))
  }
  const terms: Array<PairingTerm> = []
  for (let k = 0; k * PAIR_BYTES < input.length; k++) {
    const at = k * PAIR_BYTES
    const g1 = g1Point(word(input, at), word(input, at + 32), `pair ${k} G1`)
    if (Result.isFailure(g1)) return Result.fail(new PairingInputRejected({ reason: `pair ${k}: G1 point is not valid`, point: g1.failure }))
    // EVM order: imaginary part first.
    const g2 = g2Point(word(input, at + 96), word(input, at + 64), word(input, at + 160), word(input, at + 128), `pair ${k} G2`)
    if (Result.isFailure(g2)) return Result.fail(new PairingInputRejected({ reason: `pair ${k}: G2 point is not valid`, point: g2.failure }))
    terms.push({ g1: g1.success, g2: g2.success })
  }
  const out = new Uint8Array(32)
  out[31] = pairingProductIsOne(terms) ? 1 : 0
  return Result.succeed(out)
}
