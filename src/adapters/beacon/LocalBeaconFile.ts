/**
 * The local beacon's identity kept in a file (`beacon.key` in the data directory): its BLS
 * secret key and genesis time, created on first start (mode 0600, written to a temporary file
 * and renamed) and read afterwards. The chain must survive restarts — ciphertexts already in
 * the log are locked to its key and schedule — so a file that exists but does not decode is
 * an error, never silently replaced; one its group or others may open is refused.
 */
import { bytesToHex, hexToBytes } from "@noble/hashes/utils.js"
import { Clock, Effect, Layer, Schema } from "effect"
import { Beacon, BeaconUnavailableError } from "../../ports/Beacon.ts"
import { KeyFileModeError, readIfExists, writeSecret } from "../files/SecretFile.ts"
import * as LocalBeacon from "./LocalBeacon.ts"

/** The file's content. */
export const BeaconKeyFile = Schema.Struct({
  v: Schema.Literal(1),
  secretKey: Schema.String.check(Schema.isPattern(/^[0-9a-f]{64}$/)),
  genesisTime: Schema.Number.check(Schema.isInt(), Schema.isGreaterThanOrEqualTo(0)),
  period: Schema.Number.check(Schema.isInt(), Schema.isGreaterThanOrEqualTo(1)),
  beaconId: Schema.String
})

const decode = Schema.decodeUnknownResult(Schema.fromJsonString(BeaconKeyFile))

/** Read the beacon at `path`, creating it (genesis: now, 3 s rounds) when the file does not exist. */
export const loadOrCreate = (path: string): Effect.Effect<LocalBeacon.LocalBeaconOptions, BeaconUnavailableError | KeyFileModeError> =>
  Effect.gen(function*() {
    const now = yield* Clock.currentTimeMillis
    return yield* Effect.try({
      try: (): LocalBeacon.LocalBeaconOptions => {
        const text = readIfExists(path)
        if (text === undefined) {
          const options = { secretKey: LocalBeacon.randomSecretKey(), genesisTime: Math.floor(now / 1000), period: 3, beaconId: "causeway-local" }
          const file: typeof BeaconKeyFile.Type = { v: 1, ...options, secretKey: bytesToHex(options.secretKey) }
          writeSecret(path, `${JSON.stringify(file)}\n`)
          return options
        }
        const decoded = decode(text)
        if (decoded._tag === "Failure") throw new Error(`not a beacon key file: ${String(decoded.failure)}`)
        const f = decoded.success
        const options = { secretKey: hexToBytes(f.secretKey), genesisTime: f.genesisTime, period: f.period, beaconId: f.beaconId }
        LocalBeacon.chainInfoOf(options) // throws on a key outside the scalar range
        return options
      },
      catch: (e) => e instanceof KeyFileModeError ? e : new BeaconUnavailableError({ operation: `load ${path}`, reason: e instanceof Error ? e.message : String(e) })
    })
  })

/** The local beacon from its file, created on first use. */
export const layer = (path: string): Layer.Layer<Beacon, BeaconUnavailableError | KeyFileModeError> =>
  Layer.effect(Beacon, Effect.flatMap(loadOrCreate(path), LocalBeacon.make))
