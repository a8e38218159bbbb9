/**
 * The Beacon port on drand's HTTP API (api.drand.sh, a relay, or any mirror): chain info from
 * `{base}/{chain hash}/info`, rounds from `{base}/{chain hash}/public/{round}`. Every response
 * is decoded with Schema and every beacon's signature verified against the chain key before it
 * is handed out, so a lying or broken relay yields an error, never a wrong decryption key.
 *
 * The chain info is either configured (no request at start) or fetched once and checked: its
 * recomputed hash must equal the configured chain hash, so a relay cannot swap the key.
 */
import { Clock, Effect, Layer, Result, Schema } from "effect"
import { InvalidBeacon, type VerifiedBeacon, verifyBeacon } from "../../domain/timelock/BeaconVerification.ts"
import {
  type ChainInfo,
  chainInfoFromJson,
  checkChainHash,
  DrandBeaconJson,
  DrandInfoJson,
  timeOfRound
} from "../../domain/timelock/ChainInfo.ts"
import { Beacon, BeaconUnavailableError, type BeaconService, RoundNotReached, scheduleOf } from "../../ports/Beacon.ts"
import { scrubEndpoint } from "../rpc/EndpointLabel.ts"

/** drand HTTP beacon settings. */
export interface DrandHttpBeaconOptions {
  /** API root without the chain hash, e.g. https://api.drand.sh. */
  readonly baseUrl: string
  /** The chain to follow (hex). Its info must hash to this. */
  readonly chainHash: string
  /** Known chain info (skips the /info request; still checked against `chainHash`). */
  readonly chainInfo?: ChainInfo
  /** Per-request timeout (default 5 s). */
  readonly timeoutMs?: number
  /** Injected fetch (default: the global one). */
  readonly fetch?: typeof globalThis.fetch
}

const decodeInfo = Schema.decodeUnknownResult(Schema.fromJsonString(DrandInfoJson))
const decodeBeacon = Schema.decodeUnknownResult(Schema.fromJsonString(DrandBeaconJson))

/** GET a URL as text, with a timeout; statuses other than 200 come back as the status. */
const get = (fetchFn: typeof globalThis.fetch, url: string, timeoutMs: number, shown: string) =>
  Effect.tryPromise({
    try: async () => {
      const response = await fetchFn(url, { signal: AbortSignal.timeout(timeoutMs), headers: { accept: "application/json" } })
      return { status: response.status, body: await response.text() }
    },
    catch: (cause) => new BeaconUnavailableError({ operation: `GET ${shown}`, reason: "request failed", cause })
  })

/** Fetch the chain info, decode it and check it hashes to the configured chain hash. */
const fetchChainInfo = Effect.fn("DrandHttpBeacon.chainInfo")(function*(options: DrandHttpBeaconOptions) {
  const url = `${options.baseUrl}/${options.chainHash}/info`
  // Errors name the relay by scheme and host only: its URL may hold an API key.
  const shown = scrubEndpoint(url, options.baseUrl)
  const fail = (reason: string) => Effect.fail(new BeaconUnavailableError({ operation: `GET ${shown}`, reason }))
  let info = options.chainInfo
  if (info === undefined) {
    const { status, body } = yield* get(options.fetch ?? globalThis.fetch, url, options.timeoutMs ?? 5000, shown)
    if (status !== 200) return yield* fail(`HTTP ${status}`)
    const decoded = decodeInfo(body)
    if (Result.isFailure(decoded)) return yield* fail(`undecodable chain info: ${decoded.failure.message}`)
    info = chainInfoFromJson(decoded.success)
  }
  const checked = checkChainHash(info)
  if (Result.isFailure(checked)) return yield* fail(`${checked.failure.reason} (stated ${checked.failure.stated}, computed ${checked.failure.computed})`)
  if (info.chainHash !== options.chainHash) return yield* fail(`chain info is for ${info.chainHash}, not the configured ${options.chainHash}`)
  return info
})

/** The service. Fails to build when the chain info cannot be fetched or does not check. */
export const make = Effect.fn("DrandHttpBeacon.make")(function*(options: DrandHttpBeaconOptions) {
  const chainInfo = yield* fetchChainInfo(options)
  const schedule = scheduleOf(chainInfo)
  const fetchFn = options.fetch ?? globalThis.fetch
  const timeoutMs = options.timeoutMs ?? 5000
  // Verified beacons never change; keep the recent ones (a pairing check costs ~50 ms).
  const cache = new Map<number, VerifiedBeacon>()
  const fetchRound: BeaconService["fetchRound"] = Effect.fn("DrandHttpBeacon.fetchRound")(function*(round: number) {
    if (!Number.isSafeInteger(round) || round < 1) return yield* Effect.fail(new InvalidBeacon({ reason: "round must be a positive integer", round }))
    const hit = cache.get(round)
    if (hit !== undefined) return hit
    const now = yield* Clock.currentTimeMillis
    const notYet = (why: string) =>
      Effect.fail(new RoundNotReached({ reason: `round ${round} ${why}`, round, availableAtMs: Math.max(now, timeOfRound(chainInfo, round)) }))
    if (schedule.roundAt(now) < round) return yield* notYet(`is emitted at ${new Date(timeOfRound(chainInfo, round)).toISOString()}`)
    const url = `${options.baseUrl}/${chainInfo.chainHash}/public/${round}`
    const shown = scrubEndpoint(url, options.baseUrl)
    const { status, body } = yield* get(fetchFn, url, timeoutMs, shown)
    // A relay answers 404 or 425 (Too Early) for a round it has not seen yet.
    if (status === 404 || status === 425) return yield* notYet(`is not served yet (HTTP ${status})`)
    if (status !== 200) return yield* Effect.fail(new BeaconUnavailableError({ operation: `GET ${shown}`, reason: `HTTP ${status}` }))
    const decoded = decodeBeacon(body)
    if (Result.isFailure(decoded)) {
      return yield* Effect.fail(new BeaconUnavailableError({ operation: `GET ${shown}`, reason: `undecodable beacon: ${decoded.failure.message}` }))
    }
    const b = decoded.success
    const verified = verifyBeacon(
      chainInfo,
      { round: b.round, signature: b.signature, previousSignature: b.previous_signature, randomness: b.randomness },
      round
    )
    if (Result.isFailure(verified)) {
      return yield* Effect.fail(
        verified.failure._tag === "InvalidBeacon" ? verified.failure : new BeaconUnavailableError({ operation: `GET ${shown}`, reason: verified.failure.reason })
      )
    }
    if (cache.size >= 1024) cache.delete(cache.keys().next().value as number)
    cache.set(round, verified.success)
    return verified.success
  })
  return { ...schedule, fetchRound } satisfies BeaconService
})

/** The drand HTTP beacon as a layer. */
export const layerWith = (options: DrandHttpBeaconOptions): Layer.Layer<Beacon, BeaconUnavailableError> => Layer.effect(Beacon, make(options))
