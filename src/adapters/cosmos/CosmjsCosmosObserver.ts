/**
 * The Cosmos chain observer: a CometBFT light client over cosmjs (CometRpc.ts). It trusts no
 * RPC endpoint, only a root of trust given out of band (a height and its header hash).
 *
 * - Headers: the root is checked by hash and its own commit (> 2/3 of its validators). A new
 *   height is verified from the latest verified light block by the domain light client
 *   (src/domain/verify/cometbft): adjacent verification for the next height, skipping
 *   verification with trust level (default 1/3) otherwise, bisecting when a skip lacks trust;
 *   trusting period and clock drift are checked against the clock. Heights in between are
 *   verified by hash links (each header must hash to the `last_block_id` of the verified one
 *   above it), as CometBFT's backwards verification does.
 * - Witnesses: every verified target is cross-checked with each witness. A witness holding a
 *   conflicting header that verifies from the last common block is a light-client attack:
 *   the observer reports it (a `Misbehaviour` event on `follow` carrying both headers, and a
 *   "Disagreement" error with the two headers) and halts, as CometBFT's light client does. A
 *   witness that is down or serves blocks that do not verify is only logged.
 * - Finality: CometBFT commits are final, so latest = safe = finalized = the latest verified.
 * - State: `prove(height, key)` asks `abci_query` with `prove=true` for the state after block
 *   `height` and checks the two ICS23 proof ops (StoreProof.ts) against the app hash of the
 *   verified header at `height + 1` (CometBFT puts the app hash of height H in header H + 1);
 *   the StateProof's `headerHash` is that header's. Keys are `<store>/<hex key>`; StateProof
 *   keys are hex of `<store>/` followed by the key bytes.
 *
 * Every verification runs under one lock, so `follow`, `prove`, `tips` and `watch` share one
 * trusted state and never race on it.
 *
 * Signatures are checked by the SignatureVerifier port in context (src/main.ts gives it
 * NodeCryptoCommitVerifier; every adapter is pinned to one Ed25519 rule by
 * test/adapters/Ed25519Conformance.test.ts): each commit's selected signatures go to it as
 * one batch (`verifyMany`), which an adapter may spread over cores.
 */
import { Clock, Effect, Option, Result, Semaphore, Stream } from "effect"
import { type LightClientAttackEvidence, type VerifiedTarget, verifyToHeight } from "../../domain/verify/cometbft/CometBftBisection.ts"
import {
  DEFAULT_MAX_CLOCK_DRIFT,
  DEFAULT_TRUST_LEVEL,
  type VerifySignature,
  type VerifySignatures,
  headerHash,
  lightBlockHash,
  verifyOwnCommitBatch
} from "../../domain/verify/cometbft/CometBftLightClient.ts"
import { formatRfc3339Nanos, parseDurationNanos, parseRfc3339Nanos } from "../../domain/verify/cometbft/CometBftTime.ts"
import type { HeaderJson, LightBlock } from "../../domain/verify/cometbft/LightBlock.ts"
import type { TrustLevel } from "../../domain/verify/cometbft/LightClientErrors.ts"
import {
  ChainObserverError,
  type ChainObserverService,
  type ChainTips,
  type FollowCursor,
  type ListedKey,
  type SentPacket,
  type SentPacketV2,
  type IbcPacketEnds,
  type WrittenAcknowledgement,
  type WrittenAcknowledgementV2,
  type HeadEvent,
  type MisbehaviourEvidence,
  type RpcHeadClaim,
  type StateProof,
  type VerifiedHeader
} from "../../ports/ChainObserver.ts"
import { SignatureVerifier, type SignatureVerifierService } from "../../ports/SignatureVerifier.ts"
import * as CometRpc from "./CometRpc.ts"
import { MAX_ACK_HEX } from "../../domain/effects/EffectMessages.ts"
import { decodeAcknowledgementV2, decodePacketV2 } from "./IbcPacketV2Proto.ts"
import { checkStoreProof, decodeKvPairs, encodeProofOps, parseStoreKey, storeKeyHex } from "./StoreProof.ts"

/** How to observe one CometBFT chain. */
export interface CosmjsCosmosObserverOptions {
  /** The chain's name in causeway; also its CometBFT chain ID unless `chainId` says otherwise. */
  readonly chain: string
  readonly chainId?: string
  /** The primary full node's RPC URL. */
  readonly rpc: string
  /** Witness full nodes' RPC URLs, cross-checked for conflicting headers. */
  readonly witnesses?: ReadonlyArray<string>
  /** The root of trust: a height and its header hash (hex), obtained out of band. */
  readonly trustedHeight: number
  readonly trustedHash: string
  /** How long a verified header may be trusted, nanoseconds as a decimal string (default 168 h). */
  readonly trustingPeriod?: string
  /** Default 1/3. */
  readonly trustLevel?: TrustLevel
  /** Nanoseconds as a decimal string (default 10 s). */
  readonly maxClockDrift?: string
  /** Between polls of the node's height, ms (default 1,000). */
  readonly pollIntervalMs?: number
  /** Per-request timeout, ms (default 10,000). */
  readonly timeoutMs?: number
  /** Longest run of heights linked one by one (catching up on `follow`, or below the verified ones; default 1,024). */
  readonly maxCatchUp?: number
  /** Verified headers kept in memory (default 4,096). */
  readonly keepHeaders?: number
}

/** CometBFT's default trusting period: 168 h. */
export const DEFAULT_TRUSTING_PERIOD = String(168n * 3600n * 1_000_000_000n)

const lower = (hex: string): string => hex.toLowerCase()
const heightOf = (block: LightBlock): number => Number(block.signed_header.header.height)

const toVerifiedHeader = (chain: string, header: HeaderJson, hash: string): VerifiedHeader => ({
  chain,
  height: Number(header.height),
  hash: lower(hash),
  parentHash: lower(header.last_block_id?.hash ?? ""),
  stateRoot: lower(header.app_hash),
  time: Number((parseRfc3339Nanos(header.time) ?? 0n) / 1_000_000n)
})

const hexOf = (bytes: Uint8Array): string => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString("hex")

/** The light client's Ed25519 checks on the port: keys as the lowercase hex it takes, batches as one `verifyMany`. */
const lightClientVerifiers = (verifier: SignatureVerifierService): { readonly one: VerifySignature; readonly many: VerifySignatures } => ({
  one: (publicKey, message, signature) => verifier.verify("ed25519", hexOf(publicKey), message, signature),
  many: (checks) => verifier.verifyMany(checks.map((c) => ({ scheme: "ed25519", publicKey: hexOf(c.publicKey), message: c.message, signature: c.signature })))
})

/** The observer over a given verifier. */
const makeWith = (options: CosmjsCosmosObserverOptions, verifier: SignatureVerifierService): ChainObserverService => {
  const { chain } = options
  const chainId = options.chainId ?? chain
  const fail = (reason: ChainObserverError["reason"], detail: string, cause?: unknown) =>
    new ChainObserverError({ chain, reason, detail, cause })
  const timeoutMs = options.timeoutMs ?? 10_000
  const primary = CometRpc.make(options.rpc, { timeoutMs })
  const witnesses = (options.witnesses ?? []).map((url) => CometRpc.make(url, { timeoutMs }))
  const trustingPeriod = options.trustingPeriod ?? DEFAULT_TRUSTING_PERIOD
  const trustingPeriodNanos = parseDurationNanos(trustingPeriod)
  const maxClockDrift = options.maxClockDrift ?? DEFAULT_MAX_CLOCK_DRIFT
  const trustLevel = options.trustLevel ?? DEFAULT_TRUST_LEVEL
  const pollInterval = options.pollIntervalMs ?? 1000
  const maxCatchUp = options.maxCatchUp ?? 1024
  const keepHeaders = options.keepHeaders ?? 4096
  const { one: verifySignature, many: verifySignatures } = lightClientVerifiers(verifier)
  if (!Number.isSafeInteger(options.trustedHeight) || options.trustedHeight < 1) throw new Error("trustedHeight must be a positive integer")
  if (!/^[0-9a-fA-F]{64}$/.test(options.trustedHash)) throw new Error("trustedHash must be 32 bytes of hex")
  if (trustingPeriodNanos === undefined || parseDurationNanos(maxClockDrift) === undefined) throw new Error("durations are decimal nanoseconds")

  // --- the trusted state, changed only under `lock` ---
  const lock = Semaphore.makeUnsafe(1)
  let trusted: LightBlock | undefined
  const verified = new Map<number, VerifiedHeader>()
  // Light blocks fetched from the primary, so a bisection and the root check fetch each once.
  const fetched = new Map<number, LightBlock>()
  let halted: { readonly error: ChainObserverError; readonly evidence: MisbehaviourEvidence } | undefined

  const rpcFailure = (e: CometRpc.CometRpcError) =>
    fail(e.notFound ? "NotFound" : "Unreachable", `${e.method} at ${e.endpoint} failed: ${String(e.cause instanceof Error ? e.cause.message : e.cause)}`, e)

  const now = Effect.map(Clock.currentTimeMillis, (ms) => formatRfc3339Nanos(BigInt(ms) * 1_000_000n))

  const fromPrimary = (height: number): Effect.Effect<LightBlock, CometRpc.CometRpcError> => {
    const hit = fetched.get(height)
    return hit !== undefined ? Effect.succeed(hit) : Effect.tap(primary.lightBlock(height), (b) => Effect.sync(() => fetched.set(height, b)))
  }

  const remember = (header: VerifiedHeader): void => {
    verified.set(header.height, header)
  }

  const prune = (): void => {
    if (verified.size <= keepHeaders) return
    const heights = [...verified.keys()].sort((a, b) => a - b)
    for (const h of heights.slice(0, verified.size - keepHeaders)) verified.delete(h)
  }

  const commonHashOf = (height: number): string => {
    const block = fetched.get(height)
    const hash = block === undefined ? undefined : lightBlockHash(block)
    return hash !== undefined && Result.isSuccess(hash) ? lower(hash.success) : ""
  }

  const evidenceOf = (e: LightClientAttackEvidence): MisbehaviourEvidence => {
    const side = (endpoint: string, block: LightBlock, hash: string) => ({
      endpoint,
      header: toVerifiedHeader(chain, block.signed_header.header, hash),
      encoded: Buffer.from(JSON.stringify(block.signed_header.header), "utf8").toString("hex")
    })
    return {
      chain,
      height: e.conflictingHeight,
      commonHeight: e.commonHeight,
      // The common block was verified in the failed trace (only the primary's fetched copy holds it) or before it.
      commonHash: verified.get(e.commonHeight)?.hash ?? commonHashOf(e.commonHeight),
      primary: side(primary.endpoint, e.primaryBlock, e.primaryHash),
      witness: side(witnesses[e.witnessIndex]?.endpoint ?? "", e.witnessBlock, e.witnessHash),
      primaryBlock: e.primaryBlock,
      witnessBlock: e.witnessBlock
    }
  }

  // The root of trust, checked once: the node's block at trustedHeight must hash to trustedHash, verify on its
  // own (> 2/3 of its validators signed), belong to the configured chain and lie within the trusting period.
  const ensureRoot = Effect.gen(function*() {
    if (trusted !== undefined) return trusted
    const block = yield* Effect.mapError(fromPrimary(options.trustedHeight), rpcFailure)
    const own = yield* Effect.result(verifyOwnCommitBatch(block, verifySignatures))
    if (Result.isFailure(own)) return yield* fail("InvalidHeader", `root of trust rejected: ${own.failure.reason}: ${own.failure.detail}`, own.failure)
    if (own.success.hash !== options.trustedHash.toUpperCase()) {
      return yield* fail("InvalidHeader", `root of trust rejected: block ${options.trustedHeight} hashes to ${own.success.hash}, not the trusted hash`)
    }
    const header = block.signed_header.header
    if (header.chain_id !== chainId) {
      return yield* fail("InvalidHeader", `the node serves chain ${JSON.stringify(header.chain_id)}, not ${JSON.stringify(chainId)}`)
    }
    const nowNanos = BigInt(yield* Clock.currentTimeMillis) * 1_000_000n
    if (own.success.timeNanos + (trustingPeriodNanos ?? 0n) <= nowNanos) {
      return yield* fail("InvalidHeader", `NotWithinTrustPeriod: the root of trust at ${options.trustedHeight} (${header.time}) is older than the trusting period`)
    }
    trusted = block
    remember(toVerifiedHeader(chain, header, own.success.hash))
    return block
  })

  const onVerified = (target: VerifiedTarget): Effect.Effect<void> =>
    Effect.gen(function*() {
      for (const height of target.trace) {
        const block = fetched.get(height) ?? (height === heightOf(target.block) ? target.block : undefined)
        if (block === undefined) continue
        const hash = lightBlockHash(block)
        if (Result.isSuccess(hash)) remember(toVerifiedHeader(chain, block.signed_header.header, hash.success))
      }
      trusted = target.block
      const top = heightOf(target.block)
      for (const h of [...fetched.keys()]) if (h < top) fetched.delete(h)
      prune()
      for (const report of target.witnesses) {
        if (report.status !== "agreed") {
          yield* Effect.logWarning(`cosmos ${chain}: witness ${witnesses[report.index]?.endpoint ?? report.index} ${report.status}: ${report.detail}`)
        }
      }
    })

  // Verify the primary's block at `target` from the latest verified block (skipping with bisection, witnesses cross-checked).
  const advance = (target: number): Effect.Effect<void, ChainObserverError> =>
    Effect.gen(function*() {
      if (halted !== undefined) return yield* halted.error
      const root = yield* ensureRoot
      const from = heightOf(root)
      if (target <= from) return
      const result = yield* Effect.result(
        verifyToHeight(
          {
            trustedHeight: from,
            trustedHash: verified.get(from)?.hash ?? "",
            targetHeight: target,
            primary: fromPrimary,
            witnesses: witnesses.map((w) => w.lightBlock),
            now: yield* now,
            trustingPeriod,
            trustLevel,
            maxClockDrift
          },
          verifySignature,
          verifySignatures
        )
      )
      if (Result.isSuccess(result)) return yield* onVerified(result.success)
      const e = result.failure
      fetched.delete(target)
      switch (e._tag) {
        case "CometRpcError":
          return yield* rpcFailure(e)
        case "InvalidLightBlock":
          return yield* fail("InvalidHeader", `${e.reason}: ${e.detail}`, e)
        case "TrustedRootRejected":
          return yield* fail("InvalidHeader", `the verified block at ${from} no longer checks out: ${e.reason}`, e)
        case "LightClientAttackDetected": {
          const evidence = evidenceOf(e.evidence)
          const error = fail(
            "Disagreement",
            JSON.stringify({
              misbehaviour: "light client attack",
              height: evidence.height,
              commonHeight: evidence.commonHeight,
              primary: evidence.primary.header,
              witness: evidence.witness.header
            }),
            evidence
          )
          halted = { error, evidence }
          yield* Effect.logError(`cosmos ${chain}: witness ${evidence.witness.endpoint} holds a conflicting header at ${evidence.height}; the observer halts`)
          return yield* error
        }
      }
    })

  // Link heights below a verified header by hash, down to `height`.
  const linkDown = (height: number): Effect.Effect<VerifiedHeader, ChainObserverError> =>
    Effect.gen(function*() {
      const above = [...verified.keys()].filter((h) => h > height).sort((a, b) => a - b)[0]
      if (above === undefined) return yield* fail("NotFound", `no verified header above ${height}`)
      if (above - height > maxCatchUp) {
        return yield* fail("NotFound", `height ${height} is ${above - height} below the nearest verified header (at most ${maxCatchUp} are linked)`)
      }
      let parent = verified.get(above)
      for (let h = above - 1; h >= height; h--) {
        const json = yield* Effect.mapError(primary.header(h), rpcFailure)
        const hash = headerHash(json)
        if (Result.isFailure(hash)) return yield* fail("InvalidHeader", `header ${h}: ${hash.failure.detail}`, hash.failure)
        if (parent === undefined || lower(hash.success) !== parent.parentHash) {
          return yield* fail("InvalidHeader", `header ${h} hashes to ${lower(hash.success)}, but the verified header ${h + 1} names ${parent?.parentHash ?? "?"} as its parent`)
        }
        parent = toVerifiedHeader(chain, json, hash.success)
        remember(parent)
      }
      return parent ?? (yield* fail("NotFound", `no header at ${height}`))
    })

  /** The verified header at `height`: forwards by the light client, backwards by hash links. */
  const headerAt = (height: number): Effect.Effect<VerifiedHeader, ChainObserverError> =>
    lock.withPermit(
      Effect.gen(function*() {
        if (halted !== undefined) return yield* halted.error
        const known = verified.get(height)
        if (known !== undefined) return known
        const root = yield* ensureRoot
        if (height > heightOf(root)) {
          yield* advance(height)
          return verified.get(height) ?? (yield* fail("NotFound", `height ${height} was not verified`))
        }
        return yield* linkDown(height)
      })
    )

  // What the primary last answered as its latest height (its status: a claim until the light client verifies it).
  let claimed: RpcHeadClaim | undefined
  const latestHeight = Effect.mapError(primary.latestHeight, rpcFailure).pipe(
    Effect.tap((height) => Effect.map(Clock.currentTimeMillis, (at) => void (claimed = { height, at })))
  )

  const tips: Effect.Effect<ChainTips, ChainObserverError> = Effect.gen(function*() {
    const latest = yield* headerAt(yield* latestHeight)
    return { latest, safe: latest, finalized: latest }
  }).pipe(Effect.withSpan("CosmjsCosmosObserver.tips"))

  // One poll of a follower that reported up to `last`: the verified heads above it, ascending.
  const headsAfter = (last: number | undefined): Effect.Effect<ReadonlyArray<VerifiedHeader>, ChainObserverError> =>
    Effect.gen(function*() {
      const latest = yield* latestHeight
      if (last !== undefined && latest <= last) return []
      const top = yield* headerAt(latest)
      const from = last === undefined ? latest : Math.max(last + 1, latest - maxCatchUp + 1)
      const heads: Array<VerifiedHeader> = [top]
      for (let h = latest - 1; h >= from; h--) heads.push(yield* headerAt(h))
      return heads.reverse()
    })

  type FollowState =
    | { readonly _tag: "Polling"; readonly last: number | undefined; readonly first: boolean; readonly cursorChecked: boolean }
    | { readonly _tag: "Failing"; readonly error: ChainObserverError }

  // A resumed follower first checks that the head it reported is still the chain's (a committed block never changes).
  const checkCursor = (cursor: FollowCursor | undefined): Effect.Effect<void, ChainObserverError> =>
    Effect.gen(function*() {
      const reported = cursor?.headers.at(-1)
      if (reported === undefined) return
      const now = yield* headerAt(reported.height)
      if (now.hash !== reported.hash) {
        return yield* fail("Disagreement", `the verified header at ${reported.height} is ${now.hash}, not ${reported.hash} as reported before`)
      }
    })

  const followFrom = (cursor: FollowCursor | undefined): Stream.Stream<HeadEvent, ChainObserverError> =>
    Stream.suspend(() => {
      const start: FollowState = { _tag: "Polling", last: cursor?.headers.at(-1)?.height, first: true, cursorChecked: false }
      return Stream.paginate(start, (state: FollowState) =>
        Effect.gen(function*() {
          if (state._tag === "Failing") return yield* state.error
          if (!state.first) yield* Effect.sleep(pollInterval)
          const polled = yield* Effect.result(
            Effect.andThen(state.cursorChecked ? Effect.void : checkCursor(cursor), headsAfter(state.last))
          )
          if (Result.isFailure(polled)) {
            const e = polled.failure
            if (e.reason === "Unreachable") {
              yield* Effect.logWarning(`cosmos ${chain}: ${e.detail}; retrying in ${pollInterval} ms`)
              return [[], Option.some<FollowState>({ ...state, first: false })] as const
            }
            if (halted !== undefined && e === halted.error) {
              const event: HeadEvent = { _tag: "Misbehaviour", evidence: halted.evidence }
              return [[event], Option.some<FollowState>({ _tag: "Failing", error: e })] as const
            }
            return yield* e
          }
          const heads = polled.success
          const top = heads.at(-1)
          const events: Array<HeadEvent> = heads.map((header) => ({ _tag: "Head", header }))
          if (top !== undefined) events.push({ _tag: "Finalized", header: top })
          return [events, Option.some<FollowState>({ _tag: "Polling", last: top?.height ?? state.last, first: false, cursorChecked: true })] as const
        }))
    })

  const follow = followFrom(undefined)

  const prove = (height: number, key: string): Effect.Effect<StateProof, ChainObserverError> =>
    Effect.gen(function*() {
      const parsed = parseStoreKey(key)
      if (parsed === undefined) {
        return yield* fail("InvalidKey", `key ${JSON.stringify(key.slice(0, 120))} is not <store>/<hex key>`)
      }
      if (!Number.isSafeInteger(height) || height < 1) return yield* fail("NotFound", `no state at height ${height}`)
      // The state after block `height` is committed to by the app hash of header height + 1.
      const committing = yield* headerAt(height + 1)
      const answer = yield* Effect.mapError(primary.query(`/store/${parsed.store}/key`, parsed.key, height), rpcFailure)
      if (answer.code !== 0) return yield* fail("NotFound", `abci_query ${parsed.text} at ${height}: code ${answer.code} ${answer.log}`)
      if (answer.height !== height) return yield* fail("InvalidProof", `abci_query answered for height ${answer.height}, not ${height}`)
      const problem = checkStoreProof(committing.stateRoot, parsed, answer.value, answer.ops)
      if (problem !== undefined) return yield* fail("InvalidProof", `${parsed.text} at ${height}: ${problem}`)
      return {
        chain,
        height,
        headerHash: committing.hash,
        kind: "ics23",
        key: storeKeyHex(parsed),
        value: Buffer.from(answer.value).toString("hex"),
        proof: Buffer.from(encodeProofOps(answer.ops)).toString("hex")
      } satisfies StateProof
    }).pipe(Effect.withSpan("CosmjsCosmosObserver.prove", { attributes: { chain, height } }))

  const watch = (key: string): Stream.Stream<StateProof, ChainObserverError> =>
    Stream.suspend(() => {
      let last: string | undefined
      return follow.pipe(
        Stream.mapEffect((event) =>
          event._tag === "Head" && event.header.height > 1 ? prove(event.header.height - 1, key) : Effect.succeed(undefined)
        ),
        Stream.filter((p): p is StateProof => {
          if (p === undefined || p.value === last) return false
          last = p.value
          return true
        })
      )
    })

  // Discovery, unproven: a node may hide or invent keys; whatever counts is proven with `prove`.
  const listKeys = (height: number, store: string, prefix: string, limit: number): Effect.Effect<ReadonlyArray<ListedKey>, ChainObserverError> =>
    Effect.gen(function*() {
      if (!/^[A-Za-z0-9_.-]{1,64}$/.test(store) || !/^(?:[0-9a-fA-F]{2})*$/.test(prefix)) return yield* fail("InvalidKey", `not a store and hex prefix: ${store} ${prefix.slice(0, 120)}`)
      if (!Number.isSafeInteger(height) || height < 1) return yield* fail("NotFound", `no state at height ${height}`)
      const answer = yield* Effect.mapError(primary.queryUnproven(`/store/${store}/subspace`, Uint8Array.from(Buffer.from(prefix, "hex")), height), rpcFailure)
      if (answer.code !== 0) return yield* fail("NotFound", `abci_query ${store} subspace at ${height}: code ${answer.code} ${answer.log}`)
      const pairs = decodeKvPairs(answer.value)
      if (pairs === undefined) return yield* fail("Unreachable", `abci_query ${store} subspace at ${height}: the answer is not kv.Pairs`)
      const wanted = prefix.toLowerCase()
      return pairs
        .map((p) => ({ key: Buffer.from(p.key).toString("hex"), value: Buffer.from(p.value).toString("hex") }))
        .filter((p) => p.key.startsWith(wanted))
        .slice(0, Math.max(0, limit))
    }).pipe(Effect.withSpan("CosmjsCosmosObserver.listKeys", { attributes: { chain, height, store } }))

  const IBC_ID = /^[A-Za-z0-9._+\-#[\]<>]{1,128}$/
  const sentPacket = (port: string, channel: string, sequence: string): Effect.Effect<SentPacket | undefined, ChainObserverError> =>
    Effect.gen(function*() {
      if (!IBC_ID.test(port) || !IBC_ID.test(channel) || !/^\d{1,20}$/.test(sequence)) return yield* fail("InvalidKey", `not a port, channel and sequence: ${port} ${channel} ${sequence}`)
      const query = `send_packet.packet_src_port='${port}' AND send_packet.packet_src_channel='${channel}' AND send_packet.packet_sequence='${sequence}'`
      const txs = yield* Effect.mapError(primary.txSearch(query, 10), rpcFailure)
      for (const tx of txs) {
        for (const event of tx.events) {
          if (event.type !== "send_packet") continue
          const attr = (key: string) => event.attributes.find((a) => a.key === key)?.value
          if (attr("packet_src_port") !== port || attr("packet_src_channel") !== channel || attr("packet_sequence") !== sequence) continue
          const timeoutHeight = /^(\d{1,20})-(\d{1,20})$/.exec(attr("packet_timeout_height") ?? "")
          const data = attr("packet_data_hex")
          const timeoutTimestamp = attr("packet_timeout_timestamp")
          const destinationPort = attr("packet_dst_port")
          const destinationChannel = attr("packet_dst_channel")
          if (timeoutHeight === null || data === undefined || !/^(?:[0-9a-fA-F]{2})*$/.test(data) || timeoutTimestamp === undefined || !/^\d{1,20}$/.test(timeoutTimestamp)) continue
          if (destinationPort === undefined || destinationChannel === undefined) continue
          return {
            height: tx.height,
            data: data.toLowerCase(),
            timeoutHeight: { revisionNumber: timeoutHeight[1] ?? "0", revisionHeight: timeoutHeight[2] ?? "0" },
            timeoutTimestamp,
            destinationPort,
            destinationChannel
          } satisfies SentPacket
        }
      }
      return undefined
    }).pipe(Effect.withSpan("CosmjsCosmosObserver.sentPacket", { attributes: { chain, port, channel, sequence } }))

  const sentPacketV2 = (clientId: string, sequence: string): Effect.Effect<SentPacketV2 | undefined, ChainObserverError> =>
    Effect.gen(function*() {
      if (!IBC_ID.test(clientId) || !/^\d{1,20}$/.test(sequence)) return yield* fail("InvalidKey", `not a client and sequence: ${clientId} ${sequence}`)
      const query = `send_packet.packet_source_client='${clientId}' AND send_packet.packet_sequence='${sequence}'`
      const txs = yield* Effect.mapError(primary.txSearch(query, 10), rpcFailure)
      for (const tx of txs) {
        for (const event of tx.events) {
          if (event.type !== "send_packet") continue
          const encoded = event.attributes.find((a) => a.key === "encoded_packet_hex")?.value
          if (encoded === undefined || !/^(?:[0-9a-fA-F]{2})*$/.test(encoded)) continue
          const packet = decodePacketV2(Uint8Array.from(Buffer.from(encoded, "hex")))
          if (packet === undefined || packet.sourceClient !== clientId || packet.sequence !== sequence) continue
          return {
            height: tx.height,
            destinationClient: packet.destinationClient,
            timeoutTimestamp: packet.timeoutTimestamp,
            payloads: packet.payloads
          } satisfies SentPacketV2
        }
      }
      return undefined
    }).pipe(Effect.withSpan("CosmjsCosmosObserver.sentPacketV2", { attributes: { chain, clientId, sequence } }))

  // Ack bytes longer than an evidence message carries are not reported (the leg is published without them).
  const HEX = /^(?:[0-9a-fA-F]{2})*$/
  const writtenAcknowledgement = (packet: IbcPacketEnds): Effect.Effect<WrittenAcknowledgement | undefined, ChainObserverError> =>
    Effect.gen(function*() {
      const { sourcePort, sourceChannel, destinationPort, destinationChannel, sequence } = packet
      if (![sourcePort, sourceChannel, destinationPort, destinationChannel].every((id) => IBC_ID.test(id)) || !/^\d{1,20}$/.test(sequence)) {
        return yield* fail("InvalidKey", `not ports, channels and a sequence: ${JSON.stringify(packet).slice(0, 300)}`)
      }
      const query = `write_acknowledgement.packet_dst_port='${destinationPort}' AND write_acknowledgement.packet_dst_channel='${destinationChannel}' AND write_acknowledgement.packet_sequence='${sequence}'`
      const txs = yield* Effect.mapError(primary.txSearch(query, 10), rpcFailure)
      for (const tx of txs) {
        for (const event of tx.events) {
          if (event.type !== "write_acknowledgement") continue
          const attr = (key: string) => event.attributes.find((a) => a.key === key)?.value
          if (attr("packet_src_port") !== sourcePort || attr("packet_src_channel") !== sourceChannel) continue
          if (attr("packet_dst_port") !== destinationPort || attr("packet_dst_channel") !== destinationChannel || attr("packet_sequence") !== sequence) continue
          const hex = attr("packet_ack_hex")
          const text = attr("packet_ack")
          // ibc-go before v8 also wrote the ack as a string (`packet_ack`); later ones write only the hex.
          const ack = hex !== undefined ? (HEX.test(hex) ? hex.toLowerCase() : undefined) : text === undefined ? undefined : Buffer.from(text, "utf8").toString("hex")
          if (ack === undefined || ack.length > MAX_ACK_HEX) continue
          return { height: tx.height, acknowledgement: ack } satisfies WrittenAcknowledgement
        }
      }
      return undefined
    }).pipe(Effect.withSpan("CosmjsCosmosObserver.writtenAcknowledgement", { attributes: { chain, ...packet } }))

  const writtenAcknowledgementV2 = (sourceClient: string, destinationClient: string, sequence: string): Effect.Effect<WrittenAcknowledgementV2 | undefined, ChainObserverError> =>
    Effect.gen(function*() {
      if (!IBC_ID.test(sourceClient) || !IBC_ID.test(destinationClient) || !/^\d{1,20}$/.test(sequence)) {
        return yield* fail("InvalidKey", `not clients and a sequence: ${sourceClient} ${destinationClient} ${sequence}`)
      }
      const query = `write_acknowledgement.packet_dest_client='${destinationClient}' AND write_acknowledgement.packet_sequence='${sequence}'`
      const txs = yield* Effect.mapError(primary.txSearch(query, 10), rpcFailure)
      for (const tx of txs) {
        for (const event of tx.events) {
          if (event.type !== "write_acknowledgement") continue
          const attr = (key: string) => event.attributes.find((a) => a.key === key)?.value
          const encodedPacket = attr("encoded_packet_hex")
          const encodedAck = attr("encoded_acknowledgement_hex")
          if (encodedPacket === undefined || encodedAck === undefined || !HEX.test(encodedPacket) || !HEX.test(encodedAck)) continue
          // The whole event is bounded by what one evidence message may carry (framing included).
          if (encodedAck.length > MAX_ACK_HEX + 16 * 8) continue
          const packet = decodePacketV2(Uint8Array.from(Buffer.from(encodedPacket, "hex")))
          if (packet === undefined || packet.sourceClient !== sourceClient || packet.destinationClient !== destinationClient || packet.sequence !== sequence) continue
          const acks = decodeAcknowledgementV2(Uint8Array.from(Buffer.from(encodedAck, "hex")))
          if (acks === undefined || acks.length === 0 || acks.length > 16 || acks.reduce((n, a) => n + a.length, 0) > MAX_ACK_HEX) continue
          return { height: tx.height, appAcknowledgements: acks } satisfies WrittenAcknowledgementV2
        }
      }
      return undefined
    }).pipe(Effect.withSpan("CosmjsCosmosObserver.writtenAcknowledgementV2", { attributes: { chain, sourceClient, destinationClient, sequence } }))

  const submitTransaction = (raw: string): Effect.Effect<string, ChainObserverError> =>
    Effect.gen(function*() {
      const hex = raw.startsWith("0x") || raw.startsWith("0X") ? raw.slice(2) : raw
      if (hex.length === 0 || !/^(?:[0-9a-fA-F]{2})+$/.test(hex)) return yield* fail("Rejected", "the transaction is not hex")
      const answer = yield* Effect.mapError(primary.broadcastTxSync(Uint8Array.from(Buffer.from(hex, "hex"))), rpcFailure)
      if (answer.code !== 0) return yield* fail("Rejected", `CheckTx code ${answer.code}: ${answer.log}`)
      return lower(answer.hash)
    })

  return {
    chain,
    kind: "cosmos",
    tips,
    follow,
    followFrom: (cursor) => followFrom(cursor),
    prove,
    watch,
    listKeys,
    sentPacket,
    sentPacketV2,
    writtenAcknowledgement,
    writtenAcknowledgementV2,
    submitTransaction,
    rpcHead: Effect.sync(() => claimed)
  }
}

/** Build an observer of one CometBFT chain, its signatures checked by the SignatureVerifier in context. */
export const make = (options: CosmjsCosmosObserverOptions): Effect.Effect<ChainObserverService, never, SignatureVerifier> =>
  Effect.map(SignatureVerifier, (verifier) => makeWith(options, verifier))
