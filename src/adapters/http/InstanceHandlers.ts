/**
 * Handlers of the instance group (InstanceApi.ts): the instance's key, protocol and limits
 * from its configuration and key, its cluster from the cluster projection, and its beacon
 * (when it runs a sealer) in drand's HTTP shapes.
 */
import { Clock, Effect, Option } from "effect"
import { HttpApiBuilder } from "effect/http-api"
import { KNOWN_FLAGS, MAX_DEPS, PROTOCOL_VERSION, Scheme } from "../../domain/Envelope.ts"
import { clusterViewOf } from "../../domain/cluster/Authority.ts"
import { drandInfoJsonOf } from "../../domain/timelock/ChainInfo.ts"
import { Beacon, type BeaconService, type FetchRoundError } from "../../ports/Beacon.ts"
import { Deployment, type DeploymentInfo } from "../../ports/Deployment.ts"
import { defaultOptions as defaultIngestOptions } from "../../services/Ingest.ts"
import { InstanceKey } from "../../ports/InstanceKey.ts"
import { ClusterStateView } from "../../projections/Views.ts"
import { Api } from "./Api.ts"
import { InvalidRequest } from "./EdgeApi.ts"
import { BeaconUnavailable, NoBeacon } from "./InstanceApi.ts"

/** The software version GET /v1/instance reports (package.json's). */
export const SOFTWARE_VERSION = "0.1.0"

/** The instance group's handlers, over InstanceKey, the cluster view, the deployment's facts and (optionally) the Beacon. */
export const layer = HttpApiBuilder.group(Api, "instance", (handlers) =>
  Effect.gen(function*() {
    const key = yield* InstanceKey
    const clusterState = yield* ClusterStateView
    const deployment: DeploymentInfo = (yield* Deployment) ?? {
      log: "memory",
      maxMessageBytes: defaultIngestOptions.maxMessageBytes,
      maxBatch: defaultIngestOptions.maxBatch,
      batchWindowMs: null,
      revealWindowMs: null,
      beacon: null
    }
    const beacon = yield* Effect.serviceOption(Beacon)

    const noBeacon = new NoBeacon({ reason: "this instance runs no sealer, so it has no beacon" })
    const withBeacon: Effect.Effect<BeaconService, NoBeacon> = Option.isSome(beacon) ? Effect.succeed(beacon.value) : Effect.fail(noBeacon)
    const fetched = (round: number) =>
      withBeacon.pipe(
        Effect.flatMap((b) => b.fetchRound(round)),
        Effect.mapError((e: FetchRoundError | NoBeacon) =>
          e._tag === "NoBeacon" || e._tag === "RoundNotReached" ? e : new BeaconUnavailable({ reason: `round ${round}: ${e.reason}` })
        ),
        Effect.map((v) => ({ round: v.round, randomness: v.randomness, signature: v.signature }))
      )

    return handlers
      .handle("instance", () =>
        Effect.gen(function*() {
          const { state, offset } = yield* clusterState.current
          const view = clusterViewOf(state.authority, key.publicKey, offset)
          const info = Option.getOrUndefined(beacon)?.chainInfo
          return {
            publicKey: key.publicKey,
            scheme: "ed25519" as const,
            software: { name: "causeway" as const, version: SOFTWARE_VERSION },
            protocol: {
              version: PROTOCOL_VERSION,
              flags: KNOWN_FLAGS,
              schemes: Scheme.literals,
              maxMessageBytes: deployment.maxMessageBytes,
              maxBatch: deployment.maxBatch,
              maxDeps: MAX_DEPS
            },
            log: deployment.log,
            mempool: {
              batchWindowMs: deployment.batchWindowMs,
              revealWindowMs: deployment.revealWindowMs,
              beacon: deployment.beacon === null || info === undefined
                ? null
                : { kind: deployment.beacon, chainHash: info.chainHash, info: "/v1/beacon/info" }
            },
            cluster: {
              mode: view.mode,
              admin: view.admin,
              members: view.mode === "single" ? [key.publicKey] : view.members,
              leader: view.mode === "single" ? key.publicKey : view.leader
            }
          }
        }))
      .handle("beaconInfo", () => withBeacon.pipe(Effect.map((b) => drandInfoJsonOf(b.chainInfo))))
      .handle("beaconLatest", () =>
        Effect.gen(function*() {
          const b = yield* withBeacon
          const round = b.roundAt(yield* Clock.currentTimeMillis)
          if (round < 1) return yield* new BeaconUnavailable({ reason: "the beacon's genesis is still ahead: no round is out yet" })
          // drand may publish the latest round a moment late: that is unavailability here.
          return yield* fetched(round).pipe(Effect.catchTag("RoundNotReached", (e) => Effect.fail(new BeaconUnavailable({ reason: e.reason }))))
        }))
      .handle("beaconRound", ({ params }) => {
        const round = Number(params.round)
        return Number.isSafeInteger(round) ? fetched(round) : Effect.fail(new InvalidRequest({ reason: `round ${params.round} is too large` }))
      })
  }))
