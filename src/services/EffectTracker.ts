/**
 * The effect tracker: the instance's decisions about on-chain effects (docs/effects.md).
 *
 * - Watches: `addWatch` / `removeWatch` publish EffectWatchAdded / EffectWatchRemoved, so a
 *   restart or a replay tracks the same.
 * - Scanning: for every EVM chain this member owns and has a log watch on, each block the
 *   log holds as verified (ChainHeadVerified) above the last one scanned is fetched with its
 *   receipts (the observer's `blockReceipts`: the header hashes to the block hash and the
 *   receipts rebuild its receipts root), every log is matched against the chain's watches,
 *   and the block is published as EffectsObserved with each matching receipt's trie proof
 *   (several messages when the evidence exceeds one message; the last closes the block). The
 *   effects projection checks every proof again before anything counts.
 * - After a reorg the projection moves the scan position back to the fork point, so the new
 *   branch is scanned; effects of the dropped blocks are retracted by the fold.
 * - Back-fill: a watch added with a first block below the scan position has a cursor in the
 *   projection (src/domain/effects/EffectBackfill.ts); beside the forward scan, each cursor's
 *   blocks are fetched going down, each by the parent hash its child's header names, and
 *   published as EffectsObserved for that watch only.
 *
 * - IBC v1 packets: for every Cosmos chain with a packet watch, each poll lists the watched
 *   channels' commitments (`listKeys`, unproven discovery), proves each new one with `prove`
 *   (the observer checks the ICS23 proof against the light-client-verified app hash) and
 *   publishes it as IbcPacketEvidence with the packet's fields from its send_packet event;
 *   then a reconciliation sweep re-queries every packet in flight on the chain its next leg
 *   would be proven on (receipt, acknowledgement, the commitment's deletion, the receipt's
 *   absence past the timeout) and publishes what it proves. A proven acknowledgement goes
 *   with its bytes from the destination's write_acknowledgement event when they hash to the
 *   proven ack commitment (the fold reads ok or error from them). The projection checks the
 *   header binding, keys, values and that binding again (src/domain/effects/IbcPacketFold.ts).
 * - IBC v2 packets: the same for every v2 watch (a source client with a destination), on the
 *   binary 24-host/v2 keys: discovery lists `clientId || 0x01` in the `ibc` store, each new
 *   commitment is proven and published as IbcPacketEvidenceV2 with the packet's fields from
 *   its v2 send_packet event (`encoded_packet_hex`) when they hash to it, and the sweep proves
 *   its receipt (or its absence past the timeout), acknowledgement and the commitment's
 *   deletion (src/domain/effects/IbcPacketV2Fold.ts).
 *
 * A block whose fetch fails is retried at the next poll; nothing is skipped. A receipt whose
 * evidence alone exceeds a message is not published (logged): see docs/effects.md.
 */
import { bytesToHex, hexToBytes, utf8ToBytes } from "@noble/hashes/utils.js"
import { Context, Data, Effect, Fiber, HashMap, Layer, Option, Result, Semaphore } from "effect"
import { ownsChain } from "../domain/cluster/Authority.ts"
import type { EffectWatchAdded, IbcClientDestination, IbcDestination, IbcLeg, IbcPacketRef, IbcPacketRefV2 } from "../domain/effects/EffectMessages.ts"
import type { PayloadInput } from "../domain/MessageTypes.ts"
import { backfillsOf, type EffectsState, evmWatchesOf, MAX_WATCHES, trackOfChain, watchesOwnedBy } from "../domain/effects/EffectFold.ts"
import { parentHashOfHeader } from "../domain/chain/EvmHeader.ts"
import {
  cosmosHeaderOf,
  cosmosHeadOf,
  IN_FLIGHT,
  listPackets,
  ibcLegChain,
  ibcLegKey,
  ibcPacketEffectId,
  ibcWatchesOf,
  packetOf,
  packetsInFlight,
  pastTimeout,
  sentPacketCommitment
} from "../domain/effects/IbcPacketFold.ts"
import { ibcPacketV2EffectId, ibcV2LegChain, ibcV2StoreKey, ibcV2WatchesOf, sentPacketV2Commitment } from "../domain/effects/IbcPacketV2Fold.ts"
import { acknowledgementCommitmentV1Bytes, acknowledgementCommitmentV2Bytes } from "../domain/ibc/IbcCommitments.ts"
import type { EffectWatch, IbcPacketEffect } from "../domain/effects/EffectShapes.ts"
import { type BlockObservations, type Observed, observationsOf } from "../domain/effects/Observations.ts"
import type { MessageId } from "../domain/Primitives.ts"
import type { Rejection } from "../domain/Rejection.ts"
import { CausalLog, type CausalLogError } from "../ports/CausalLog.ts"
import { ChainObservers, type ChainObserverError, type ChainObserverService, type StateProof } from "../ports/ChainObserver.ts"
import type { WithAuthority } from "../projections/Authorized.ts"
import { makeEffects } from "../projections/Effects/Effects.ts"
import { Projections } from "../projections/ProjectionRunner.ts"
import { Author } from "./Author.ts"
import type { Appended } from "./Ingest.ts"

/** Options of the tracker. */
export interface EffectTrackerOptions {
  /** How often a chain's new verified blocks are looked for, ms (default 250). */
  readonly pollIntervalMs?: number
  /** Most active watches one API token owns (default WATCHES_PER_TOKEN). */
  readonly watchesPerToken?: number
}

/** Default bound on the active effect watches of one API token: a quarter of the deployment's MAX_WATCHES. */
export const WATCHES_PER_TOKEN = 256

/** No observer follows that chain. */
export class UnknownEffectChain extends Data.TaggedError("UnknownEffectChain")<{ readonly chain: string }> {}

/**
 * The deployment has as many active effect watches as the fold keeps (MAX_WATCHES), or the
 * API token asking (`owner`) as many as one token may (`watchesPerToken`).
 */
export class EffectWatchLimit extends Data.TaggedError("EffectWatchLimit")<{ readonly limit: number; readonly owner?: string }> {}

/** The chain's observer cannot track this kind of effect (yet). */
export class UnsupportedEffectKind extends Data.TaggedError("UnsupportedEffectKind")<{
  readonly chain: string
  readonly kind: string
  readonly reason: string
}> {}

/** No active watch has that id. */
export class EffectWatchNotFound extends Data.TaggedError("EffectWatchNotFound")<{ readonly id: string }> {}

/** The tracker service. */
export interface EffectTrackerService {
  /**
   * Start tracking: publishes EffectWatchAdded; the watch once the projection folded it. A
   * watch with an `owner` (an API token's name) counts against that token's bound.
   */
  readonly addWatch: (
    spec: EffectWatchAdded
  ) => Effect.Effect<{ readonly watch: EffectWatch; readonly receipt: Appended }, UnknownEffectChain | UnsupportedEffectKind | EffectWatchLimit | Rejection | CausalLogError>
  /** Stop a watch: publishes EffectWatchRemoved. */
  readonly removeWatch: (id: string) => Effect.Effect<Appended, EffectWatchNotFound | Rejection | CausalLogError>
}

/** The tracker tag. */
export class EffectTracker extends Context.Service<EffectTracker, EffectTrackerService>()("causeway/EffectTracker") {}

// Blocks published per batch (one append), and fetched from the chain's RPC at a time.
const BLOCKS_PER_BATCH = 32
const FETCH_CONCURRENCY = 4

/** Most new commitments proven per watch and poll (the rest at the next poll). */
export const MAX_DISCOVERED_PER_POLL = 64
/**
 * Most commitments listed per watch and poll: the commitments still held, tracked or not (an
 * SDK node answers a subspace whole, in key order, so the bound is ours). A channel with more
 * packets in flight than this is discovered only as they clear.
 */
export const MAX_LISTED_PER_POLL = 10_000
/** Most in-flight packets re-queried per source chain and poll, oldest first. */
export const MAX_RECONCILED_PER_POLL = 64



type IbcSentPacket = NonNullable<PayloadInput<"IbcPacketEvidence">["sent"]>
type IbcSentPacketV2 = NonNullable<PayloadInput<"IbcPacketEvidenceV2">["sent"]>
type EffectsView = WithAuthority<EffectsState>


const decodeJson = (text: string): unknown => {
  try {
    return JSON.parse(text)
  } catch {
    return undefined
  }
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v)

/** A string field of ICS-20 packet data (FungibleTokenPacketData as JSON, hex), if it is one. */
export const ics20Field = (data: string, field: string): string | undefined => {
  const json = decodeJson(new TextDecoder().decode(hexToBytes(data)))
  const value = isRecord(json) ? json[field] : undefined
  return typeof value === "string" ? value : undefined
}

/** The packet-forward middleware's `forward` of an ICS-20 packet's memo (`{"forward":{"receiver","port","channel"}}`), if any. */
export const forwardOf = (data: string): { readonly receiver: string; readonly port: string; readonly channel: string } | undefined => {
  const memo = ics20Field(data, "memo")
  const json = memo === undefined ? undefined : decodeJson(memo)
  const forward = isRecord(json) ? json["forward"] : undefined
  if (!isRecord(forward)) return undefined
  const { receiver, port, channel } = forward
  return typeof receiver === "string" && typeof port === "string" && typeof channel === "string" ? { receiver, port, channel } : undefined
}

/** Build the tracker over the observers, the author and the projections in context. */
export const make = (options: EffectTrackerOptions = {}) =>
  Effect.gen(function*() {
    const observers = yield* ChainObservers
    const author = yield* Author
    const runner = yield* Projections
    const log = yield* CausalLog
    const projection = makeEffects(author.authority)
    const pollInterval = options.pollIntervalMs ?? 250
    const perToken = options.watchesPerToken ?? WATCHES_PER_TOKEN
    const lock = Semaphore.makeUnsafe(1)

    /** The effects state once it has folded the log up to now. */
    const current = Effect.gen(function*() {
      yield* runner.awaitOffset(yield* log.endOffset)
      return (yield* Effect.orDie(runner.state(projection))).state
    })

    const publishAndFold = <T extends "EffectWatchAdded" | "EffectWatchRemoved" | "EffectsObserved" | "IbcPacketEvidence" | "IbcPacketEvidenceV2">(
      type: T,
      payload: PayloadInput<T>,
      deps: ReadonlyArray<MessageId>
    ) =>
      Effect.gen(function*() {
        const receipt = yield* author.publish(type, payload, { deps })
        yield* runner.awaitOffset(receipt.offset + 1)
        return receipt
      })

    /** A block's observations: from the observer where it builds them (off the event loop), else built here from its checked receipts. */
    type Observe = (hash: string, watches: ReadonlyArray<EffectWatch>) => Effect.Effect<BlockObservations, ChainObserverError>
    const observeWith = (observer: ChainObserverService): Observe | undefined => {
      if (observer.blockObservations !== undefined) return observer.blockObservations
      const blockReceipts = observer.blockReceipts
      if (blockReceipts === undefined) return undefined
      return (hash, watches) => Effect.map(blockReceipts(hash), (block) => observationsOf(observer.chain, block, watches))
    }

    /**
     * Scan the blocks the log holds as verified above the last scanned one, in order: up to
     * BLOCKS_PER_BATCH blocks fetched (FETCH_CONCURRENCY at a time) and published as one
     * batch, then folded and checked before the next batch. The next batch is fetched while
     * one is published and folded (a reorg meanwhile only wastes that fetch: the fold refuses it).
     */
    const scanChain = (chain: string, observe: Observe) =>
      Effect.scoped(Effect.gen(function*() {
        const state = yield* current
        if (!ownsChain(state.authority, chain, author.publicKey)) return
        const watches = evmWatchesOf(state, chain)
        const track = trackOfChain(state, chain)
        if (watches.length === 0 || track === undefined || track.head === null) return
        const head = track.head
        // A chain first watched is scanned from its watches' first block on, or from the first
        // header held (the fold back-fills below it).
        const from = Math.min(...watches.map((w) => (w.kind === "evm-log" ? w.fromHeight : undefined) ?? head))
        let height = track.scanned === null ? Math.max(from, Math.min(...HashMap.keys(track.headers))) : track.scanned.height + 1
        const nextBatch = () => {
          const heights: Array<{ readonly height: number; readonly hash: string }> = []
          for (; height <= head && heights.length < BLOCKS_PER_BATCH; height++) {
            const hash = Option.getOrUndefined(HashMap.get(track.headers, height))
            if (hash !== undefined) heights.push({ height, hash })
          }
          return heights
        }
        const fetch = (heights: ReadonlyArray<{ readonly height: number; readonly hash: string }>) =>
          Effect.forkScoped(Effect.forEach(heights, (h) => observe(h.hash, watches), { concurrency: FETCH_CONCURRENCY }))
        let heights = nextBatch()
        let pending = yield* fetch(heights)
        while (heights.length > 0) {
          const blocks = yield* Fiber.join(pending)
          const following = nextBatch()
          if (following.length > 0) pending = yield* fetch(following)
          const messages: Array<Observed> = []
          for (const block of blocks) {
            if (block.oversized.length > 0) {
              yield* Effect.logWarning("effect tracker: receipts whose evidence exceeds one message were not published").pipe(
                Effect.annotateLogs({ chain, height: block.height, transactionIndexes: block.oversized.join(",") })
              )
            }
            messages.push(...block.messages)
          }
          const receipts = yield* author.publishMany(messages.map((payload) => ({ type: "EffectsObserved" as const, payload })))
          yield* runner.awaitOffset((receipts.at(-1)?.offset ?? 0) + 1)
          // The fold may not have taken them (a block reorged out meanwhile): start again from its state.
          const last = heights.at(-1) as { readonly hash: string }
          const after = trackOfChain((yield* Effect.orDie(runner.state(projection))).state, chain)
          if (after?.scanned?.hash !== last.hash) return
          heights = following
        }
      }))

    const follow = (chain: string, observe: Observe) =>
      Effect.forever(
        scanChain(chain, observe).pipe(
          Effect.catchCause((cause) =>
            Effect.logWarning("effect tracker: scanning a chain failed; retrying").pipe(
              Effect.annotateLogs({ chain }),
              Effect.andThen(Effect.logDebug(cause))
            )
          ),
          Effect.andThen(Effect.sleep(pollInterval))
        )
      )

    /**
     * One round of back-fill on a chain: for each cursor in turn, up to BLOCKS_PER_BATCH blocks
     * going down from it, each fetched by the hash its child's header names (so one at a time),
     * published as one batch for that watch and folded before the next cursor. Whether a cursor
     * moved: while one does, the next round follows at once.
     */
    const backfillChain = (chain: string, observe: Observe) =>
      Effect.gen(function*() {
        const state = yield* current
        if (!ownsChain(state.authority, chain, author.publicKey)) return false
        let moved = false
        for (const cursor of backfillsOf(state, chain)) {
          const watch = Option.getOrUndefined(HashMap.get(state.watches, cursor.watch))
          if (watch === undefined) continue
          const messages: Array<Observed> = []
          let next = cursor.next
          let hash = cursor.hash
          while (next >= cursor.until && next > cursor.next - BLOCKS_PER_BATCH) {
            const block = yield* observe(hash, [watch])
            const header = block.messages[0]?.headerRlp
            const parent = header === undefined ? undefined : parentHashOfHeader(hexToBytes(header))
            // The observer checked that the header hashes to `hash`; a height other than the cursor's would be refused.
            if (block.height !== next || parent === undefined) break
            if (block.oversized.length > 0) {
              yield* Effect.logWarning("effect tracker: receipts whose evidence exceeds one message were not published").pipe(
                Effect.annotateLogs({ chain, height: block.height, transactionIndexes: block.oversized.join(",") })
              )
            }
            messages.push(...block.messages.map((m) => ({ ...m, backfill: cursor.watch as MessageId })))
            next--
            hash = parent
          }
          if (messages.length === 0) continue
          const receipts = yield* author.publishMany(messages.map((payload) => ({ type: "EffectsObserved" as const, payload })))
          yield* runner.awaitOffset((receipts.at(-1)?.offset ?? 0) + 1)
          const after = Option.getOrUndefined(HashMap.get((yield* Effect.orDie(runner.state(projection))).state.backfills, cursor.watch))
          if (after === undefined || after.next < cursor.next) moved = true
        }
        return moved
      })

    const followBackfill = (chain: string, observe: Observe) =>
      Effect.forever(
        backfillChain(chain, observe).pipe(
          Effect.catchCause((cause) =>
            Effect.logWarning("effect tracker: back-filling a chain failed; retrying").pipe(
              Effect.annotateLogs({ chain }),
              Effect.andThen(Effect.logDebug(cause)),
              Effect.as(false)
            )
          ),
          Effect.flatMap((moved) => (moved ? Effect.yieldNow : Effect.sleep(pollInterval)))
        )
      )

    // The forward scan and the back-fill of a chain run side by side: a long back-fill never holds new blocks back.
    for (const observer of observers.values()) {
      const observe = observeWith(observer)
      if (observe !== undefined) {
        yield* Effect.forkScoped(follow(observer.chain, observe))
        yield* Effect.forkScoped(followBackfill(observer.chain, observe))
      }
    }

    // --- IBC v1 packets (src/domain/effects/IbcPacketFold.ts) ---

    const publishEvidence = (payload: PayloadInput<"IbcPacketEvidence">, deps: ReadonlyArray<string>) =>
      publishAndFold("IbcPacketEvidence", payload, deps.map((d) => d as MessageId))

    /** A leg's proof as the observer of `chain` checked it, at the state after `height`. */
    const proveLeg = (chain: string, height: number, key: string) =>
      Effect.gen(function*() {
        const observer = observers.get(chain)
        if (observer === undefined) return undefined
        return yield* observer.prove(height, `ibc/${key}`)
      })

    /** What an IBC evidence message carries of a state proof (v1 and v2 alike). */
    const provenFields = (proof: StateProof) => ({
      chain: proof.chain,
      height: proof.height,
      headerHash: proof.headerHash,
      key: proof.key,
      value: proof.value,
      proof: proof.proof
    })

    const evidenceOf = (
      packet: IbcPacketRef,
      destination: IbcDestination | undefined,
      leg: IbcLeg,
      proof: StateProof,
      sent?: IbcSentPacket,
      acknowledgement?: string
    ): PayloadInput<"IbcPacketEvidence"> => ({
      packet,
      ...(destination === undefined ? {} : { destination }),
      leg,
      ...provenFields(proof),
      ...(sent === undefined ? {} : { sent }),
      ...(acknowledgement === undefined ? {} : { acknowledgement })
    })

    const evidenceV2Of = (
      packet: IbcPacketRefV2,
      destination: IbcClientDestination | undefined,
      leg: IbcLeg,
      proof: StateProof,
      appAcknowledgements?: ReadonlyArray<string>
    ): PayloadInput<"IbcPacketEvidenceV2"> => ({
      packet,
      ...(destination === undefined ? {} : { destination }),
      leg,
      ...provenFields(proof),
      ...(appAcknowledgements === undefined ? {} : { appAcknowledgements })
    })

    /** The latest state height of a chain whose committing header the log holds (head - 1). */
    const provableHeight = (state: EffectsView, chain: string): number | undefined => {
      const head = cosmosHeadOf(state, chain)
      return head === undefined || head < 2 ? undefined : head - 1
    }

    /**
     * Discovery on a source chain: the commitments its watched channels hold (listKeys, unproven),
     * each not yet tracked proven with `prove` and published with the packet's fields from its
     * send_packet event when they hash to the proven commitment.
     */
    const discover = (observer: ChainObserverService, listKeys: NonNullable<ChainObserverService["listKeys"]>, state: EffectsView) =>
      Effect.gen(function*() {
        const chain = observer.chain
        const height = provableHeight(state, chain)
        if (height === undefined) return
        for (const watch of ibcWatchesOf(state, chain)) {
          const { port, channel, destination } = watch.filter
          const prefix = `commitments/ports/${port}/channels/${channel}/sequences/`
          const listed = yield* listKeys(height, "ibc", bytesToHex(utf8ToBytes(prefix)), MAX_LISTED_PER_POLL)
          let proved = 0
          for (const { key } of listed) {
            const sequence = new TextDecoder().decode(hexToBytes(key)).slice(prefix.length)
            if (!/^(?:0|[1-9][0-9]{0,19})$/.test(sequence)) continue
            // Known, unless a reorg retracted it (then its commitment on the new branch is proven again).
            const known = packetOf(state, ibcPacketEffectId(chain, port, channel, sequence))
            if (known !== undefined && known.status !== "retracted") continue
            if (proved >= MAX_DISCOVERED_PER_POLL) break
            proved++
            const proof = yield* observer.prove(height, `ibc/${key}`)
            if (proof.value === "") continue
            const reported = observer.sentPacket === undefined ? undefined : yield* observer.sentPacket(port, channel, sequence)
            const sent: IbcSentPacket | undefined = reported === undefined
              ? undefined
              : { data: reported.data, timeoutHeight: reported.timeoutHeight, timeoutTimestamp: reported.timeoutTimestamp }
            const bound = sent !== undefined && sentPacketCommitment(sent) === proof.value ? sent : undefined
            if (sent !== undefined && bound === undefined) {
              yield* Effect.logWarning("effect tracker: a send_packet event does not hash to the proven commitment; tracked without its timeout").pipe(
                Effect.annotateLogs({ chain, port, channel, sequence })
              )
            }
            const forwards = bound === undefined ? undefined : yield* forwardedBy(state, chain, port, channel, bound.data)
            const payload = evidenceOf({ chain, port, channel, sequence }, destination, "commitment", proof, bound)
            yield* publishEvidence(forwards === undefined ? payload : { ...payload, forwards: forwards.ref }, forwards === undefined || forwards.last === "" ? [] : [forwards.last])
          }
        }
        yield* discoverV2(observer, listKeys, state, height)
      })

    /**
     * Discovery of IBC v2 packets: the commitments under each watched source client's prefix
     * `clientId || 0x01` (listKeys, unproven), each not yet tracked proven and published.
     */
    const discoverV2 = (observer: ChainObserverService, listKeys: NonNullable<ChainObserverService["listKeys"]>, state: EffectsView, height: number) =>
      Effect.gen(function*() {
        const chain = observer.chain
        for (const watch of ibcV2WatchesOf(state, chain)) {
          const { clientId, destination } = watch.filter
          // The commitment key of sequence 0 without its sequence: the client's commitment prefix.
          const prefix = bytesToHex(ibcV2StoreKey("commitment", { chain, clientId, sequence: "0" }, undefined)).slice(0, -16)
          const listed = yield* listKeys(height, "ibc", prefix, MAX_LISTED_PER_POLL)
          let proved = 0
          for (const { key } of listed) {
            // Exactly the prefix and 8 bytes of sequence (another client's id may extend this one's).
            if (!key.startsWith(prefix) || key.length !== prefix.length + 16) continue
            const sequence = BigInt(`0x${key.slice(prefix.length)}`).toString()
            const known = packetOf(state, ibcPacketV2EffectId(chain, clientId, sequence))
            if (known !== undefined && known.status !== "retracted") continue
            if (proved >= MAX_DISCOVERED_PER_POLL) break
            proved++
            const proof = yield* observer.prove(height, `ibc/${key}`)
            if (proof.value === "") continue
            const reported = observer.sentPacketV2 === undefined ? undefined : yield* observer.sentPacketV2(clientId, sequence)
            // The fields count only if they went to the watched destination client and hash to the proven commitment.
            const sent: IbcSentPacketV2 | undefined = reported === undefined || destination === undefined || reported.destinationClient !== destination.clientId
              ? undefined
              : { timeoutTimestamp: reported.timeoutTimestamp, payloads: reported.payloads }
            const bound = sent !== undefined && destination !== undefined && sentPacketV2Commitment(sent, destination.clientId) === proof.value ? sent : undefined
            if (reported !== undefined && bound === undefined) {
              yield* Effect.logWarning("effect tracker: a v2 send_packet event does not hash to the proven commitment; tracked without its timeout").pipe(
                Effect.annotateLogs({ chain, clientId, sequence })
              )
            }
            const payload = evidenceV2Of({ chain, clientId, sequence }, destination, "commitment", proof)
            yield* publishAndFold("IbcPacketEvidenceV2", bound === undefined ? payload : { ...payload, sent: bound }, [])
          }
        }
      })

    /**
     * The packet a packet sent on `chain`'s `port`/`channel` forwards (packet-forward
     * middleware), if any: a tracked packet in flight to `chain`, not yet linked, whose ICS-20
     * memo asks `chain` to forward on that port and channel to this packet's receiver. The
     * memo comes from the forwarded packet's send_packet event (bound to its proven
     * commitment, but the match is a claim: the fold lets it only hold a status back).
     */
    const forwardedBy = (state: EffectsView, chain: string, port: string, channel: string, data: string) =>
      Effect.gen(function*() {
        const receiver = ics20Field(data, "receiver")
        if (receiver === undefined) return undefined
        for (const cause of listPackets(state, { chain, limit: MAX_RECONCILED_PER_POLL })) {
          if (!("port" in cause.source) || cause.destination?.chain !== chain || cause.causalDependencies.length > 0 || !IN_FLIGHT.has(cause.status)) continue
          const source = observers.get(cause.source.chain)
          if (source?.sentPacket === undefined) continue
          const sent = yield* source.sentPacket(cause.source.port, cause.source.channel, cause.sequence)
          const forward = sent === undefined ? undefined : forwardOf(sent.data)
          if (forward?.port === port && forward.channel === channel && forward.receiver === receiver) {
            return {
              ref: { chain: cause.source.chain, port: cause.source.port, channel: cause.source.channel, sequence: cause.sequence },
              last: cause.journey.at(-1)?.message ?? ""
            }
          }
        }
        return undefined
      })

    /**
     * How one packet's legs are proven and published: the chain a leg is on, its store key
     * (hex, in the `ibc` store) and the message that carries it (v1 IbcPacketEvidence, v2
     * IbcPacketEvidenceV2).
     */
    interface PacketLegs {
      readonly chainOf: (leg: IbcLeg) => string
      readonly storeKey: (leg: IbcLeg) => string
      readonly publish: (leg: IbcLeg, proof: StateProof, deps: ReadonlyArray<string>) => Effect.Effect<unknown, Rejection | CausalLogError>
      /** Publish a proven acknowledgement, with its bytes from the destination's write_acknowledgement event when they hash to it. */
      readonly publishAcknowledgement: (proof: StateProof, deps: ReadonlyArray<string>) => Effect.Effect<unknown, Rejection | CausalLogError | ChainObserverError>
    }

    /** The event's ack bytes if bound to the proven ack commitment; a warning (and none) when they do not hash to it. */
    const boundAck = <A>(packet: string, reported: A | undefined, commitment: (a: A) => string | undefined, value: string) =>
      Effect.gen(function*() {
        if (reported === undefined) return undefined
        if (commitment(reported) === value) return reported
        yield* Effect.logWarning("effect tracker: a write_acknowledgement event does not hash to the proven ack commitment; published without its bytes (result unknown)").pipe(
          Effect.annotateLogs({ packet })
        )
        return undefined
      })
    const hexOf = (r: Result.Result<Uint8Array, unknown>): string | undefined => (Result.isSuccess(r) ? bytesToHex(r.success) : undefined)

    const legsOf = (packet: IbcPacketEffect): PacketLegs | undefined => {
      const { source, destination } = packet
      if (destination === null) return undefined
      if ("port" in source && "port" in destination) {
        const ref: IbcPacketRef = { chain: source.chain, port: source.port, channel: source.channel, sequence: packet.sequence }
        return {
          chainOf: (leg) => ibcLegChain(leg, ref, destination),
          // The key as `<hex of the ICS-24 path>` under the ibc store.
          storeKey: (leg) => ibcLegKey(leg, ref, destination).slice(bytesToHex(utf8ToBytes("ibc/")).length),
          publish: (leg, proof, deps) => publishEvidence(evidenceOf(ref, destination, leg, proof), deps),
          publishAcknowledgement: (proof, deps) =>
            Effect.gen(function*() {
              const observer = observers.get(destination.chain)
              const written = observer?.writtenAcknowledgement === undefined
                ? undefined
                : yield* observer.writtenAcknowledgement({
                  sourcePort: ref.port,
                  sourceChannel: ref.channel,
                  destinationPort: destination.port,
                  destinationChannel: destination.channel,
                  sequence: ref.sequence
                })
              const ack = yield* boundAck(packet.id, written?.acknowledgement, (a) => hexOf(acknowledgementCommitmentV1Bytes(a)), proof.value)
              return yield* publishEvidence(evidenceOf(ref, destination, "acknowledgement", proof, undefined, ack), deps)
            })
        }
      }
      if ("clientId" in source && "clientId" in destination) {
        const ref: IbcPacketRefV2 = { chain: source.chain, clientId: source.clientId, sequence: packet.sequence }
        const to: IbcClientDestination = { chain: destination.chain, clientId: destination.clientId }
        return {
          chainOf: (leg) => ibcV2LegChain(leg, ref, to),
          storeKey: (leg) => bytesToHex(ibcV2StoreKey(leg, ref, to)),
          publish: (leg, proof, deps) => publishAndFold("IbcPacketEvidenceV2", evidenceV2Of(ref, to, leg, proof), deps.map((d) => d as MessageId)),
          publishAcknowledgement: (proof, deps) =>
            Effect.gen(function*() {
              const observer = observers.get(to.chain)
              const written = observer?.writtenAcknowledgementV2 === undefined ? undefined : yield* observer.writtenAcknowledgementV2(ref.clientId, to.clientId, ref.sequence)
              const acks = yield* boundAck(packet.id, written?.appAcknowledgements, (a) => hexOf(acknowledgementCommitmentV2Bytes(a)), proof.value)
              return yield* publishAndFold("IbcPacketEvidenceV2", evidenceV2Of(ref, to, "acknowledgement", proof, acks), deps.map((d) => d as MessageId))
            })
        }
      }
      return undefined
    }

    /**
     * Reconciliation: every in-flight packet (v1 or v2) of a source chain is re-queried on the
     * chain where its next leg would be (receipt, then acknowledgement on the destination; the
     * commitment's deletion on the source; a receipt's absence past the timeout), and what is
     * found is proven and published. Legs on a chain this member does not own are left to its owner.
     */
    const reconcile = (sourceChain: string, state: EffectsView) =>
      Effect.gen(function*() {
        for (const packet of packetsInFlight(state, sourceChain).slice(0, MAX_RECONCILED_PER_POLL)) {
          const legs = legsOf(packet)
          if (legs === undefined) continue
          const destinationChain = legs.chainOf("receipt")
          const last = packet.journey.at(-1)?.message
          const deps = last === undefined ? [] : [last]
          const prove = (leg: IbcLeg) =>
            Effect.gen(function*() {
              const chain = legs.chainOf(leg)
              const height = provableHeight(state, chain)
              if (height === undefined || !ownsChain(state.authority, chain, author.publicKey)) return undefined
              return yield* proveLeg(chain, height, legs.storeKey(leg))
            })
          const step = Effect.gen(function*() {
            switch (packet.status) {
              case "sent": {
                const receipt = yield* prove("receipt")
                if (receipt === undefined) break
                if (receipt.value !== "") {
                  yield* legs.publish("receipt", receipt, deps)
                  break
                }
                const header = cosmosHeaderOf(state, destinationChain, receipt.height + 1)
                if (packet.timeout !== null && header !== undefined && pastTimeout(packet.timeout, destinationChain, receipt.height + 1, header.time)) {
                  yield* legs.publish("receipt-absent", receipt, deps)
                }
                break
              }
              case "delivered": {
                const ack = yield* prove("acknowledgement")
                if (ack !== undefined && ack.value !== "") yield* legs.publishAcknowledgement(ack, deps)
                break
              }
              case "executed":
              case "timed-out": {
                // Executed with every leg proven: held back by an open forward (resolvedStatus), nothing to re-query here.
                if (packet.journey.some((l) => l.leg === "commitment-deleted")) break
                const commitment = yield* prove("commitment-deleted")
                if (commitment !== undefined && commitment.value === "") yield* legs.publish("commitment-deleted", commitment, deps)
                break
              }
              default:
                break
            }
          })
          // One packet whose chain does not answer does not hold the others back.
          yield* step.pipe(
            Effect.catchCause((cause) =>
              Effect.logWarning("effect tracker: re-querying an IBC packet failed; retrying at the next poll").pipe(
                Effect.annotateLogs({ packet: packet.id }),
                Effect.andThen(Effect.logDebug(cause))
              )
            )
          )
        }
      })

    const followIbc = (observer: ChainObserverService, listKeys: NonNullable<ChainObserverService["listKeys"]>) =>
      Effect.forever(
        Effect.gen(function*() {
          const state = yield* current
          if (!ownsChain(state.authority, observer.chain, author.publicKey)) return
          yield* discover(observer, listKeys, state)
          yield* reconcile(observer.chain, yield* current)
        }).pipe(
          Effect.catchCause((cause) =>
            Effect.logWarning("effect tracker: an IBC poll failed; retrying").pipe(
              Effect.annotateLogs({ chain: observer.chain }),
              Effect.andThen(Effect.logDebug(cause))
            )
          ),
          Effect.andThen(Effect.sleep(pollInterval))
        )
      )

    for (const observer of observers.values()) {
      if (observer.listKeys !== undefined) yield* Effect.forkScoped(followIbc(observer, observer.listKeys))
    }

    const addWatch = (spec: EffectWatchAdded) =>
      lock.withPermits(1)(Effect.gen(function*() {
        const observer = observers.get(spec.chain)
        if (observer === undefined) return yield* new UnknownEffectChain({ chain: spec.chain })
        // Past the bound the fold would ignore the watch: refuse it rather than publish it.
        const decided = yield* current
        if (HashMap.size(decided.watches) >= MAX_WATCHES) return yield* new EffectWatchLimit({ limit: MAX_WATCHES })
        // One token's share, counted from the fold (removing a watch frees its slot).
        if (spec.owner !== undefined && watchesOwnedBy(decided, spec.owner) >= perToken) {
          return yield* new EffectWatchLimit({ limit: perToken, owner: spec.owner })
        }
        if (spec.kind === "evm-log" && observer.blockReceipts === undefined && observer.blockObservations === undefined) {
          return yield* new UnsupportedEffectKind({ chain: spec.chain, kind: spec.kind, reason: `${spec.chain} is not an EVM chain` })
        }
        if (spec.kind === "ibc-packet") {
          if (observer.listKeys === undefined) {
            return yield* new UnsupportedEffectKind({ chain: spec.chain, kind: spec.kind, reason: `${spec.chain} is not a Cosmos chain` })
          }
          // A v2 commitment commits to the destination's client: a v2 watch names it.
          if (!("port" in spec.filter) && spec.filter.destination === undefined) {
            return yield* new UnsupportedEffectKind({ chain: spec.chain, kind: spec.kind, reason: "an IBC v2 (client) packet watch needs a destination { chain, clientId }" })
          }
          const destination = spec.filter.destination
          if (destination !== undefined && observers.get(destination.chain)?.listKeys === undefined) {
            return yield* new UnknownEffectChain({ chain: destination.chain })
          }
          const receipt = yield* publishAndFold("EffectWatchAdded", spec, [])
          return { watch: { id: receipt.id, ...spec } as EffectWatch, receipt }
        }
        // Without a first block, the watch starts at the latest verified block the log holds.
        const head = trackOfChain(yield* current, spec.chain)?.head ?? undefined
        const started = spec.fromHeight !== undefined || head === undefined || head === null ? spec : { ...spec, fromHeight: head }
        const receipt = yield* publishAndFold("EffectWatchAdded", started, [])
        return { watch: { id: receipt.id, ...started } as EffectWatch, receipt }
      }))

    const removeWatch = (id: string) =>
      lock.withPermits(1)(Effect.gen(function*() {
        const state = yield* current
        if (!HashMap.has(state.watches, id)) return yield* new EffectWatchNotFound({ id })
        return yield* publishAndFold("EffectWatchRemoved", { watch: id }, [id as MessageId])
      }))

    return { addWatch, removeWatch } satisfies EffectTrackerService
  })

/** The tracker as a scoped layer: one scanner per EVM observer, stopped with the scope. */
export const layer = (options: EffectTrackerOptions = {}) => Layer.effect(EffectTracker, make(options))
