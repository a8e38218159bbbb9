/**
 * IBC v1 packets in the effect tracker's fold (docs/effects.md). A packet is tracked from its
 * commitment on the source chain to its settlement, each status moved by one proven leg
 * (IbcPacketEvidence, published by the owner of the chain the leg is proven on):
 *
 * - `sent`: the commitment proven present on the source (with the packet's fields, when given,
 *   hashing to it: the timeout becomes known);
 * - `delivered`: the receipt (0x01) proven present on the destination;
 * - `executed`: the acknowledgement commitment proven present on the destination; with the
 *   ack bytes (the write_acknowledgement event's) hashing to it, `execution` says ok or error
 *   (src/domain/ibc/IbcAcknowledgement.ts), otherwise unknown;
 * - `settled`: the commitment proven deleted on the source after the acknowledgement;
 *   `refunded` instead when the acknowledgement was proven an error (ICS-20 refunds the sender);
 * - `timed-out`: the receipt proven absent on the destination at a header past the packet's
 *   timeout height or timestamp; `refunded`: then the commitment proven deleted.
 *
 * Multi-hop routes (packet-forward middleware): a commitment proven with `forwards` links the
 * packet it forwards to it (causalDependencies / causalDependents); the forwarded packet is
 * settled only once its forward is settled or refunded (`resolvedStatus`), and moves to
 * settled when that happens. The link is the tracker's claim (unproven), which can only
 * hold a status back, never move one forward.
 *
 * The status is a function of the proven legs (`statusOf`), so a leg dropped by a reorg
 * (ChainReorged of either chain: every leg whose header lies above the fork point) moves the
 * packet back, to `retracted` when its commitment leg goes; dependents are flagged.
 *
 * What the fold checks, itself: the proof's header (height + 1) is the verified header it
 * holds for that chain with that hash; the ICS23 proof chain (IAVL store proof, multistore
 * proof) proves the value, or the absence, under that header's app hash
 * (src/domain/verify/CosmosStoreProof.ts: no library, the same verdicts as the observer's
 * check, which the tracker ran before publishing); the key is the leg's ICS-24 path in the
 * `ibc` store; the value is the leg's (32 bytes, 0x01, empty); and a deletion or an absence
 * comes after the presence it follows. A forged proof moves nothing, whoever publishes it.
 * Anyone can check a leg again offline from its message (causeway's StoreProof.verifyStoreProof
 * with the header's app hash, GET /v1/chains/{chain}/headers/{height}).
 *
 * Ids: `ibc-packet:{chain}:{port}:{channel}:{sequence}` (the source chain as causeway names it).
 */
import { sha256 } from "@noble/hashes/sha2.js"
import { bytesToHex, hexToBytes, utf8ToBytes } from "@noble/hashes/utils.js"
import { HashMap, Option } from "effect"
import type { ChainHeadVerified, ChainReorged } from "../chain/ChainMessages.ts"
import { checkCosmosStoreProof } from "../verify/CosmosStoreProof.ts"
import { executionOfV1 } from "../ibc/IbcAcknowledgement.ts"
import { packetAcknowledgementPathV1, packetCommitmentPathV1, packetReceiptPathV1 } from "../ibc/IbcCommitments.ts"
import { type CosmosHeader, type EffectsState, MAX_HISTORY, RETAINED_HEADERS, type RecordMeta } from "./EffectFold.ts"
import type { IbcDestination, IbcLeg, IbcPacketEvidence, IbcPacketFilter, IbcPacketRef, IbcSentPacket } from "./EffectMessages.ts"
import type { EffectStatus, EffectWatch, EvidenceRef, IbcExecution, IbcJourneyLeg, IbcPacketEffect, IbcPacketView } from "./EffectShapes.ts"

/** How long a packet may stay in flight after its last proven leg before queries call it stuck (default), ms. */
export const STUCK_AFTER_MS = 10 * 60_000

/** Most legs kept per packet. */
export const MAX_JOURNEY = 32

/** The id of an IBC v1 packet effect. */
export const ibcPacketEffectId = (chain: string, port: string, channel: string, sequence: string): string =>
  `ibc-packet:${chain}:${port}:${channel}:${sequence}`

type V1Filter = Extract<IbcPacketFilter, { readonly port: string }>

/** The active IBC v1 packet watches of a source chain. */
export const ibcWatchesOf = (state: EffectsState, chain: string): ReadonlyArray<EffectWatch & { readonly kind: "ibc-packet"; readonly filter: V1Filter }> =>
  [...HashMap.values(state.watches)]
    .filter((w): w is EffectWatch & { readonly kind: "ibc-packet"; readonly filter: V1Filter } => w.chain === chain && w.kind === "ibc-packet" && "port" in w.filter)
    .sort((a, b) => (a.id < b.id ? -1 : 1))

/** The StateProof key (hex of UTF-8 `ibc/` and the ICS-24 path) a leg is proven at; the source's legs do not read `destination`. */
export const ibcLegKey = (leg: IbcLeg, packet: IbcPacketRef, destination: IbcDestination | undefined): string => {
  const sequence = BigInt(packet.sequence)
  const path = leg === "commitment" || leg === "commitment-deleted"
    ? packetCommitmentPathV1(packet.port, packet.channel, sequence)
    : leg === "acknowledgement"
    ? packetAcknowledgementPathV1(destination?.port ?? "", destination?.channel ?? "", sequence)
    : packetReceiptPathV1(destination?.port ?? "", destination?.channel ?? "", sequence)
  return bytesToHex(utf8ToBytes(`ibc/${path}`))
}

/** The chain a leg is proven on. */
export const ibcLegChain = (leg: IbcLeg, packet: IbcPacketRef, destination: IbcDestination): string =>
  leg === "commitment" || leg === "commitment-deleted" ? packet.chain : destination.chain


/** A packet effect as its commitment leg first makes it: sent, with no move yet (the leg adds it). */
export const newPacketEffect = (fields: Pick<IbcPacketEffect, "id" | "source" | "sequence" | "destination" | "evidence" | "commitment" | "timeout" | "watches">): IbcPacketEffect => ({
  ...fields,
  kind: "ibc-packet",
  status: "sent",
  finality: "finalized",
  acknowledgement: null,
  execution: null,
  journey: [],
  history: [],
  aliases: [],
  causalDependencies: [],
  causalDependents: [],
  dependencyRetracted: false
})

const be8 = (n: bigint): Uint8Array => {
  const out = new Uint8Array(8)
  new DataView(out.buffer).setBigUint64(0, n)
  return out
}

/** The v1 commitment of a packet's fields (ibc-go's CommitPacket), hex. */
export const sentPacketCommitment = (sent: { readonly [K in keyof IbcSentPacket]: K extends "data" ? string : IbcSentPacket[K] }): string =>
  bytesToHex(sha256(new Uint8Array([
    ...be8(BigInt(sent.timeoutTimestamp)),
    ...be8(BigInt(sent.timeoutHeight.revisionNumber)),
    ...be8(BigInt(sent.timeoutHeight.revisionHeight)),
    ...sha256(hexToBytes(sent.data))
  ])))

/** The revision number of a chain id, as ibc-go's ParseChainID reads it (`name-N`; 0 otherwise). */
export const revisionOf = (chainId: string): bigint => {
  const m = /^.*[^\n-]-([1-9][0-9]*)$/u.exec(chainId)
  return m === null ? 0n : BigInt(m[1] as string)
}

/**
 * Is a header of `chain` (its height and time) past a packet's timeout, as ibc-go's timeout
 * check reads the counterparty's proof height and consensus time?
 */
export const pastTimeout = (timeout: NonNullable<IbcPacketEffect["timeout"]>, chain: string, height: number, timeMs: number): boolean => {
  const revision = revisionOf(chain)
  const rn = BigInt(timeout.revisionNumber)
  const rh = BigInt(timeout.revisionHeight)
  const byHeight = (rn !== 0n || rh !== 0n) && (revision > rn || (revision === rn && BigInt(height) >= rh))
  const ts = BigInt(timeout.timestamp)
  const byTime = ts !== 0n && BigInt(timeMs) * 1_000_000n >= ts
  return byHeight || byTime
}

/**
 * The status the proven legs give (undefined: no commitment, the packet is not known to exist).
 * An acknowledgement proven an error (`execution`), then the commitment's deletion: refunded.
 */
export const statusOf = (journey: ReadonlyArray<IbcJourneyLeg>, execution: IbcExecution | null = null): EffectStatus | undefined => {
  const has = new Set(journey.map((l) => l.leg))
  if (!has.has("commitment")) return undefined
  if (has.has("acknowledgement")) return has.has("commitment-deleted") ? (execution?.result === "error" ? "refunded" : "settled") : "executed"
  if (has.has("receipt-absent")) return has.has("commitment-deleted") ? "refunded" : "timed-out"
  if (has.has("receipt")) return "delivered"
  return "sent"
}

/** The evidence kind of each leg. */
export const EVIDENCE_KIND = {
  commitment: "ibc-commitment",
  receipt: "ibc-receipt",
  acknowledgement: "ibc-acknowledgement",
  "commitment-deleted": "ibc-commitment-deleted",
  "receipt-absent": "ibc-receipt-absent"
} as const satisfies Record<IbcLeg, EvidenceRef["kind"]>

/** Count a message the fold does not take. */
export const ignore = (state: EffectsState): EffectsState => ({ ...state, ignored: state.ignored + 1 })

const headersOf = (state: EffectsState, chain: string): HashMap.HashMap<number, CosmosHeader> =>
  Option.getOrElse(HashMap.get(state.cosmosHeaders, chain), () => HashMap.empty<number, CosmosHeader>())

/** A verified CometBFT header: kept (hash, app hash, time) for binding IBC proofs. Other chains' heads are not kept here. */
export const onIbcHead = (state: EffectsState, p: ChainHeadVerified): EffectsState => {
  if (p.kind !== "cosmos") return state
  let headers = HashMap.set(headersOf(state, p.chain), p.height, { hash: p.hash, appHash: p.stateRoot, time: p.time })
  const floor = p.height - RETAINED_HEADERS
  if (floor > 0) for (const h of [...HashMap.keys(headers)]) if (h <= floor) headers = HashMap.remove(headers, h)
  return { ...state, cosmosHeaders: HashMap.set(state.cosmosHeaders, p.chain, headers) }
}

/** A fold's view of one leg's header: the header at height + 1 held with that hash. */
export const bindingHeader = (state: EffectsState, chain: string, height: number, headerHash: string): CosmosHeader | undefined => {
  const held = Option.getOrUndefined(HashMap.get(headersOf(state, chain), height + 1))
  return held !== undefined && held.hash === headerHash ? held : undefined
}

/**
 * The journey leg and evidence an IBC evidence message (v1 or v2) proves, once its header is a
 * verified one held for its chain and its proof holds under that header's app hash; undefined
 * otherwise.
 */
export const provenLeg = (
  state: EffectsState,
  p: { readonly leg: IbcLeg; readonly chain: string; readonly height: number; readonly headerHash: string; readonly key: string; readonly value: string; readonly proof: string },
  meta: RecordMeta
): { readonly leg: IbcJourneyLeg; readonly evidence: EvidenceRef } | undefined => {
  const header = bindingHeader(state, p.chain, p.height, p.headerHash)
  if (header === undefined || checkCosmosStoreProof(header.appHash, p.key, p.value, p.proof) !== undefined) return undefined
  return {
    leg: { leg: p.leg, chain: p.chain, height: p.height, headerHash: p.headerHash, time: header.time, message: meta.id, lamport: meta.lamport },
    evidence: { kind: EVIDENCE_KIND[p.leg], message: meta.id, header: { height: p.height + 1, hash: p.headerHash } }
  }
}

/** The value ibc-go stores as a packet receipt: v1 `01`, v2 `02` (04-channel/v2 PacketReceipt). */
export const RECEIPT_V1 = "01"
export const RECEIPT_V2 = "02"

/** Whether a proven value fits its leg: a 32-byte commitment, the receipt marker, or absence. */
export const legValueOk = (leg: IbcLeg, value: string, receiptMarker: string): boolean => {
  switch (leg) {
    case "commitment":
    case "acknowledgement":
      return value.length === 64
    case "receipt":
      return value === receiptMarker
    case "commitment-deleted":
    case "receipt-absent":
      return value === ""
  }
}

/**
 * One proven leg of a packet. Ignored (counted) when its header is not a verified one held for
 * its chain, its key or value is not the leg's, the packet is not tracked (a commitment no
 * active watch of the source matches), or the leg is a repeat or does not follow from what
 * is proven (a deletion before the presence, an absence where the receipt was proven, an
 * absence not past the timeout or with no timeout known).
 */
export const onIbcEvidence = (state: EffectsState, p: IbcPacketEvidence, meta: RecordMeta): EffectsState => {
  const id = ibcPacketEffectId(p.packet.chain, p.packet.port, p.packet.channel, p.packet.sequence)
  const existing = Option.getOrUndefined(HashMap.get(state.packets, id))
  if (p.proof.length === 0 || !legValueOk(p.leg, p.value, RECEIPT_V1)) return ignore(state)
  const proven = provenLeg(state, p, meta)
  if (proven === undefined) return ignore(state)
  const { leg, evidence } = proven

  if (p.leg === "commitment") {
    if (existing !== undefined && statusOf(existing.journey) !== undefined) return ignore(state)
    const watches = ibcWatchesOf(state, p.packet.chain).filter((w) => w.filter.port === p.packet.port && w.filter.channel === p.packet.channel)
    if (watches.length === 0 || p.chain !== p.packet.chain) return ignore(state)
    const destination = p.destination ?? watches.find((w) => w.filter.destination !== undefined)?.filter.destination
    if (p.key !== ibcLegKey("commitment", p.packet, destination)) return ignore(state)
    if (p.sent !== undefined && sentPacketCommitment(p.sent) !== p.value) return ignore(state)
    const timeout = p.sent === undefined
      ? existing?.timeout ?? null
      : { revisionNumber: p.sent.timeoutHeight.revisionNumber, revisionHeight: p.sent.timeoutHeight.revisionHeight, timestamp: p.sent.timeoutTimestamp }
    const base: IbcPacketEffect = existing ?? newPacketEffect({
      id,
      source: { chain: p.packet.chain, port: p.packet.port, channel: p.packet.channel },
      sequence: p.packet.sequence,
      destination: destination === undefined ? null : { chain: destination.chain, port: destination.port, channel: destination.channel },
      evidence,
      commitment: p.value,
      timeout,
      watches: watches.map((w) => w.id)
    })
    const effect = withLeg({ ...base, commitment: p.value, timeout, watches: watches.map((w) => w.id) }, leg, evidence, state.packets)
    const linked = p.forwards === undefined ? state : link(state, effect, p.forwards)
    return remember(linked, linked === state ? effect : (packetOf(linked, id) ?? effect), existing === undefined)
  }

  // A v2 packet (client ends) has its own id, so an existing one here is always v1; the check narrows its ends.
  if (existing === undefined || existing.destination === null || !("port" in existing.destination)) return ignore(state)
  const destination = existing.destination
  if (p.destination !== undefined && (p.destination.chain !== destination.chain || p.destination.port !== destination.port || p.destination.channel !== destination.channel)) {
    return ignore(state)
  }
  if (p.chain !== ibcLegChain(p.leg, p.packet, destination) || p.key !== ibcLegKey(p.leg, p.packet, destination)) return ignore(state)
  return withLaterLeg(state, existing, p, leg, evidence, p.leg === "acknowledgement" ? executionOfV1(p.acknowledgement, p.value) : null)
}

/**
 * A tracked packet's leg after its commitment (v1 and v2 alike), if it follows from the legs
 * proven so far: not a repeat; a receipt not after its proven absence; a deletion above the
 * commitment's height; an absence only without a receipt or ack, past the packet's timeout.
 * Otherwise ignored (counted). An acknowledgement leg brings its `execution` (what its bound
 * ack bytes say, or unknown).
 */
export const withLaterLeg = (
  state: EffectsState,
  existing: IbcPacketEffect,
  p: { readonly leg: IbcLeg; readonly chain: string; readonly height: number; readonly value: string },
  leg: IbcJourneyLeg,
  evidence: EvidenceRef,
  execution: IbcExecution | null
): EffectsState => {
  const proven = (l: IbcLeg) => existing.journey.find((j) => j.leg === l)
  if (proven(p.leg) !== undefined) return ignore(state)
  const commitment = proven("commitment")
  if (commitment === undefined) return ignore(state)
  switch (p.leg) {
    case "receipt":
      if (proven("receipt-absent") !== undefined) return ignore(state)
      break
    case "acknowledgement":
      break
    case "commitment-deleted":
      if (p.height <= commitment.height) return ignore(state)
      break
    case "receipt-absent": {
      if (proven("receipt") !== undefined || proven("acknowledgement") !== undefined || existing.timeout === null) return ignore(state)
      if (!pastTimeout(existing.timeout, p.chain, p.height + 1, leg.time)) return ignore(state)
      break
    }
  }
  const effect = withLeg(p.leg === "acknowledgement" ? { ...existing, acknowledgement: p.value, execution } : existing, leg, evidence, state.packets)
  return remember(state, effect, false)
}

/** Statuses a packet ends in: a packet that depends on it may settle. */
const TERMINAL: ReadonlySet<EffectStatus> = new Set(["settled", "refunded"])

/**
 * The status a packet's legs and dependencies give: its legs' (statusOf), except that a packet
 * whose legs say settled stays executed while a packet it depends on (its forward, the next
 * hop) is not settled or refunded: a multi-hop transfer is settled only when every hop is.
 */
export const resolvedStatus = (effect: IbcPacketEffect, packets: HashMap.HashMap<string, IbcPacketEffect>): EffectStatus => {
  const own = statusOf(effect.journey, effect.execution) ?? "retracted"
  if (own !== "settled") return own
  const open = effect.causalDependencies.some((d) => {
    const dep = Option.getOrUndefined(HashMap.get(packets, d))
    return dep === undefined || !TERMINAL.has(dep.status)
  })
  return open ? "executed" : "settled"
}

// Link a forward (its commitment just proven) to the packet it forwards, when that one is tracked and went to the forward's chain.
const link = (state: EffectsState, forward: IbcPacketEffect, forwards: IbcPacketRef): EffectsState => {
  const causeId = ibcPacketEffectId(forwards.chain, forwards.port, forwards.channel, forwards.sequence)
  const cause = Option.getOrUndefined(HashMap.get(state.packets, causeId))
  if (cause === undefined || TERMINAL.has(cause.status) || cause.destination?.chain !== forward.source.chain || causeId === forward.id) return state
  const dependent: IbcPacketEffect = { ...cause, causalDependencies: [...new Set([...cause.causalDependencies, forward.id])] }
  const dependency: IbcPacketEffect = { ...forward, causalDependents: [...new Set([...forward.causalDependents, causeId])] }
  return { ...state, packets: HashMap.set(HashMap.set(state.packets, forward.id, dependency), causeId, dependent) }
}

/** A packet with one more proven leg: its status (and history) follows. */
export const withLeg = (effect: IbcPacketEffect, leg: IbcJourneyLeg, evidence: EvidenceRef, packets: HashMap.HashMap<string, IbcPacketEffect>): IbcPacketEffect => {
  const journey = [...effect.journey, leg].slice(-MAX_JOURNEY)
  const status = resolvedStatus({ ...effect, journey }, packets)
  if (status === effect.status && effect.history.length > 0) return { ...effect, journey }
  return {
    ...effect,
    journey,
    status,
    evidence,
    history: [...effect.history, { status, finality: effect.finality, lamport: leg.lamport, evidence }].slice(-MAX_HISTORY)
  }
}

/** Store a packet (new ones in tracking order, the oldest dropped past the state's `maxEffects`) and move its dependents. */
export const remember = (state: EffectsState, effect: IbcPacketEffect, isNew: boolean): EffectsState => {
  let packets = cascade(HashMap.set(state.packets, effect.id, effect), effect)
  if (!isNew) return { ...state, packets }
  const order = [...state.packetOrder, effect.id]
  let dropped = 0
  const evicted: Array<IbcPacketEffect> = []
  while (order.length - dropped > state.maxEffects) {
    const id = order[dropped++] as string
    const gone = Option.getOrUndefined(HashMap.get(packets, id))
    if (gone !== undefined) evicted.push(gone)
    packets = HashMap.remove(packets, id)
  }
  if (dropped === 0) return { ...state, packets, packetOrder: order }
  return { ...state, packets, packetOrder: order.slice(dropped), evicted: [...state.evicted, ...evicted] }
}

// A packet moved: the packets depending on it settle once it is settled or refunded (the evidence: its last move's).
const cascade = (packets: HashMap.HashMap<string, IbcPacketEffect>, moved: IbcPacketEffect): HashMap.HashMap<string, IbcPacketEffect> => {
  let out = packets
  const last = moved.history.at(-1)
  if (last === undefined) return out
  for (const d of moved.causalDependents) {
    const dep = Option.getOrUndefined(HashMap.get(out, d))
    if (dep === undefined) continue
    const status = resolvedStatus(dep, out)
    if (status === dep.status) continue
    const next: IbcPacketEffect = { ...dep, status, evidence: last.evidence, history: [...dep.history, { status, finality: dep.finality, lamport: last.lamport, evidence: last.evidence }].slice(-MAX_HISTORY) }
    out = cascade(HashMap.set(out, d, next), next)
  }
  return out
}

/**
 * A reorg of a chain: its headers above the fork point are void, and so is every leg proven
 * against one of them (state height >= fork height). Packets move back to the status their
 * remaining legs give; one whose commitment leg went is retracted and its dependents flagged.
 */
export const onIbcReorg = (state: EffectsState, p: ChainReorged, meta: RecordMeta): EffectsState => {
  let headers = headersOf(state, p.chain)
  for (const h of [...HashMap.keys(headers)]) if (h > p.forkHeight) headers = HashMap.remove(headers, h)
  const evidence: EvidenceRef = { kind: "chain-reorged", message: meta.id, header: { height: p.forkHeight, hash: p.forkHash } }
  let packets = state.packets
  const retracted: Array<string> = []
  for (const id of state.packetOrder) {
    const e = Option.getOrUndefined(HashMap.get(packets, id))
    if (e === undefined || e.status === "retracted") continue
    const journey = e.journey.filter((l) => !(l.chain === p.chain && l.height + 1 > p.forkHeight))
    if (journey.length === e.journey.length) continue
    const status = resolvedStatus({ ...e, journey }, packets)
    if (status === "retracted") retracted.push(id)
    packets = HashMap.set(packets, id, {
      ...e,
      journey,
      status,
      evidence,
      acknowledgement: journey.some((l) => l.leg === "acknowledgement") ? e.acknowledgement : null,
      execution: journey.some((l) => l.leg === "acknowledgement") ? e.execution : null,
      history: [...e.history, { status, finality: e.finality, lamport: meta.lamport, evidence }].slice(-MAX_HISTORY)
    })
  }
  // Dependents (packets that depend on a retracted one) are flagged, transitively.
  const queue = [...retracted]
  const visited = new Set(queue)
  while (queue.length > 0) {
    const e = Option.getOrUndefined(HashMap.get(packets, queue.shift() as string))
    for (const d of e?.causalDependents ?? []) {
      const dep = Option.getOrUndefined(HashMap.get(packets, d))
      if (dep === undefined) continue
      if (!dep.dependencyRetracted) packets = HashMap.set(packets, d, { ...dep, dependencyRetracted: true })
      if (!visited.has(d)) {
        visited.add(d)
        queue.push(d)
      }
    }
  }
  return { ...state, packets, cosmosHeaders: HashMap.set(state.cosmosHeaders, p.chain, headers) }
}

// ---------------------------------------------------------------------------------------------
// Queries

/** A packet by effect id. */
export const packetOf = (state: EffectsState, id: string): IbcPacketEffect | undefined => Option.getOrUndefined(HashMap.get(state.packets, id))

/** Statuses in which a packet is still in flight (something more is expected). */
export const IN_FLIGHT: ReadonlySet<EffectStatus> = new Set(["sent", "delivered", "executed", "timed-out"])

/**
 * A packet as queries answer it at `nowMs`: stuck when in flight and its last proven leg's
 * header time is more than `stuckAfterMs` ago (how long, from the chain's own verified clock
 * to the caller's). Computed at query time, not recorded: it changes with the clock alone.
 */
export const packetView = (effect: IbcPacketEffect, nowMs: number, stuckAfterMs: number): IbcPacketView => {
  const since = effect.journey.reduce((t, l) => Math.max(t, l.time), 0)
  const stuck = IN_FLIGHT.has(effect.status) && since > 0 && nowMs - since > stuckAfterMs ? { sinceMs: since, forMs: nowMs - since } : null
  return { effectId: effect.id, ...effect, stuck }
}

/** Packets in the order they were tracked, filtered. */
export const listPackets = (
  state: EffectsState,
  query: { readonly chain?: string; readonly status?: EffectStatus; readonly limit: number }
): ReadonlyArray<IbcPacketEffect> => {
  const out: Array<IbcPacketEffect> = []
  for (const id of state.packetOrder) {
    const e = Option.getOrUndefined(HashMap.get(state.packets, id))
    if (e === undefined) continue
    if (query.chain !== undefined && e.source.chain !== query.chain && e.destination?.chain !== query.chain) continue
    if (query.status !== undefined && e.status !== query.status) continue
    out.push(e)
    if (out.length >= query.limit) break
  }
  return out
}

/** Packets of a source chain still in flight, oldest first (what the reconciliation sweep re-queries). */
export const packetsInFlight = (state: EffectsState, sourceChain: string): ReadonlyArray<IbcPacketEffect> =>
  state.packetOrder.flatMap((id) => {
    const e = Option.getOrUndefined(HashMap.get(state.packets, id))
    return e !== undefined && e.source.chain === sourceChain && IN_FLIGHT.has(e.status) ? [e] : []
  })

/** The verified CometBFT header the fold holds for a chain at a height. */
export const cosmosHeaderOf = (state: EffectsState, chain: string, height: number): CosmosHeader | undefined =>
  Option.getOrUndefined(HashMap.get(headersOf(state, chain), height))

/** The highest verified CometBFT height the fold holds for a chain. */
export const cosmosHeadOf = (state: EffectsState, chain: string): number | undefined => {
  let top: number | undefined
  for (const h of HashMap.keys(headersOf(state, chain))) if (top === undefined || h > top) top = h
  return top
}
