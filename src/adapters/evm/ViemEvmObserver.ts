/**
 * The EVM chain observer over viem's JSON-RPC transport: it follows heads (polling), links
 * every header by recomputed hash to its parent, reports reorgs with their fork point and
 * finality from the node's tags or a confirmation depth, proves account and storage values
 * with eth_getProof checked against a verified header's stateRoot (EIP-1186), and submits
 * raw transactions. With several RPC URLs, every header asked by number or tag must be the
 * same at all of them (EvmRpcPool).
 *
 * State keys are hex (0x optional): a 20-byte address (the account), or the address followed
 * by a 32-byte slot (a storage word; `address/slot` is accepted too, the slot left-padded).
 * A proven value is the account's RLP [nonce, balance, storageRoot, codeHash] or the 32-byte
 * word, empty hex for a proven absence; the proof is the eth_getProof JSON (as UTF-8 hex).
 */
import { bytesToHex } from "@noble/hashes/utils.js"
import { Clock, Effect, Option, Result, Stream } from "effect"
import { type VerifiedEip1186Proof, verifyEip1186Proof } from "../../domain/verify/Eip1186.ts"
import { encodeRlp, scalarToBytes } from "../../domain/verify/Rlp.ts"
import {
  ChainObserverError,
  type ChainObserverService,
  type ChainTips,
  type FollowCursor,
  type HeadEvent,
  type RpcHeadClaim,
  type StateProof,
  type VerifiedHeader
} from "../../ports/ChainObserver.ts"
import { makeHeadTracker, type HeaderSource } from "./EvmHeadTracker.ts"
import * as EvmRpcPool from "./EvmRpcPool.ts"

/** How to observe one EVM chain. */
export interface ViemEvmObserverOptions {
  /** The chain's name in causeway (messages, HTTP). */
  readonly chain: string
  /** JSON-RPC endpoints; with several, they must agree on every header. */
  readonly urls: ReadonlyArray<string>
  /** Finality by depth (headers below the head); without it, the node's `safe` / `finalized` tags. */
  readonly confirmations?: number
  /** Between polls of the head, ms (default 2,000). */
  readonly pollIntervalMs?: number
  /** Reported headers kept to link a reorg (default 256). */
  readonly maxReorgDepth?: number
  /** Longest gap walked header by header after a downtime (default 1,024). */
  readonly maxCatchUp?: number
  /** Per-request timeout, ms (default 10,000). */
  readonly timeoutMs?: number
}

/** The largest proof a LightClientProof message carries (its `proof` is at most 64 KiB). */
const MAX_PROOF_BYTES = 65_536

interface ParsedKey {
  readonly address: string
  readonly slot: string | undefined
}

/** A state key as `address` or `address + slot`, normalized; undefined when it is neither. */
export const parseEvmKey = (key: string): ParsedKey | undefined => {
  const strip = (s: string) => (s.startsWith("0x") ? s.slice(2) : s).toLowerCase()
  const [a, s, ...rest] = key.split("/")
  if (rest.length > 0 || a === undefined) return undefined
  if (s !== undefined) {
    const address = strip(a)
    const slot = strip(s)
    if (!/^[0-9a-f]{40}$/.test(address) || !/^[0-9a-f]{1,64}$/.test(slot)) return undefined
    return { address, slot: slot.padStart(64, "0") }
  }
  const bare = strip(a)
  if (/^[0-9a-f]{40}$/.test(bare)) return { address: bare, slot: undefined }
  if (/^[0-9a-f]{104}$/.test(bare)) return { address: bare.slice(0, 40), slot: bare.slice(40) }
  return undefined
}

/** The key as StateProof and LightClientProof carry it: address, or address followed by the slot. */
const keyHex = (k: ParsedKey): string => k.address + (k.slot ?? "")

const accountValue = (p: VerifiedEip1186Proof): string =>
  p.accountExists
    ? bytesToHex(encodeRlp([scalarToBytes(p.nonce), scalarToBytes(p.balance), hex32(p.storageHash), hex32(p.codeHash)]))
    : ""

const hex32 = (h: string): Uint8Array => Uint8Array.from(h.slice(2).match(/../g) ?? [], (b) => Number.parseInt(b, 16))

const wordValue = (p: VerifiedEip1186Proof): string => {
  const slot = p.storage[0]
  return slot === undefined || !slot.exists ? "" : slot.value.toString(16).padStart(64, "0")
}

/** Build an observer of one EVM chain. */
export const make = (options: ViemEvmObserverOptions): ChainObserverService => {
  const { chain } = options
  const pool = EvmRpcPool.make({ chain, urls: options.urls, ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }) })
  const fail = (reason: ChainObserverError["reason"], detail: string, cause?: unknown) =>
    new ChainObserverError({ chain, reason, detail, cause })
  const pollInterval = options.pollIntervalMs ?? 2000

  // What the endpoints last answered as their latest block (its height only: unlinked, a claim).
  let claimed: RpcHeadClaim | undefined
  const latest = pool.header("latest").pipe(
    Effect.tap((h) => Effect.map(Clock.currentTimeMillis, (at) => void (claimed = { height: h.height, at })))
  )

  const source: HeaderSource = {
    chain,
    latest,
    byHash: pool.headerByHash,
    tagged: (tag) => pool.header(tag)
  }
  const trackerOptions = {
    ...(options.confirmations === undefined ? {} : { confirmations: options.confirmations }),
    ...(options.maxReorgDepth === undefined ? {} : { maxReorgDepth: options.maxReorgDepth }),
    ...(options.maxCatchUp === undefined ? {} : { maxCatchUp: options.maxCatchUp })
  }
  // Checked once here, so a bad depth fails at startup rather than in the first follow.
  makeHeadTracker(source, trackerOptions)

  const followFrom = (cursor: FollowCursor | undefined): Stream.Stream<HeadEvent, ChainObserverError> =>
    Stream.suspend(() => {
      const tracker = makeHeadTracker(source, trackerOptions, cursor)
      let first = true
      return Stream.paginate(undefined, () =>
        Effect.gen(function*() {
          if (!first) yield* Effect.sleep(pollInterval)
          first = false
          const events = yield* tracker.poll
          return [events, Option.some(undefined)] as const
        }))
    })

  const tips: Effect.Effect<ChainTips, ChainObserverError> = Effect.gen(function*() {
    const head = yield* latest
    if (options.confirmations !== undefined) {
      const finalized = yield* pool.header(Math.max(0, head.height - options.confirmations))
      return { latest: head, safe: finalized, finalized }
    }
    const [safe, finalized] = yield* Effect.all([pool.header("safe"), pool.header("finalized")], { concurrency: 2 })
    return { latest: head, safe, finalized }
  })

  /** Prove a key against a header this observer verified. */
  const proveAt = Effect.fn("ViemEvmObserver.proveAt")(function*(header: VerifiedHeader, key: string) {
    const parsed = parseEvmKey(key)
    if (parsed === undefined) {
      return yield* fail("InvalidKey", `key ${JSON.stringify(key.slice(0, 120))} is neither an address nor an address and a 32-byte slot`)
    }
    const slots = parsed.slot === undefined ? [] : [`0x${parsed.slot}`]
    const check = (json: unknown): Result.Result<StateProof, ChainObserverError> => {
      const verified = verifyEip1186Proof(`0x${header.stateRoot}`, json)
      if (Result.isFailure(verified)) {
        const e = verified.failure
        return Result.fail(fail("InvalidProof", `eth_getProof for ${keyHex(parsed)} at ${header.height}: ${e._tag}${"reason" in e ? `: ${e.reason}` : ""}`, e))
      }
      const p = verified.success
      // The verifier checks the proof of the key the answer names; it must be the key asked for.
      if (p.address !== `0x${parsed.address}`) return Result.fail(fail("InvalidProof", `eth_getProof answered for ${p.address}, not 0x${parsed.address}`))
      if (p.storage.length !== slots.length || (parsed.slot !== undefined && p.storage[0]?.key !== `0x${parsed.slot}`)) {
        return Result.fail(fail("InvalidProof", `eth_getProof answered for other storage slots than 0x${parsed.slot ?? ""}`))
      }
      const text = JSON.stringify(json)
      const proof = bytesToHex(new TextEncoder().encode(text))
      if (proof.length > 2 * MAX_PROOF_BYTES) return Result.fail(fail("InvalidProof", `the proof is ${proof.length / 2} bytes, more than a message carries`))
      return Result.succeed({
        chain,
        height: header.height,
        headerHash: header.hash,
        kind: "eip1186",
        key: keyHex(parsed),
        value: parsed.slot === undefined ? accountValue(p) : wordValue(p),
        proof
      })
    }
    return yield* pool.proof(`0x${parsed.address}`, slots, header.hash, check)
  })

  const prove = (height: number, key: string) =>
    Effect.flatMap(pool.header(height), (header) => proveAt(header, key))

  const follow = followFrom(undefined)

  const watch = (key: string): Stream.Stream<StateProof, ChainObserverError> =>
    Stream.suspend(() => {
      let last: string | undefined
      return follow.pipe(
        Stream.mapEffect((event) => {
          if (event._tag === "Reorg") last = undefined // the value above the fork may be void
          return event._tag === "Head" ? proveAt(event.header, key) : Effect.succeed(undefined)
        }),
        Stream.filter((p): p is StateProof => {
          if (p === undefined || p.value === last) return false
          last = p.value
          return true
        })
      )
    })

  const submitTransaction = (raw: string) => {
    const bytes = EvmRpcPool.bytesOfHex(raw)
    return bytes === undefined || bytes.length === 0
      ? Effect.fail(fail("Rejected", "the transaction is not hex"))
      : pool.sendRawTransaction(bytes)
  }

  return {
    chain,
    kind: "evm",
    tips,
    follow,
    followFrom: (cursor) => followFrom(cursor),
    prove,
    watch,
    blockReceipts: pool.blockReceipts,
    blockObservations: pool.blockObservations,
    submitTransaction,
    rpcHead: Effect.sync(() => claimed)
  }
}
