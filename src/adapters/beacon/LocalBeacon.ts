/**
 * A beacon of our own: one BLS12-381 key, rounds every `period` seconds from `genesisTime`,
 * signed in drand quicknet's scheme (bls-unchained-g1-rfc9380), so tlock ciphertexts made
 * for it are ordinary tlock ciphertexts and tlock-js can decrypt them with its signatures.
 * The embedded default when no drand network is configured, and the beacon of the tests.
 *
 * Whoever holds the secret key can sign any round early: the local beacon hides orders
 * from everyone but its operator. Use drand (`DrandHttpBeacon`) where the operator must not see.
 */
import { Clock, Effect, Layer, Result } from "effect"
import { bls12_381 } from "@noble/curves/bls12-381.js"
import { sha256 } from "@noble/hashes/sha2.js"
import { bytesToHex, hexToBytes } from "@noble/hashes/utils.js"
import { beaconPublicKey, InvalidBeacon, signRound, verifyBeacon } from "../../domain/timelock/BeaconVerification.ts"
import { type ChainInfo, computeChainHash, timeOfRound } from "../../domain/timelock/ChainInfo.ts"
import { Beacon, type BeaconService, RoundNotReached, scheduleOf } from "../../ports/Beacon.ts"

/** Local beacon parameters. */
export interface LocalBeaconOptions {
  /** 32-byte BLS secret key (a scalar below the group order). */
  readonly secretKey: Uint8Array
  /** Unix seconds of round 1. */
  readonly genesisTime: number
  /** Seconds between rounds (quicknet: 3). */
  readonly period?: number
  /** Beacon id, part of the chain hash. */
  readonly beaconId?: string
}

/** The chain info of a local beacon; its genesis seed is sha256 of the public key. */
export const chainInfoOf = (options: LocalBeaconOptions): ChainInfo => {
  const publicKey = beaconPublicKey(options.secretKey)
  const base = {
    publicKey,
    period: options.period ?? 3,
    genesisTime: options.genesisTime,
    genesisSeed: bytesToHex(sha256(hexToBytes(publicKey))),
    beaconId: options.beaconId ?? "causeway-local"
  }
  return { ...base, chainHash: computeChainHash(base), scheme: "bls-unchained-g1-rfc9380" }
}

/** A fresh random secret key (for `LocalBeaconOptions.secretKey`). */
export const randomSecretKey = (): Uint8Array => bls12_381.utils.randomSecretKey()

/** The service: signs a round once it is due by the clock, and verifies its own signature once. */
export const make = (options: LocalBeaconOptions): Effect.Effect<BeaconService> =>
  Effect.sync(() => {
    const chainInfo = chainInfoOf(options)
    const schedule = scheduleOf(chainInfo)
    const cache = new Map<number, ReturnType<typeof verifyBeacon>>()
    const fetchRound: BeaconService["fetchRound"] = (round) =>
      Effect.gen(function*() {
        if (!Number.isSafeInteger(round) || round < 1) {
          return yield* Effect.fail(new InvalidBeacon({ reason: "round must be a positive integer", round }))
        }
        const now = yield* Clock.currentTimeMillis
        if (schedule.roundAt(now) < round) {
          const availableAtMs = timeOfRound(chainInfo, round)
          return yield* Effect.fail(new RoundNotReached({ reason: `round ${round} is emitted at ${new Date(availableAtMs).toISOString()}`, round, availableAtMs }))
        }
        let verified = cache.get(round)
        if (verified === undefined) {
          verified = verifyBeacon(chainInfo, { round, signature: signRound(options.secretKey, round) }, round)
          if (cache.size > 4096) cache.clear()
          cache.set(round, verified)
        }
        return Result.isSuccess(verified) ? verified.success : yield* Effect.die(verified.failure)
      })
    return { ...schedule, fetchRound }
  })

/** The local beacon as a layer. */
export const layerWith = (options: LocalBeaconOptions): Layer.Layer<Beacon> => Layer.effect(Beacon, make(options))

