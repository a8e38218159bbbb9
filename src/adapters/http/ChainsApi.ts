/**
 * The chains group of the HTTP contract: what the chain-state projection knows of each
 * observed chain (latest verified header, safe and finalized marks, reorg history, proven
 * values) and its recent headers. Handlers: ChainsHandlers.ts. Everything is answered from
 * the projection, never from a chain's RPC.
 */
import { Schema, SchemaTransformation } from "effect"
import { HttpApiEndpoint, HttpApiGroup, OpenApi } from "effect/http-api"

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
  height: Schema.Number
}, { httpApiStatus: 404 }) {}

// ---------------------------------------------------------------------------------------
// Inputs
// ---------------------------------------------------------------------------------------

const Height = Schema.String.check(Schema.isPattern(/^(?:0|[1-9][0-9]{0,14})$/)).pipe(
  Schema.decodeTo(Schema.Int, SchemaTransformation.numberFromString)
).annotate({ description: "a block height: a non-negative decimal integer" })

const ChainName = Schema.String.check(Schema.isMinLength(1), Schema.isMaxLength(64)).annotate({
  description: "a chain's name as configured (e.g. the --evm-chain-id)"
})

// ---------------------------------------------------------------------------------------
// Answers
// ---------------------------------------------------------------------------------------

/** A height and its header's hash (lowercase hex, no 0x). */
export const PointView = Schema.Struct({ height: Schema.Number, hash: Schema.String }).annotate({ identifier: "ChainPoint" })

/** A verified header as held, with the id of the message that announced it. */
export const HeaderView = Schema.Struct({
  height: Schema.Number,
  hash: Schema.String,
  parentHash: Schema.String,
  stateRoot: Schema.String,
  time: Schema.Number.annotate({ description: "block time, Unix ms" }),
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
  forkHeight: Schema.Number,
  forkHash: Schema.String,
  oldHead: PointView,
  newHead: PointView,
  depth: Schema.Number,
  finalityViolated: Schema.Boolean,
  messageId: Schema.String
}).annotate({ identifier: "ChainReorg" })

/** The latest proven value of a key. */
export const ProvenValueView = Schema.Struct({
  key: Schema.String,
  height: Schema.Number,
  headerHash: Schema.String,
  kind: Schema.String,
  value: Schema.String.annotate({ description: "hex; empty for a proven absence" }),
  messageId: Schema.String.annotate({ description: "the LightClientProof message carrying the proof" })
}).annotate({ identifier: "ChainProvenValue" })

/** A misbehaviour report: two valid headers for one height (the message holds both headers). */
export const MisbehaviourView = Schema.Struct({
  height: Schema.Number,
  commonHeight: Schema.Number,
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
  reorgCount: Schema.Number
}).annotate({ identifier: "ChainSummary" })
export type ChainSummary = typeof ChainSummary.Type

/** One chain in full. */
export const ChainView = Schema.Struct({
  chain: Schema.String,
  kind: Schema.Literals(["evm", "cosmos"]),
  latest: Schema.NullOr(PointView),
  latestHeader: Schema.NullOr(HeaderView),
  safe: Schema.NullOr(PointView),
  finalized: Schema.NullOr(PointView),
  headers: Schema.NullOr(Schema.Struct({ from: Schema.Number, to: Schema.Number, count: Schema.Number })),
  reorgCount: Schema.Number,
  reorgs: Schema.Array(ReorgView),
  proven: Schema.Array(ProvenValueView),
  misbehaviours: Schema.Array(MisbehaviourView),
  ignored: Schema.Number.annotate({ description: "the instance's messages about this chain that did not fit what was known" }),
  offset: Schema.Number.annotate({ description: "log records folded into this answer" })
}).annotate({ identifier: "Chain" })
export type ChainView = typeof ChainView.Type

// ---------------------------------------------------------------------------------------
// Endpoints
// ---------------------------------------------------------------------------------------

/** Observed chains. */
export const ChainsGroup = HttpApiGroup.make("chains").add(
  HttpApiEndpoint.get("list", "/v1/chains", { success: Schema.Array(ChainSummary) }).annotate(
    OpenApi.Description,
    "Every observed chain with its latest verified header and its safe and finalized marks, sorted by name."
  ),
  HttpApiEndpoint.get("chain", "/v1/chains/:chain", {
    params: { chain: ChainName },
    success: ChainView,
    error: [UnknownChain]
  }).annotate(OpenApi.Description, "One chain: latest verified header, safe and finalized marks, reorg history (last 64) and the latest proven value of each key."),
  HttpApiEndpoint.get("header", "/v1/chains/:chain/headers/:height", {
    params: { chain: ChainName, height: Height },
    success: HeaderAtView,
    error: [UnknownChain, HeaderNotFound]
  }).annotate(OpenApi.Description, "The verified header at a height of the chain as now known (the last 1,024 heights are kept).")
)
