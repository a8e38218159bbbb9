/**
 * The chains group of the HTTP contract: what the chain-state projection knows of each
 * observed chain (latest verified header, safe and finalized marks, reorg history, proven
 * values) and its recent headers. Handlers: ChainsHandlers.ts. Those reads are answered
 * from the projection, never from a chain's RPC.
 *
 * Actions go through the chain feed to the chain's observer: prove a key (the proof is
 * checked against a verified header the log holds and published as a LightClientProof),
 * watch a key (a ChainWatchAdded / ChainWatchRemoved decision in the log), submit a signed
 * raw transaction. A chain RPC that answers something that does not verify is a 502, one
 * that does not answer a 503.
 */
import { Schema, SchemaTransformation } from "effect"
import { HttpApiEndpoint, HttpApiGroup, OpenApi } from "effect/http-api"
import { NeedsChainsScope, DecodesInput, NeedsLog, ReadsJsonBody } from "./EdgeApi.ts"

// ---------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------

/** No chain of that name was ever announced in the log. */
export class UnknownChain extends Schema.TaggedError<UnknownChain>()("UnknownChain", {
  reason: Schema.String,
  chain: Schema.String
}, { httpApiStatus: 404 }) {}

/** No header is held at that height (above the head, below the kept window, or skipped). */
export class HeaderNotFound extends Schema.TaggedError<HeaderNotFound>()("HeaderNotFound", {
  reason: Schema.String,
  chain: Schema.String,
  height: Schema.Finite
}, { httpApiStatus: 404 }) {}

/** No proven value of that key is held, in memory or on disk. */
export class ProvenValueNotFound extends Schema.TaggedError<ProvenValueNotFound>()("ProvenValueNotFound", {
  reason: Schema.String,
  chain: Schema.String,
  key: Schema.String
}, { httpApiStatus: 404 }) {}

/** The state key is not of the chain's key format. */
export class InvalidStateKey extends Schema.TaggedError<InvalidStateKey>()("InvalidStateKey", {
  reason: Schema.String,
  chain: Schema.String,
  key: Schema.String
}, { httpApiStatus: 400 }) {}

/** No such state at that height on the chain (the node has no block or no state there). */
export class StateNotFound extends Schema.TaggedError<StateNotFound>()("StateNotFound", {
  reason: Schema.String,
  chain: Schema.String
}, { httpApiStatus: 404 }) {}

/** The chain's header at that height is not the one the log holds: the chain reorganised. */
export class HeaderChanged extends Schema.TaggedError<HeaderChanged>()("HeaderChanged", {
  reason: Schema.String,
  chain: Schema.String,
  height: Schema.Finite
}, { httpApiStatus: 409 }) {}

/** The chain's RPC answered something that does not verify (a proof, a header) or its endpoints disagree; nothing was published. */
export class ChainAnswerInvalid extends Schema.TaggedError<ChainAnswerInvalid>()("ChainAnswerInvalid", {
  reason: Schema.String,
  chain: Schema.String,
  failure: Schema.Literals(["InvalidProof", "InvalidHeader", "Disagreement"])
}, { httpApiStatus: 502 }) {}

/** No endpoint of the chain answered; retrying later may succeed. */
export class ChainUnreachable extends Schema.TaggedError<ChainUnreachable>()("ChainUnreachable", {
  reason: Schema.String,
  chain: Schema.String
}, { httpApiStatus: 503 }) {}

/** The chain refused the transaction (its node's answer is in the reason). */
export class TransactionRejected extends Schema.TaggedError<TransactionRejected>()("TransactionRejected", {
  reason: Schema.String,
  chain: Schema.String
}, { httpApiStatus: 422 }) {}

/** The key is not watched on that chain. */
export class WatchNotFound extends Schema.TaggedError<WatchNotFound>()("WatchNotFound", {
  reason: Schema.String,
  chain: Schema.String,
  key: Schema.String
}, { httpApiStatus: 404 }) {}

/** The chain has as many watched keys as it may, or the token as many watches as one token may; remove one first. */
export class WatchLimitReached extends Schema.TaggedError<WatchLimitReached>()("WatchLimitReached", {
  reason: Schema.String,
  chain: Schema.String,
  limit: Schema.Finite
}, { httpApiStatus: 429 }) {}

/** The watch was configured at startup, not decided at run time: it cannot be removed over HTTP. */
export class WatchConfigured extends Schema.TaggedError<WatchConfigured>()("WatchConfigured", {
  reason: Schema.String,
  chain: Schema.String,
  key: Schema.String
}, { httpApiStatus: 409 }) {}

/** The instance could not append its message to the log; retrying later may succeed. */
export class PublishFailed extends Schema.TaggedError<PublishFailed>()("PublishFailed", {
  reason: Schema.String
}, { httpApiStatus: 503 }) {}

// ---------------------------------------------------------------------------------------
// Inputs
// ---------------------------------------------------------------------------------------

const Height = Schema.String.check(Schema.isPattern(/^(?:0|[1-9][0-9]{0,14})$/u)).pipe(
  Schema.decodeTo(Schema.Int, SchemaTransformation.numberFromString)
).annotate({ description: "a block height: a non-negative decimal integer" })

const ChainName = Schema.String.check(Schema.isMinLength(1), Schema.isMaxLength(64)).annotate({
  description: "a chain's name as configured (e.g. the --evm-chain-id)"
})

const StateKeyText = Schema.String.check(Schema.isMinLength(1), Schema.isMaxLength(2100)).annotate({
  description: "a state key: EVM an address, or an address and a 32-byte slot (`address/slot` or concatenated); Cosmos `<store>/<hex key>`; or the proven (hex) form"
})

/** Body of POST /v1/chains/{chain}/proofs. */
export const ProveRequest = Schema.Struct({
  key: StateKeyText,
  height: Schema.optionalKey(Schema.Int.check(Schema.isGreaterThanOrEqualTo(0)).annotate({
    description: "the state's height (default: the latest verified header the log holds; Cosmos: the state it commits to, one below)"
  }))
}).annotate({ identifier: "ProveRequest" })

/** Body of POST /v1/chains/{chain}/watches. */
export const WatchRequest = Schema.Struct({ key: StateKeyText }).annotate({ identifier: "WatchRequest" })

/** Body of POST /v1/chains/{chain}/transactions. */
export const TransactionRequest = Schema.Struct({
  raw: Schema.String.check(Schema.isPattern(/^(?:0[xX])?(?:[0-9a-fA-F]{2})+$/u), Schema.isMaxLength(262_146)).annotate({
    description: "the signed transaction's bytes, hex (0x optional), at most 128 KiB"
  })
}).annotate({ identifier: "TransactionRequest" })

const ProvenKey = Schema.String.check(Schema.isPattern(/^(?:[0-9a-f]{2}){1,1024}$/u)).annotate({
  description: "a key in proven form, lowercase hex (as GET …/watches lists it)"
})

// ---------------------------------------------------------------------------------------
// Answers
// ---------------------------------------------------------------------------------------

/** Where the instance's message landed in the log. */
export const LogReceipt = Schema.Struct({ id: Schema.String, offset: Schema.Finite, lamport: Schema.Finite }).annotate({ identifier: "ChainLogReceipt" })

/** A proof as published (the LightClientProof message's payload). */
export const ProofView = Schema.Struct({
  chain: Schema.String,
  height: Schema.Finite,
  headerHash: Schema.String,
  kind: Schema.Literals(["eip1186", "ics23"]),
  key: Schema.String.annotate({ description: "the key in proven form, hex" }),
  value: Schema.String.annotate({ description: "hex; empty for a proven absence" }),
  proof: Schema.String.annotate({ description: "hex: EIP-1186 eth_getProof JSON (UTF-8), or the CometBFT ProofOps bytes" })
}).annotate({ identifier: "ChainStateProof" })

/** A proof published on demand, the header it was checked against, and its receipt. */
export const PublishedProofView = Schema.Struct({
  proof: ProofView,
  header: Schema.Struct({ height: Schema.Finite, hash: Schema.String, stateRoot: Schema.String, messageId: Schema.String }),
  receipt: LogReceipt
}).annotate({ identifier: "ChainPublishedProof" })

/** A watched key. */
export const WatchView = Schema.Struct({
  key: Schema.String,
  messageId: Schema.NullOr(Schema.String).annotate({ description: "the ChainWatchAdded message; null for a watch configured at startup" }),
  owner: Schema.NullOr(Schema.String).annotate({ description: "the name of the API token that asked for it; null for a watch configured at startup or recorded without one" })
}).annotate({ identifier: "ChainWatch" })

/** The answer to POST …/watches. */
export const WatchAdded = Schema.Struct({
  chain: Schema.String,
  created: Schema.Boolean.annotate({ description: "false when the key was already watched (nothing published)" }),
  watch: WatchView,
  proof: Schema.NullOr(PublishedProofView).annotate({ description: "the proof of the value now, published with the watch" })
}).annotate({ identifier: "ChainWatchAdded" })

/** The answer to POST …/transactions. */
export const TransactionSubmitted = Schema.Struct({ chain: Schema.String, hash: Schema.String }).annotate({ identifier: "ChainTransactionSubmitted" })

const ObserverErrors = [UnknownChain, InvalidStateKey, StateNotFound, HeaderNotFound, HeaderChanged, ChainAnswerInvalid, ChainUnreachable, PublishFailed]

/** A height and its header's hash (lowercase hex, no 0x). */
export const PointView = Schema.Struct({ height: Schema.Finite, hash: Schema.String }).annotate({ identifier: "ChainPoint" })

/** A verified header as held, with the id of the message that announced it. */
export const HeaderView = Schema.Struct({
  height: Schema.Finite,
  hash: Schema.String,
  parentHash: Schema.String,
  stateRoot: Schema.String,
  time: Schema.Finite.annotate({ description: "block time, Unix ms" }),
  messageId: Schema.String
}).annotate({ identifier: "ChainHeader" })
export type HeaderView = typeof HeaderView.Type

/** A header and where it stands against the chain's marks. */
export const HeaderAtView = Schema.Struct({
  chain: Schema.String,
  header: HeaderView,
  safe: Schema.Boolean,
  finalized: Schema.Boolean
}).annotate({ identifier: "ChainHeaderAt" })

/** A reorg: the fork point, the old and new heads, how many headers were dropped. */
export const ReorgView = Schema.Struct({
  forkHeight: Schema.Finite,
  forkHash: Schema.String,
  oldHead: PointView,
  newHead: PointView,
  depth: Schema.Finite,
  finalityViolated: Schema.Boolean,
  messageId: Schema.String
}).annotate({ identifier: "ChainReorg" })

/** The latest proven value of a key. */
export const ProvenValueView = Schema.Struct({
  key: Schema.String,
  height: Schema.Finite,
  headerHash: Schema.String,
  kind: Schema.String,
  value: Schema.String.annotate({ description: "hex; empty for a proven absence" }),
  messageId: Schema.String.annotate({ description: "the LightClientProof message carrying the proof" })
}).annotate({ identifier: "ChainProvenValue" })

/** A key's proven values, oldest first: from memory, or from disk once retention dropped them. */
export const ProvenHistoryView = Schema.Struct({
  chain: Schema.String,
  key: Schema.String,
  proven: Schema.Array(ProvenValueView).annotate({ description: "the key's last proven values (at most 8), oldest first" }),
  archived: Schema.Boolean.annotate({
    description: "true when the values come from disk: the header the newest was proven against left the kept window (1,024 heights), so the key left memory; a watched key is proven again at the next head"
  }),
  offset: Schema.Finite
}).annotate({ identifier: "ChainProvenHistory" })

/** A misbehaviour report: two valid headers for one height (the message holds both headers). */
export const MisbehaviourView = Schema.Struct({
  height: Schema.Finite,
  commonHeight: Schema.Finite,
  commonHash: Schema.String,
  primaryHash: Schema.String,
  witnessHash: Schema.String,
  messageId: Schema.String
}).annotate({ identifier: "ChainMisbehaviour" })

/** One chain in the list. */
export const ChainSummary = Schema.Struct({
  chain: Schema.String,
  kind: Schema.Literals(["evm", "cosmos"]),
  latest: Schema.NullOr(PointView),
  safe: Schema.NullOr(PointView),
  finalized: Schema.NullOr(PointView),
  reorgCount: Schema.Finite
}).annotate({ identifier: "ChainSummary" })
export type ChainSummary = typeof ChainSummary.Type

/** What the chain's RPC last claimed as its head: service state, unverified. */
export const RpcHeadView = Schema.Struct({
  height: Schema.Finite.annotate({ description: "the height the chain's RPC endpoint last answered as its latest block" }),
  at: Schema.Finite.annotate({ description: "when it answered, Unix ms" })
}).annotate({
  identifier: "ChainRpcHead",
  description: "the RPC's claim, not verified and not in the log (this instance's observer state; a replay does not reproduce it): how far the verified head trails it is the observer's lag"
})

/** One chain in full. */
export const ChainView = Schema.Struct({
  chain: Schema.String,
  kind: Schema.Literals(["evm", "cosmos"]),
  latest: Schema.NullOr(PointView),
  latestHeader: Schema.NullOr(HeaderView),
  safe: Schema.NullOr(PointView),
  finalized: Schema.NullOr(PointView),
  headers: Schema.NullOr(Schema.Struct({ from: Schema.Finite, to: Schema.Finite, count: Schema.Finite })),
  reorgCount: Schema.Finite,
  reorgs: Schema.Array(ReorgView),
  proven: Schema.Array(ProvenValueView),
  misbehaviours: Schema.Array(MisbehaviourView),
  ignored: Schema.Finite.annotate({ description: "the instance's messages about this chain that did not fit what was known" }),
  offset: Schema.Finite.annotate({ description: "log records folded into this answer" }),
  rpcHead: Schema.NullOr(RpcHeadView).annotate({
    description: "the latest height the chain's RPC last claimed to this instance's observer, unverified; null when this instance has not asked (it does not observe the chain, or another cluster member does)"
  })
}).annotate({ identifier: "Chain" })
export type ChainView = typeof ChainView.Type

// ---------------------------------------------------------------------------------------
// Endpoints
// ---------------------------------------------------------------------------------------

/** Observed chains. */
export const ChainsGroup = HttpApiGroup.make("chains")
  .add(
    HttpApiEndpoint.get("list", "/v1/chains", { success: Schema.Array(ChainSummary) })
      .annotate(OpenApi.Identifier, "listChains")
      .annotate(OpenApi.Summary, "List the observed chains")
      .annotate(OpenApi.Description, "Every chain this deployment observes, sorted by name, with its latest verified header and its safe and finalized marks and how many reorgs it saw. Answered from the chain-state projection, never from a chain's RPC."),
    HttpApiEndpoint.get("chain", "/v1/chains/:chain", {
      params: { chain: ChainName },
      success: ChainView,
      error: [UnknownChain]
    })
      .middleware(DecodesInput)
      .annotate(OpenApi.Identifier, "getChain")
      .annotate(OpenApi.Summary, "One observed chain in full")
      .annotate(OpenApi.Description, "One chain: its latest verified header, safe and finalized marks, the range of headers held, reorg history (last 64), misbehaviour reports, and the latest proven value of each key. Answered from the chain-state projection; only `rpcHead` (what the chain's RPC last claimed as its head, unverified, to show how far the verified head trails it) is this instance's observer state instead."),
    HttpApiEndpoint.get("header", "/v1/chains/:chain/headers/:height", {
      params: { chain: ChainName, height: Height },
      success: HeaderAtView,
      error: [UnknownChain, HeaderNotFound]
    })
      .middleware(DecodesInput)
      .annotate(OpenApi.Identifier, "getChainHeader")
      .annotate(OpenApi.Summary, "The verified header at a height")
      .annotate(OpenApi.Description, "The verified header at a height of the chain as now known, and whether it is safe and finalized. The last 1,024 heights are kept: 404 HeaderNotFound above the head, below the window, or at a height skipped."),
    // The key is a query parameter, as for DELETE …/watches.
    HttpApiEndpoint.get("proven", "/v1/chains/:chain/proven", {
      params: { chain: ChainName },
      query: { key: ProvenKey },
      success: ProvenHistoryView,
      error: [UnknownChain, ProvenValueNotFound]
    })
      .middleware(DecodesInput)
      .annotate(OpenApi.Identifier, "getChainProvenValue")
      .annotate(OpenApi.Summary, "A key's proven values")
      .annotate(OpenApi.Description, "The last proven values of a key (`?key=`, in proven form), oldest first, each with the LightClientProof message that carries its proof. Answered from the chain-state projection, or, once the header the newest value was proven against left the kept window and the key left memory (retention), from disk as it was last (`archived`). 404 ProvenValueNotFound when the key was never proven on that chain."),
    HttpApiEndpoint.post("prove", "/v1/chains/:chain/proofs", {
      params: { chain: ChainName },
      payload: ProveRequest,
      success: PublishedProofView,
      error: ObserverErrors
    })
      .middleware(DecodesInput)
      .middleware(ReadsJsonBody)
      .middleware(NeedsChainsScope)
      .annotate(OpenApi.Identifier, "proveChainState")
      .annotate(OpenApi.Summary, "Prove a state key and publish the proof")
      .annotate(
        OpenApi.Description,
        "Prove a state key at a height (default: the latest verified header the log holds) against the verified header the log holds there, and publish the proof as a LightClientProof in the log. 502 when the chain's answer does not verify (nothing is published), 503 when no endpoint answers or the log cannot take the message, 409 when the chain's header there is no longer the one the log holds."
      ),
    HttpApiEndpoint.get("watches", "/v1/chains/:chain/watches", {
      params: { chain: ChainName },
      success: Schema.Struct({ chain: Schema.String, watches: Schema.Array(WatchView) }).annotate({ identifier: "ChainWatches" }),
      error: [UnknownChain]
    })
      .middleware(DecodesInput)
      .annotate(OpenApi.Identifier, "listChainWatches")
      .annotate(OpenApi.Summary, "List the watched keys of a chain")
      .annotate(OpenApi.Description, "The keys the instance watches on the chain: at every new head where a watched value changed, a LightClientProof of the new value is published in the log. Keys are in proven form (what DELETE takes)."),
    HttpApiEndpoint.post("watch", "/v1/chains/:chain/watches", {
      params: { chain: ChainName },
      payload: WatchRequest,
      success: WatchAdded,
      error: [...ObserverErrors, WatchLimitReached]
    })
      .middleware(DecodesInput)
      .middleware(ReadsJsonBody)
      .middleware(NeedsChainsScope)
      .annotate(OpenApi.Identifier, "watchChainKey")
      .annotate(OpenApi.Summary, "Watch a state key")
      .annotate(OpenApi.Description, "Watch a key: its value now is proven and published, then the decision (ChainWatchAdded) is recorded in the log; from then on every change is proven and published. `created` is false when the key was already watched (nothing is published). At most 256 keys are watched per chain, and one token owns at most 64 watches on all chains together (the server's setting): 429 WatchLimitReached beyond, before anything is proven. The watch records the token's name as its `owner`. Errors as for proving."),
    // The key is a query parameter: a proven key (up to 1,024 bytes as hex) exceeds the router's 256-character path parameters.
    HttpApiEndpoint.delete("unwatch", "/v1/chains/:chain/watches", {
      params: { chain: ChainName },
      query: { key: ProvenKey },
      success: Schema.Struct({ chain: Schema.String, key: Schema.String, receipt: LogReceipt }).annotate({ identifier: "ChainWatchRemoved" }),
      error: [UnknownChain, WatchNotFound, WatchConfigured, PublishFailed]
    })
      .middleware(DecodesInput)
      .middleware(NeedsChainsScope)
      .annotate(OpenApi.Identifier, "unwatchChainKey")
      .annotate(OpenApi.Summary, "Stop watching a state key")
      .annotate(OpenApi.Description, "Stop watching a key (`?key=`, in proven form as GET …/watches lists it): the decision (ChainWatchRemoved) is recorded in the log. 409 WatchConfigured for a watch set by the service's configuration, which only a restart without it removes."),
    HttpApiEndpoint.post("transaction", "/v1/chains/:chain/transactions", {
      params: { chain: ChainName },
      payload: TransactionRequest,
      success: TransactionSubmitted,
      error: [UnknownChain, TransactionRejected, ChainAnswerInvalid, ChainUnreachable, StateNotFound]
    })
      .middleware(DecodesInput)
      .middleware(ReadsJsonBody)
      .middleware(NeedsChainsScope)
      .annotate(OpenApi.Identifier, "submitChainTransaction")
      .annotate(OpenApi.Summary, "Submit a signed raw transaction to a chain")
      .annotate(OpenApi.Description, "Send a signed raw transaction to the chain's endpoints and answer its hash (computed locally for EVM chains). 422 when the chain's node refuses it (its answer is in the reason), 503 when no endpoint answers. Nothing is recorded in the log.")
  )
  .middleware(NeedsLog)
  .annotate(OpenApi.Description, "The chains this deployment observes through light clients: verified headers, finality marks, reorgs and proven state, read from the chain-state projection; and actions through the chain's observer: prove a key, watch a key, submit a transaction.")
