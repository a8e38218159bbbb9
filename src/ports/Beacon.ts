/**
 * A randomness beacon whose round signatures open tlock ciphertexts: drand over HTTP in
 * production, a local beacon (our own BLS key, quicknet's scheme) embedded by default and in
 * tests. Every beacon handed out is verified against the chain's public key, whatever the
 * adapter: a tlock decryption never runs on an unchecked signature.
 */
import { Clock, Context, Data, Duration, Effect, Schema } from "effect"
import type { InvalidBeacon, VerifiedBeacon } from "../domain/timelock/BeaconVerification.ts"
import type { ChainInfo } from "../domain/timelock/ChainInfo.ts"
import { roundAt, timeOfRound } from "../domain/timelock/ChainInfo.ts"

/** The round is not emitted yet (asked too early); retry at `availableAtMs`. */
export class RoundNotReached extends Schema.TaggedError<RoundNotReached>()("RoundNotReached", {
  reason: Schema.String,
  round: Schema.Number,
  availableAtMs: Schema.Number
}, { httpApiStatus: 425 }) {}

/** The beacon could not be reached or answered nonsense (network, status, undecodable body). */
export class BeaconUnavailableError extends Data.TaggedError("BeaconUnavailableError")<{
  readonly operation: string
  readonly reason: string
  readonly cause?: unknown
}> {}

/** Why a round could not be fetched. */
export type FetchRoundError = RoundNotReached | InvalidBeacon | BeaconUnavailableError

/** The beacon port. */
export interface BeaconService {
  /** The chain's parameters (public key, period, genesis, scheme, hash), fixed for the service's life. */
  readonly chainInfo: ChainInfo
  /** The latest round emitted at `unixMs` (0 before genesis). */
  readonly roundAt: (unixMs: number) => number
  /** A round's beacon, its signature verified against the chain key. */
  readonly fetchRound: (round: number) => Effect.Effect<VerifiedBeacon, FetchRoundError>
}

/** The beacon service tag. */
export class Beacon extends Context.Service<Beacon, BeaconService>()("causeway/Beacon") {}

/** Build the pure part of the service from chain info. */
export const scheduleOf = (chainInfo: ChainInfo): Pick<BeaconService, "chainInfo" | "roundAt"> => ({
  chainInfo,
  roundAt: (unixMs) => roundAt(chainInfo, unixMs)
})

/** The round current at the (test-controllable) clock. */
export const currentRound: Effect.Effect<number, never, Beacon> = Effect.gen(function*() {
  const beacon = yield* Beacon
  return beacon.roundAt(yield* Clock.currentTimeMillis)
})

/**
 * Wait until `round` is due by the clock, then fetch it, retrying while the beacon says it
 * is not there yet (clock skew, propagation) every `retryMs`, at most `attempts` times.
 */
export const awaitRound = Effect.fn("Beacon.awaitRound")(function*(round: number, retryMs = 500, attempts = 20) {
  const beacon = yield* Beacon
  const due = timeOfRound(beacon.chainInfo, round)
  const now = yield* Clock.currentTimeMillis
  if (due > now) yield* Effect.sleep(Duration.millis(due - now))
  for (let i = 1; ; i++) {
    const result = yield* Effect.result(beacon.fetchRound(round))
    if (result._tag === "Success") return result.success
    if (result.failure._tag !== "RoundNotReached" || i >= attempts) return yield* Effect.fail(result.failure)
    yield* Effect.sleep(Duration.millis(retryMs))
  }
})
