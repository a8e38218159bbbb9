/**
 * The JSON-RPC endpoints of one EVM chain, through viem's HTTP transport, and the rules
 * that let causeway trust none of them:
 * - every header is checked by recomputing its hash (src/domain/chain/EvmHeader.ts);
 * - a header asked for by number or tag must be the same header at every endpoint (quorum):
 *   for a tag, the endpoints' lowest answer is fetched from all of them and compared;
 * - a header asked for by hash is self-certifying (its recomputed hash is the one asked
 *   for), so the first endpoint that answers with it is enough;
 * - a proof is accepted from the first endpoint whose proof the caller's check accepts;
 * - a block's receipts are accepted from the first endpoint whose header hashes to the block
 *   hash asked for and whose receipts rebuild that header's receipts root; a block whose
 *   receipts hold a log a watch may match is asked for with its transactions
 *   (eth_getBlockByHash(hash, true), which every node serves), re-encoded and checked against
 *   its transactions root, so its effects are aliased by their proven transaction hashes;
 * - a raw transaction goes to every endpoint, and its hash is computed here.
 */
import { keccak_256 } from "@noble/hashes/sha3.js"
import { bytesToHex, hexToBytes } from "@noble/hashes/utils.js"
import { Effect, Result } from "effect"
import { BaseError, createPublicClient, http } from "viem"
import { checkBlockReceipts } from "../../domain/chain/EvmBlockReceipts.ts"
import type { EffectWatch } from "../../domain/effects/EffectShapes.ts"
import { type BlockObservations, receiptsMayMatch } from "../../domain/effects/Observations.ts"
import { endpointLabel, scrubEndpoint } from "../rpc/EndpointLabel.ts"
import { sharedChecker } from "./BlockChecker.ts"
import { verifyEvmHeader } from "../../domain/chain/EvmHeader.ts"
import { type BlockReceipts, ChainObserverError, type VerifiedHeader } from "../../ports/ChainObserver.ts"

/** Which block to ask for: a tag or a height. */
export type BlockRef = "latest" | "safe" | "finalized" | number

/** Options of the endpoint pool. */
export interface EvmRpcPoolOptions {
  readonly chain: string
  /** One or more endpoints; with several, they must agree on every header asked by number or tag. */
  readonly urls: ReadonlyArray<string>
  /** Per-request timeout, ms (default 10 s). */
  readonly timeoutMs?: number
  /** Retries of a failed HTTP request inside viem's transport (default 1). */
  readonly retryCount?: number
}

/** The pool. */
export interface EvmRpcPool {
  readonly chain: string
  readonly urls: ReadonlyArray<string>
  /** A verified header by tag or height, agreed by every endpoint; NotFound if an endpoint has none. */
  readonly header: (block: BlockRef) => Effect.Effect<VerifiedHeader, ChainObserverError>
  /** The verified header whose hash is `hash` (0x-less hex), from the first endpoint that has it. */
  readonly headerByHash: (hash: string) => Effect.Effect<VerifiedHeader, ChainObserverError>
  /** eth_getProof at a block hash, from the first endpoint whose answer `check` accepts. */
  readonly proof: <A>(
    address: string,
    slots: ReadonlyArray<string>,
    blockHash: string,
    check: (result: unknown) => Result.Result<A, ChainObserverError>
  ) => Effect.Effect<A, ChainObserverError>
  /** A block's header RLP and receipts, checked (header hash, receipts root), from the first endpoint whose answer verifies. */
  readonly blockReceipts: (hash: string) => Effect.Effect<BlockReceipts, ChainObserverError>
  /** A block's EffectsObserved messages for the watches, its header and receipts checked on a worker thread (as `blockReceipts` checks them). */
  readonly blockObservations: (hash: string, watches: ReadonlyArray<EffectWatch>) => Effect.Effect<BlockObservations, ChainObserverError>
  /** eth_sendRawTransaction at every endpoint; the transaction's hash (computed here) once one accepted it. */
  readonly sendRawTransaction: (raw: Uint8Array) => Effect.Effect<string, ChainObserverError>
}

interface Endpoint {
  readonly url: string
  /** What errors and logs call it: scheme and host only (EndpointLabel.ts). */
  readonly label: string
  readonly request: (method: string, params: ReadonlyArray<unknown>) => Effect.Effect<unknown, ChainObserverError>
}

/** The JSON-RPC error code a viem error carries, if the node answered with an error. */
const rpcCode = (e: unknown): number | undefined => {
  if (!(e instanceof BaseError)) return undefined
  const found = e.walk((x) => typeof (x as { code?: unknown }).code === "number")
  return found === null ? undefined : (found as unknown as { code: number }).code
}

/** A library error's message, with the endpoint's URL in it replaced by its label (it may hold an API key). */
const short = (e: unknown, url: string): string =>
  scrubEndpoint(e instanceof BaseError ? e.shortMessage : e instanceof Error ? e.message : String(e), url).slice(0, 300)

/** Build the pool over viem HTTP clients. */
export const make = (options: EvmRpcPoolOptions): EvmRpcPool => {
  const { chain } = options
  if (options.urls.length === 0) throw new RangeError("an EVM observer needs at least one RPC URL")
  const fail = (reason: ChainObserverError["reason"], detail: string, cause?: unknown) =>
    new ChainObserverError({ chain, reason, detail, cause })

  const endpoints: ReadonlyArray<Endpoint> = options.urls.map((url) => {
    const client = createPublicClient({
      transport: http(url, { timeout: options.timeoutMs ?? 10_000, retryCount: options.retryCount ?? 1 })
    })
    // viem's request is typed per method; the answers are decoded with Schema by the callers.
    const send = client.request as unknown as (args: { method: string; params: ReadonlyArray<unknown> }) => Promise<unknown>
    return {
      url,
      label: endpointLabel(url),
      request: (method, params) =>
        Effect.tryPromise({
          try: () => send({ method, params }),
          // A node that answered with a JSON-RPC error is reachable: it refused or lacks the thing.
          catch: (e) =>
            rpcCode(e) === undefined
              ? fail("Unreachable", `${endpointLabel(url)} ${method}: ${short(e, url)}`, e)
              : fail(method === "eth_sendRawTransaction" ? "Rejected" : "NotFound", `${endpointLabel(url)} ${method}: ${short(e, url)}`, e)
        })
    }
  })

  const toHeader = (url: string, what: string, json: unknown): Result.Result<VerifiedHeader, ChainObserverError> => {
    if (json === null || json === undefined) return Result.fail(fail("NotFound", `${url} has no block ${what}`))
    const checked = verifyEvmHeader(json)
    if (Result.isFailure(checked)) {
      const e = checked.failure
      const detail = e._tag === "EvmHeaderHashMismatch"
        ? `${url} block ${what}: claimed hash ${e.claimed}, its fields hash to ${e.computed}`
        : `${url} block ${what}: ${e.reason}`
      return Result.fail(fail("InvalidHeader", detail, e))
    }
    return Result.succeed({ chain, ...checked.success })
  }

  const fetchHeader = (endpoint: Endpoint, block: BlockRef) =>
    endpoint.request("eth_getBlockByNumber", [typeof block === "number" ? `0x${block.toString(16)}` : block, false]).pipe(
      Effect.flatMap((json) => Effect.fromResult(toHeader(endpoint.label, String(block), json)))
    )

  const all = <A>(f: (e: Endpoint) => Effect.Effect<A, ChainObserverError>) =>
    Effect.forEach(endpoints, f, { concurrency: "unbounded" })

  const agree = (height: number, headers: ReadonlyArray<VerifiedHeader>) => {
    const hashes = new Set(headers.map((h) => h.hash))
    if (hashes.size === 1) return Effect.succeed(headers[0] as VerifiedHeader)
    const detail = endpoints.map((e, i) => `${e.label}: ${headers[i]?.hash}`).join(", ")
    return Effect.fail(fail("Disagreement", `endpoints disagree on the header at height ${height}: ${detail}`))
  }

  const header = Effect.fn("EvmRpcPool.header")(function*(block: BlockRef) {
    const first = yield* all((e) => fetchHeader(e, block))
    if (first.length === 1) return first[0] as VerifiedHeader
    if (typeof block === "number") return yield* agree(block, first)
    // Endpoints move at their own pace: compare them at the lowest height any of them reports.
    const height = Math.min(...first.map((h) => h.height))
    const atHeight = yield* Effect.forEach(endpoints, (e, i) => {
      const h = first[i] as VerifiedHeader
      return h.height === height ? Effect.succeed(h) : fetchHeader(e, height)
    }, { concurrency: "unbounded" })
    return yield* agree(height, atHeight)
  })

  const firstOf = <A>(attempt: (e: Endpoint) => Effect.Effect<A, ChainObserverError>) =>
    Effect.gen(function*() {
      const errors: Array<ChainObserverError> = []
      for (const e of endpoints) {
        const r = yield* Effect.result(attempt(e))
        if (Result.isSuccess(r)) return r.success
        errors.push(r.failure)
      }
      // The most telling failure: a bad header or proof over a missing one over silence.
      const rank = (x: ChainObserverError) => ["InvalidProof", "InvalidHeader", "NotFound"].indexOf(x.reason)
      const ranked = errors.filter((x) => rank(x) >= 0).sort((a, b) => rank(a) - rank(b))
      return yield* Effect.fail(ranked[0] ?? (errors[0] as ChainObserverError))
    })

  const headerByHash = Effect.fn("EvmRpcPool.headerByHash")(function*(hash: string) {
    return yield* firstOf((e) =>
      e.request("eth_getBlockByHash", [`0x${hash}`, false]).pipe(
        Effect.flatMap((json) => Effect.fromResult(toHeader(e.label, `0x${hash}`, json))),
        Effect.flatMap((h) =>
          h.hash === hash ? Effect.succeed(h) : Effect.fail(fail("InvalidHeader", `${e.label} answered block 0x${h.hash} when asked for 0x${hash}`))
        )
      )
    )
  })

  const proof = <A>(
    address: string,
    slots: ReadonlyArray<string>,
    blockHash: string,
    check: (result: unknown) => Result.Result<A, ChainObserverError>
  ) =>
    firstOf((e) =>
      e.request("eth_getProof", [address, slots, { blockHash: `0x${blockHash}` }]).pipe(
        Effect.flatMap((json) => Effect.fromResult(check(json)))
      )
    ).pipe(Effect.withSpan("EvmRpcPool.proof"))

  const sendRawTransaction = Effect.fn("EvmRpcPool.sendRawTransaction")(function*(raw: Uint8Array) {
    const hash = bytesToHex(keccak_256(raw))
    const results = yield* Effect.forEach(endpoints, (e) => Effect.result(e.request("eth_sendRawTransaction", [`0x${bytesToHex(raw)}`])), {
      concurrency: "unbounded"
    })
    const accepted = results.filter(Result.isSuccess)
    if (accepted.length === 0) {
      const failures = results.filter(Result.isFailure).map((r) => r.failure)
      return yield* Effect.fail(failures.find((f) => f.reason === "Rejected") ?? (failures[0] as ChainObserverError))
    }
    for (const r of accepted) {
      if (typeof r.success !== "string" || r.success.toLowerCase() !== `0x${hash}`) {
        return yield* Effect.fail(fail("Disagreement", `an endpoint answered transaction hash ${String(r.success).slice(0, 80)}, the transaction's is 0x${hash}`))
      }
    }
    return hash
  })

  const blockReceipts = Effect.fn("EvmRpcPool.blockReceipts")(function*(hash: string) {
    return yield* firstOf((e) =>
      Effect.gen(function*() {
        const header = yield* e.request("eth_getBlockByHash", [`0x${hash}`, false])
        if (header === null || header === undefined) return yield* fail("NotFound", `${e.label} has no block 0x${hash}`)
        const receipts = yield* e.request("eth_getBlockReceipts", [`0x${hash}`])
        const checked = checkBlockReceipts(hash, header, receipts)
        if (Result.isSuccess(checked)) return { chain, ...checked.success } satisfies BlockReceipts
        const f = checked.failure
        const detail = `${e.label} block 0x${hash}: ${f._tag}${"reason" in f ? `: ${f.reason}` : ""}`
        return yield* fail(f._tag === "MalformedEvmHeader" || f._tag === "BlockHashMismatch" ? "InvalidHeader" : "InvalidProof", detail, f)
      })
    )
  })

  const blockObservations = Effect.fn("EvmRpcPool.blockObservations")(function*(hash: string, watches: ReadonlyArray<EffectWatch>) {
    return yield* firstOf((e) =>
      Effect.gen(function*() {
        const receipts = yield* e.request("eth_getBlockReceipts", [`0x${hash}`])
        // Only a block with a match needs its transactions (for the transaction hashes); the check decides what counts.
        const header = yield* e.request("eth_getBlockByHash", [`0x${hash}`, receiptsMayMatch(receipts, watches)])
        if (header === null || header === undefined) return yield* fail("NotFound", `${e.label} has no block 0x${hash}`)
        const observed = yield* sharedChecker().check(chain, hash, header, receipts, watches).pipe(
          Effect.mapError((f) =>
            fail(f.tag === "MalformedEvmHeader" || f.tag === "BlockHashMismatch" ? "InvalidHeader" : f.tag === "WorkerFailed" || f.tag === "Defect" ? "Unreachable" : "InvalidProof", `${e.label} block 0x${hash}: ${f.detail}`)
          )
        )
        if (observed.transactionsRejected !== undefined) {
          yield* Effect.logWarning("EVM RPC: a block's transactions do not rebuild its transactionsRoot; its effects are tracked without transaction hashes").pipe(
            Effect.annotateLogs({ chain, url: e.label, block: hash, reason: observed.transactionsRejected })
          )
        }
        return observed
      })
    )
  })

  return { chain, urls: options.urls, header, headerByHash, proof, blockReceipts, blockObservations, sendRawTransaction }
}

/** Bytes of 0x-prefixed or bare hex; undefined when it is not hex. */
export const bytesOfHex = (text: string): Uint8Array | undefined => {
  const bare = text.startsWith("0x") ? text.slice(2) : text
  if (!/^(?:[0-9a-fA-F]{2})*$/.test(bare)) return undefined
  return hexToBytes(bare.toLowerCase())
}
