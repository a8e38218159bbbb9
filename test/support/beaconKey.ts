/** A local beacon for tests that run servers: its options, and its key file as serve reads it. */
import { writeFileSync } from "node:fs"
import { bytesToHex } from "@noble/hashes/utils.js"
import type * as LocalBeacon from "../../src/adapters/beacon/LocalBeacon.ts"

/** A local beacon whose secret key is 32 bytes of `fill`, started 100 s ago, with `period` s rounds. */
export const testBeacon = (fill: number, period = 1): LocalBeacon.LocalBeaconOptions => ({
  secretKey: new Uint8Array(32).fill(fill),
  genesisTime: Math.floor(Date.now() / 1000) - 100,
  period,
  beaconId: "causeway-local"
})

/** Write the beacon's key file (mode 0600, the shape src/adapters/beacon/LocalBeaconFile.ts reads). */
export const writeBeaconKey = (path: string, beacon: LocalBeacon.LocalBeaconOptions): void =>
  writeFileSync(path, JSON.stringify({ v: 1, ...beacon, secretKey: bytesToHex(beacon.secretKey) }), { mode: 0o600 })
