/**
 * Exact sharing of extracted MEV among weighted participants, in bigint arithmetic.
 *
 * Rule (largest remainder, Hamilton's method): participant i with weight w_i of total W
 * first gets floor(extracted · w_i / W). The units left over, R = extracted − Σ floors
 * (always fewer than the number of participants with a non-zero remainder), go one each to
 * the R participants with the largest remainders (extracted · w_i mod W); equal remainders
 * are ordered by id ascending (UTF-16 code-unit order, which is byte order for the hex keys
 * used as ids). So the shares sum to `extracted` exactly, each share is within one unit of
 * its exact proportional value (below it by less than one, or above it by less than one),
 * a zero weight gets nothing, and the result depends on the set of participants, never on
 * the order of the list.
 */
import { Result, Schema } from "effect"

/** One participant: an id (unique in the list) and a non-negative weight. */
export interface MevParticipant {
  readonly id: string
  readonly weight: bigint
}

/** One participant's share. */
export interface MevShare {
  readonly id: string
  readonly weight: bigint
  readonly share: bigint
}

/** The inputs cannot be shared: negative amounts, duplicate ids, or no positive weight. */
export class InvalidMevDistribution extends Schema.TaggedError<InvalidMevDistribution>()("InvalidMevDistribution", {
  reason: Schema.String
}, { httpApiStatus: 422 }) {}

const byId = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0)

/**
 * Split `extracted` among `participants` by weight, exactly (rule in the module doc). The
 * shares come back in the order of the input list.
 */
export const calculateMevDistribution = (
  extracted: bigint,
  participants: ReadonlyArray<MevParticipant>
): Result.Result<ReadonlyArray<MevShare>, InvalidMevDistribution> => {
  if (extracted < 0n) return Result.fail(new InvalidMevDistribution({ reason: `the extracted value ${extracted} is negative` }))
  if (participants.length === 0) return Result.fail(new InvalidMevDistribution({ reason: "there are no participants to share among" }))
  const seen = new Set<string>()
  let total = 0n
  for (const p of participants) {
    if (p.id === "") return Result.fail(new InvalidMevDistribution({ reason: "a participant id is empty" }))
    if (seen.has(p.id)) return Result.fail(new InvalidMevDistribution({ reason: `participant ${JSON.stringify(p.id)} appears more than once` }))
    if (p.weight < 0n) return Result.fail(new InvalidMevDistribution({ reason: `participant ${JSON.stringify(p.id)} has a negative weight ${p.weight}` }))
    seen.add(p.id)
    total += p.weight
  }
  if (total === 0n) return Result.fail(new InvalidMevDistribution({ reason: "the weights sum to zero; at least one must be positive" }))

  const floors = participants.map((p) => (extracted * p.weight) / total)
  let left = extracted - floors.reduce((a, b) => a + b, 0n)
  const order = participants
    .map((p, i) => ({ i, id: p.id, remainder: (extracted * p.weight) % total }))
    .sort((a, b) => (a.remainder > b.remainder ? -1 : a.remainder < b.remainder ? 1 : byId(a.id, b.id)))
  const shares = [...floors]
  for (const o of order) {
    if (left === 0n) break
    shares[o.i] = (shares[o.i] ?? 0n) + 1n
    left -= 1n
  }
  return Result.succeed(participants.map((p, i) => ({ id: p.id, weight: p.weight, share: shares[i] ?? 0n })))
}
