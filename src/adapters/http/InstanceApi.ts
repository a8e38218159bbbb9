/**
 * What a client needs before it submits, published: the instance (its public key, protocol,
 * limits, batch window, cluster members) and its beacon in drand's HTTP shape, so tlock-js
 * and drand-client use `<server>/v1/beacon` as a drand chain URL (`/info`, `/public/latest`,
 * `/public/{round}`) and encrypt orders to it. Handlers: InstanceHandlers.ts.
 */
import { Schema } from "effect"
import { HttpApiEndpoint, HttpApiGroup, OpenApi } from "effect/http-api"
import { DrandBeaconJson, DrandInfoJson } from "../../domain/timelock/ChainInfo.ts"
import { RoundNotReached } from "../../ports/Beacon.ts"
import { DecodesInput, NeedsLog } from "./EdgeApi.ts"

/** This instance runs no sealer, hence no beacon. */
export class NoBeacon extends Schema.TaggedError<NoBeacon>()("NoBeacon", {
  reason: Schema.String
}, { httpApiStatus: 404 }) {}

/** The beacon did not answer, or answered something that does not verify. */
export class BeaconUnavailable extends Schema.TaggedError<BeaconUnavailable>()("BeaconUnavailable", {
  reason: Schema.String
}, { httpApiStatus: 502 }) {}

const Hex = Schema.String.check(Schema.isPattern(/^(?:[0-9a-f]{2})*$/u))

/** The instance, as a client needs it to sign, lock and check what it gets back. */
export const InstanceView = Schema.Struct({
  publicKey: Hex.annotate({ description: "the instance's public key (hex): it signs receipts, seals and every decision; check receipts against it" }),
  scheme: Schema.Literal("ed25519").annotate({ description: "the instance key's signature scheme" }),
  software: Schema.Struct({ name: Schema.Literal("causeway"), version: Schema.String }).annotate({ identifier: "Software" }),
  protocol: Schema.Struct({
    version: Schema.Finite.annotate({ description: "the envelope version `v` this instance admits" }),
    flags: Schema.Finite.annotate({ description: "the feature-flag bits it understands; any other bit set is refused" }),
    schemes: Schema.Array(Schema.String).annotate({ description: "the signature schemes a sender may use" }),
    maxMessageBytes: Schema.Finite,
    maxBatch: Schema.Finite,
    maxDeps: Schema.Finite
  }).annotate({ identifier: "Protocol" }),
  log: Schema.Literals(["sqlite", "kafka", "memory"]),
  mempool: Schema.Struct({
    batchWindowMs: Schema.NullOr(Schema.Finite).annotate({ description: "a batch is sealed this long after the previous seal if it holds anything; null: this instance runs no sealer" }),
    revealWindowMs: Schema.NullOr(Schema.Finite).annotate({ description: "how long after its batch's seal a commitment may be revealed" }),
    beacon: Schema.NullOr(Schema.Struct({
      kind: Schema.Literals(["local", "drand"]),
      chainHash: Schema.String,
      info: Schema.String.annotate({ description: "where its drand-shaped chain information is served (this server's /v1/beacon/info)" })
    }).annotate({ identifier: "InstanceBeacon" }))
  }).annotate({ identifier: "InstanceMempool" }),
  cluster: Schema.Struct({
    mode: Schema.Literals(["single", "cluster"]),
    admin: Schema.NullOr(Schema.String),
    members: Schema.Array(Schema.String).annotate({ description: "a cluster's members (their receipts count too); [this instance] for a deployment of one" }),
    leader: Schema.NullOr(Schema.String)
  }).annotate({ identifier: "InstanceCluster" })
}).annotate({ identifier: "Instance" })

/** A drand chain's information, exactly as drand's HTTP API serves `/info` (snake_case and all; the metadata always given). */
export const BeaconInfo = Schema.Struct({
  ...DrandInfoJson.fields,
  metadata: Schema.Struct({ beaconID: Schema.String }).annotate({ identifier: "BeaconMetadata" })
}).annotate({ identifier: "BeaconInfo" })

/** A round's beacon, as drand's `/public/{round}` serves it (without the chained schemes' previous signature). */
export const BeaconRound = Schema.Struct({
  round: DrandBeaconJson.fields.round,
  randomness: DrandBeaconJson.fields.randomness,
  signature: DrandBeaconJson.fields.signature
}).annotate({ identifier: "BeaconRound" })

const RoundParam = Schema.String.check(Schema.isPattern(/^[1-9][0-9]{0,15}$/u))

/** The instance and its beacon. */
export const InstanceGroup = HttpApiGroup.make("instance").add(
  HttpApiEndpoint.get("instance", "/v1/instance", { success: InstanceView })
    .annotate(OpenApi.Identifier, "getInstance")
    .annotate(OpenApi.Summary, "The instance's key, protocol, limits and cluster")
    .annotate(OpenApi.Description, "Everything a client needs before it submits: the key receipts are signed with (check them offline with causeway/verify), the protocol version and flags, message limits, the batch and reveal windows, the beacon time-locked orders are locked to, and the cluster's members."),
  HttpApiEndpoint.get("beaconInfo", "/v1/beacon/info", { success: BeaconInfo, error: [NoBeacon] })
    .annotate(OpenApi.Identifier, "getBeaconInfo")
    .annotate(OpenApi.Summary, "The beacon's chain information (drand /info)")
    .annotate(OpenApi.Description, "The chain information of the beacon time-locked orders are locked to, in drand's /info shape (public key, period, genesis time, chain hash, group hash, scheme, beacon id): tlock-js and drand-client take <server>/v1/beacon as a chain URL. With --beacon drand, the drand network's (as verified against --drand-chain-hash)."),
  HttpApiEndpoint.get("beaconLatest", "/v1/beacon/public/latest", { success: BeaconRound, error: [NoBeacon, BeaconUnavailable] })
    .annotate(OpenApi.Identifier, "getLatestBeaconRound")
    .annotate(OpenApi.Summary, "The beacon's latest round (drand /public/latest)")
    .annotate(OpenApi.Description, "The latest emitted round's signature and randomness, verified against the chain key."),
  HttpApiEndpoint.get("beaconRound", "/v1/beacon/public/:round", {
    params: { round: RoundParam },
    success: BeaconRound,
    error: [NoBeacon, BeaconUnavailable, RoundNotReached]
  })
    .middleware(DecodesInput)
    .annotate(OpenApi.Identifier, "getBeaconRound")
    .annotate(OpenApi.Summary, "One round of the beacon (drand /public/{round})")
    .annotate(OpenApi.Description, "A round's signature and randomness once emitted (425 before: a time-locked order to it cannot be opened yet).")
)
  .middleware(NeedsLog)
  .annotate(OpenApi.Description, "What a client needs before it submits: the instance's key, protocol and limits, and the time-lock beacon in drand's HTTP shapes.")
