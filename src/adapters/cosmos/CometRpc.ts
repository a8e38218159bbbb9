/**
 * A CometBFT full node's RPC through cosmjs (@cosmjs/tendermint-rpc), as the light client
 * needs it: light blocks (`/commit` for the signed header, `/validators` paginated for the
 * height's set and the next one), the latest height (`/status`), store queries
 * (`/abci_query`) and transaction broadcast (`/broadcast_tx_sync`).
 *
 * The client is picked by the node's version as cosmjs's `connectComet` does
 * (Tendermint37Client for 0.37, Comet38Client for 0.38, Comet1Client for 1.x), over an
 * HttpClient with a request timeout, and connected lazily so a node that is down at start
 * is retried on the next call. cosmjs decodes the JSON into typed values; they are turned
 * back into the CometBFT RPC JSON shape the light client verifies (src/domain/verify/
 * cometbft), losslessly: every field the header hash, validator-set hash and vote sign
 * bytes cover survives the round trip (times keep their nanoseconds).
 *
 * Nothing here is trusted: it only fetches. Every failure is a `CometRpcError`.
 */
import {
  type CometClient,
  Comet1Client,
  Comet38Client,
  HttpClient,
  Tendermint37Client,
  type comet38,
  toRfc3339WithNanoseconds
} from "@cosmjs/tendermint-rpc"
import { Data, Effect } from "effect"
import type {
  BlockIdJson,
  CommitSigJson,
  HeaderJson,
  LightBlock,
  ValidatorSetJson
} from "../../domain/verify/cometbft/LightBlock.ts"
import { endpointLabel, scrubEndpoint } from "../rpc/EndpointLabel.ts"

/** A call to the node failed (unreachable, timed out, an RPC error, or an answer cosmjs could not decode). */
export class CometRpcError extends Data.TaggedError("CometRpcError")<{
  readonly endpoint: string
  readonly method: string
  /** The node said the height is not (yet) available. */
  readonly notFound: boolean
  readonly cause: unknown
}> {}

/** An abci_query answer: the value (undefined when absent) and the proof ops. */
export interface QueryAnswer {
  readonly code: number
  readonly log: string
  readonly height: number
  readonly key: Uint8Array
  readonly value: Uint8Array
  readonly ops: ReadonlyArray<{ readonly type: string; readonly key: Uint8Array; readonly data: Uint8Array }>
}

/** What a broadcast returned. */
export interface BroadcastAnswer {
  readonly code: number
  readonly log: string
  /** Uppercase hex. */
  readonly hash: string
}

/** One node's RPC. */
export interface CometRpc {
  readonly endpoint: string
  /** The node's latest committed height. */
  readonly latestHeight: Effect.Effect<number, CometRpcError>
  /** The light block at `height`: signed header, validator set and next validator set. */
  readonly lightBlock: (height: number) => Effect.Effect<LightBlock, CometRpcError>
  /** The header at `height` (for hash-linking below a verified header). */
  readonly header: (height: number) => Effect.Effect<HeaderJson, CometRpcError>
  readonly query: (path: string, data: Uint8Array, height: number) => Effect.Effect<QueryAnswer, CometRpcError>
  readonly broadcastTxSync: (tx: Uint8Array) => Effect.Effect<BroadcastAnswer, CometRpcError>
  /** abci_query without a proof (`/store/<name>/subspace` lists; the SDK proves only `/key`). */
  readonly queryUnproven: (path: string, data: Uint8Array, height: number) => Effect.Effect<QueryAnswer, CometRpcError>
  /** tx_search: the matching transactions' heights and events, ascending, at most `perPage`. */
  readonly txSearch: (query: string, perPage: number) => Effect.Effect<ReadonlyArray<SearchedTx>, CometRpcError>
}

/** A transaction tx_search found: its height and its result's events. */
export interface SearchedTx {
  readonly height: number
  readonly events: ReadonlyArray<{ readonly type: string; readonly attributes: ReadonlyArray<{ readonly key: string; readonly value: string }> }>
}

/** Options of a connection. */
export interface CometRpcOptions {
  /** Per-request timeout, milliseconds. */
  readonly timeoutMs: number
}

const toHex = (bytes: Uint8Array): string => Buffer.from(bytes).toString("hex").toUpperCase()
const toBase64 = (bytes: Uint8Array): string => Buffer.from(bytes).toString("base64")

const blockIdJson = (id: comet38.BlockId | null): BlockIdJson =>
  id === null
    ? { hash: "", parts: { total: 0, hash: "" } }
    : { hash: toHex(id.hash), parts: { total: id.parts.total, hash: toHex(id.parts.hash) } }

/** The RPC JSON of a header cosmjs decoded. */
export const headerJson = (h: comet38.Header): HeaderJson => ({
  version: { block: String(h.version.block), app: String(h.version.app) },
  chain_id: h.chainId,
  height: String(h.height),
  time: toRfc3339WithNanoseconds(h.time),
  last_block_id: blockIdJson(h.lastBlockId),
  last_commit_hash: toHex(h.lastCommitHash),
  data_hash: toHex(h.dataHash),
  validators_hash: toHex(h.validatorsHash),
  next_validators_hash: toHex(h.nextValidatorsHash),
  consensus_hash: toHex(h.consensusHash),
  app_hash: toHex(h.appHash),
  last_results_hash: toHex(h.lastResultsHash),
  evidence_hash: toHex(h.evidenceHash),
  proposer_address: toHex(h.proposerAddress)
})

// An absent vote carries nothing (CometBFT prints the zero time and no address).
const commitSigJson = (s: comet38.Commit["signatures"][number]): CommitSigJson => ({
  block_id_flag: s.blockIdFlag,
  validator_address: s.validatorAddress === undefined ? "" : toHex(s.validatorAddress),
  timestamp: s.timestamp === undefined ? "0001-01-01T00:00:00Z" : toRfc3339WithNanoseconds(s.timestamp),
  signature: s.signature === undefined ? null : toBase64(s.signature)
})

const KEY_TYPES = { ed25519: "tendermint/PubKeyEd25519", secp256k1: "tendermint/PubKeySecp256k1" } as const

/** The RPC JSON of a validator list cosmjs decoded (all pages). */
export const validatorSetJson = (validators: ReadonlyArray<comet38.Validator>): ValidatorSetJson => ({
  validators: validators.map((v) => ({
    address: toHex(v.address),
    // A validator without a key cannot be checked: an empty key fails the verifier's parse.
    pub_key: { type: v.pubkey === undefined ? "" : KEY_TYPES[v.pubkey.algorithm], value: v.pubkey === undefined ? "" : toBase64(v.pubkey.data) },
    voting_power: v.votingPower.toString(),
    proposer_priority: String(v.proposerPriority ?? 0)
  }))
})

const notFoundMessage = /must be less than or equal to the current blockchain height|is not available|could not find|height \d+ (?:is )?(?:not|too)/i

/** Connect (lazily) to the node at `endpoint`. */
export const make = (endpoint: string, options: CometRpcOptions): CometRpc => {
  let client: CometClient | undefined
  // Errors, logs, spans and evidence name the node by scheme and host only: its URL may hold an API key.
  const label = endpointLabel(endpoint)

  const fail = (method: string) => (raw: unknown) => {
    const message = scrubEndpoint(String(raw instanceof Error ? raw.message : raw), endpoint)
    return new CometRpcError({ endpoint: label, method, notFound: notFoundMessage.test(message), cause: new Error(message) })
  }

  const connect = Effect.tryPromise({
    try: async (): Promise<CometClient> => {
      if (client !== undefined) return client
      const rpc = new HttpClient(endpoint, options.timeoutMs)
      const probe = Tendermint37Client.create(rpc)
      const version = (await probe.status()).nodeInfo.version
      client = version.startsWith("0.38.") ? Comet38Client.create(rpc) : version.startsWith("1.") ? Comet1Client.create(rpc) : probe
      return client
    },
    catch: fail("status")
  })

  const call = <A>(method: string, f: (c: CometClient) => Promise<A>): Effect.Effect<A, CometRpcError> =>
    Effect.flatMap(connect, (c) => Effect.tryPromise({ try: () => f(c), catch: fail(method) })).pipe(
      Effect.withSpan(`CometRpc.${method}`, { attributes: { endpoint: label } })
    )

  const validators = (height: number) =>
    call("validators", (c) => c.validatorsAll(height)).pipe(Effect.map((r) => validatorSetJson(r.validators)))

  return {
    endpoint: label,
    latestHeight: call("status", (c) => c.status()).pipe(Effect.map((s) => s.syncInfo.latestBlockHeight)),
    lightBlock: (height) =>
      Effect.all(
        {
          commit: call("commit", (c) => c.commit(height)),
          validatorSet: validators(height),
          nextValidatorSet: validators(height + 1)
        },
        { concurrency: 3 }
      ).pipe(
        Effect.map(({ commit, validatorSet, nextValidatorSet }) => ({
          signed_header: {
            header: headerJson(commit.header),
            commit: {
              height: String(commit.commit.height),
              round: commit.commit.round,
              block_id: blockIdJson(commit.commit.blockId),
              signatures: commit.commit.signatures.map(commitSigJson)
            }
          },
          validator_set: validatorSet,
          next_validator_set: nextValidatorSet
        }))
      ),
    header: (height) => call("commit", (c) => c.commit(height)).pipe(Effect.map((r) => headerJson(r.header))),
    query: (path, data, height) =>
      call("abci_query", (c) => c.abciQuery({ path, data, height, prove: true })).pipe(
        Effect.map((r) => ({
          code: r.code ?? 0,
          log: r.log ?? "",
          height: r.height ?? height,
          key: r.key,
          value: r.value,
          ops: r.proof?.ops ?? []
        }))
      ),
    queryUnproven: (path, data, height) =>
      call("abci_query", (c) => c.abciQuery({ path, data, height, prove: false })).pipe(
        Effect.map((r) => ({ code: r.code ?? 0, log: r.log ?? "", height: r.height ?? height, key: r.key, value: r.value, ops: [] }))
      ),
    txSearch: (query, perPage) =>
      call("tx_search", (c) => c.txSearch({ query, per_page: perPage, order_by: "asc" })).pipe(
        Effect.map((r) => r.txs.map((t) => ({ height: t.height, events: t.result.events.map((e) => ({ type: e.type, attributes: e.attributes.map((a) => ({ key: a.key, value: a.value })) })) })))
      ),
    broadcastTxSync: (tx) =>
      call("broadcast_tx_sync", (c) => c.broadcastTxSync({ tx })).pipe(
        Effect.map((r) => ({ code: r.code, log: r.log ?? "", hash: toHex(r.hash) }))
      )
  }
}
