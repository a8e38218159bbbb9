/**
 * Typed payloads of every message type causeway accepts. Each type's payload is decoded
 * with excess properties refused, so the signed bytes and the decoded value are the same.
 * The mempool and chain issues deepen these payloads; a change to a payload's shape is a
 * protocol change and goes with a protocol version or a feature flag.
 */
import { type Result, Schema } from "effect"
import { AssetPayloads } from "./assets/AssetMessages.ts"
import { ChainPayloads } from "./chain/ChainMessages.ts"
import { ClusterPayloads } from "./cluster/Authority.ts"
import { EffectPayloads } from "./effects/EffectMessages.ts"
import { MempoolPayloads } from "./mempool/MempoolMessages.ts"
import { IntentBody } from "./operators/OperatorMessages.ts"
import { OperatorRegistryPayloads } from "./operators/OperatorRegistry.ts"
import { ProofPayloads } from "./proofs/ProofMessages.ts"
import { RegisterPayloads } from "./registers/RegisterMessages.ts"
import { SequencePayloads } from "./sequences/SequenceMessages.ts"
import { Blob, Hex, MessageId, Name, NonNegativeInt, PositiveInt } from "./Primitives.ts"

/** Orders live with the mempool's payloads; re-exported here for existing importers. */
export { UserOrder, UserOrderCancellation } from "./mempool/MempoolMessages.ts"

/** An operator reserves orders for a time window to compute over them (docs/operators.md). */
export const ComputationIntent = IntentBody

/** An event observed on a chain, to be acted on elsewhere. */
export const CrossChainEvent = Schema.Struct({
  sourceChain: Name,
  targetChain: Name,
  height: NonNegativeInt,
  txHash: Hex,
  logIndex: NonNegativeInt,
  data: Blob
})

/** A light-client proof of a chain fact, checked against a verified header. */
export const LightClientProof = Schema.Struct({
  chain: Name,
  height: NonNegativeInt,
  headerHash: Hex,
  kind: Schema.Literals(["eip1186", "ics23", "cometbft-commit"]),
  key: Hex,
  value: Blob,
  proof: Blob
})

/** A component's reported health. */
export const NetworkHealth = Schema.Struct({
  component: Name,
  status: Schema.Literals(["ok", "degraded", "down"]),
  latencyMs: NonNegativeInt
})

/** Payload schema of every known message type, by type name. */
export const PayloadSchemas = {
  ComputationIntent,
  CrossChainEvent,
  LightClientProof,
  NetworkHealth,
  ...ChainPayloads,
  ...EffectPayloads,
  ...MempoolPayloads,
  ...ClusterPayloads,
  ...AssetPayloads,
  ...OperatorRegistryPayloads,
  ...ProofPayloads,
  ...RegisterPayloads,
  ...SequencePayloads
} as const

/** The name of a known message type. */
export type MessageType = keyof typeof PayloadSchemas

/** A message type's payload as it is signed and sent (its schema's encoded side: plain JSON). */
export type PayloadInput<T extends MessageType> = (typeof PayloadSchemas)[T]["Encoded"]

/** A message type's payload as decoded (its schema's type side). */
export type PayloadOf<T extends MessageType> = (typeof PayloadSchemas)[T]["Type"]

const strictFirst = { onExcessProperty: "error", errors: "first" } as const
const payloadDecoders = Object.fromEntries(
  Object.entries(PayloadSchemas).map(([type, schema]) => [type, Schema.decodeUnknownResult(schema as Schema.Codec<unknown, unknown>)])
) as Record<MessageType, (u: unknown, options: typeof strictFirst) => Result.Result<unknown, Schema.SchemaError>>

/**
 * Decode a payload by its type's schema, excess properties refused, the first error
 * reported: how admission decodes a submitted message and how the folds decode a logged one.
 */
export const decodePayload = (type: MessageType, payload: unknown): Result.Result<unknown, Schema.SchemaError> =>
  payloadDecoders[type](payload, strictFirst)

/** The known message types, sorted. */
export const messageTypes: ReadonlyArray<MessageType> = Object.keys(PayloadSchemas).sort() as Array<MessageType>

/** Is this a known message type? */
export const isMessageType = (type: string): type is MessageType => Object.hasOwn(PayloadSchemas, type)
