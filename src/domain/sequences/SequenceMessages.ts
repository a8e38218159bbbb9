/**
 * Execution sequences (issue #15, docs/proofs.md): a DAG of nodes that
 * registered operators claim and run, coordinated through the log.
 *
 * - `ExecutionSequenceAnnounced {sequenceId, nodes: [{id, deps, spec}], leaseMs?, maxAttempts?}`
 *   by an operator: node ids unique, every dependency a node of the sequence, no cycle
 *   (`dagProblem`), refused at ingest otherwise.
 * - `NodeClaimed {sequenceId, nodeId}` by an operator: the first valid claim in log order wins.
 * - `NodeResultSubmitted {sequenceId, nodeId, claimId, result | error, proof?}` by the claimant:
 *   `result` (a JSON value) or `error` (the claimant gives up); a result naming a proof counts
 *   once the authority verified that proof and its public inputs bind the result
 *   (src/domain/proofs/ProofBinding.ts).
 * - Decisions of the authority (the leader): `NodeLeaseExpired {sequenceId, nodeId, claimId}`
 *   when a claim's lease ran out without a result that counts, `ExecutionSequenceCompleted
 *   {sequenceId}` once every node completed, `ExecutionSequenceFailed {sequenceId, nodeId,
 *   reason}` once a node used up its attempts.
 */
import { Schema } from "effect"
import { MessageId, Name, PositiveInt } from "../Primitives.ts"

/** Most nodes one sequence holds. */
export const MAX_NODES = 256
/** Most dependencies one node names. */
export const MAX_DEPS_PER_NODE = 32
/** The lease of a claim when the announcement names none (ms). */
export const DEFAULT_LEASE_MS = 30_000
/** The longest lease an announcement may ask for (ms): one hour. */
export const MAX_LEASE_MS = 3_600_000
/** Attempts (claims) a node gets when the announcement names no limit. */
export const DEFAULT_MAX_ATTEMPTS = 3
/** The most attempts an announcement may give a node. */
export const MAX_ATTEMPTS = 16

/** A sequence's name, or a node's. */
export const SequenceId = Name.annotate({ description: "a sequence's name: 1 to 64 printable ASCII characters" })
export const NodeId = Name.annotate({ description: "a node's name within its sequence: 1 to 64 printable ASCII characters" })

/** A node of the DAG: what to run (`spec`, any JSON) once its dependencies completed. */
export const SequenceNode = Schema.Struct({
  id: NodeId,
  deps: Schema.Array(NodeId).check(Schema.isMaxLength(MAX_DEPS_PER_NODE)),
  spec: Schema.Unknown
})
export type SequenceNode = typeof SequenceNode.Type

/**
 * Why a list of nodes is not a DAG (a node named twice, a dependency named twice or on a node
 * that is not in the list, a cycle), or undefined when it is one.
 */
export const dagProblem = (nodes: ReadonlyArray<{ readonly id: string; readonly deps: ReadonlyArray<string> }>): string | undefined => {
  const ids = new Set<string>()
  for (const n of nodes) {
    if (ids.has(n.id)) return `node ${n.id} is named twice`
    ids.add(n.id)
  }
  for (const n of nodes) {
    if (new Set(n.deps).size !== n.deps.length) return `node ${n.id} names a dependency twice`
    for (const d of n.deps) if (!ids.has(d)) return `node ${n.id} depends on ${d}, which is not a node of the sequence`
  }
  // Kahn's algorithm: whatever is never freed lies on a cycle or behind one.
  const indegree = new Map(nodes.map((n) => [n.id, n.deps.length]))
  const dependents = new Map<string, Array<string>>()
  for (const n of nodes) for (const d of n.deps) dependents.set(d, [...(dependents.get(d) ?? []), n.id])
  const ready = nodes.filter((n) => n.deps.length === 0).map((n) => n.id)
  let freed = 0
  while (ready.length > 0) {
    const id = ready.pop() as string
    freed++
    for (const m of dependents.get(id) ?? []) {
      const left = (indegree.get(m) ?? 0) - 1
      indegree.set(m, left)
      if (left === 0) ready.push(m)
    }
  }
  if (freed === nodes.length) return undefined
  const stuck = nodes.filter((n) => (indegree.get(n.id) ?? 0) > 0).map((n) => n.id).sort()
  return `the dependencies form a cycle through ${stuck.slice(0, 8).join(", ")}${stuck.length > 8 ? ", …" : ""}`
}

/** A sequence announced. */
export const ExecutionSequenceAnnounced = Schema.Struct({
  sequenceId: SequenceId,
  nodes: Schema.Array(SequenceNode).check(
    Schema.isMinLength(1),
    Schema.isMaxLength(MAX_NODES),
    Schema.makeFilter((nodes) => dagProblem(nodes) ?? true)
  ),
  leaseMs: Schema.optionalKey(PositiveInt.check(Schema.isLessThanOrEqualTo(MAX_LEASE_MS))),
  maxAttempts: Schema.optionalKey(PositiveInt.check(Schema.isLessThanOrEqualTo(MAX_ATTEMPTS)))
})
export type ExecutionSequenceAnnounced = typeof ExecutionSequenceAnnounced.Type

/** An operator claims a node. */
export const NodeClaimed = Schema.Struct({ sequenceId: SequenceId, nodeId: NodeId })

/** The claimant's result (or its error) for the node it claimed. */
export const NodeResultSubmitted = Schema.Struct({
  sequenceId: SequenceId,
  nodeId: NodeId,
  claimId: MessageId,
  result: Schema.optionalKey(Schema.Unknown),
  error: Schema.optionalKey(Schema.String.check(Schema.isMinLength(1), Schema.isMaxLength(500))),
  proof: Schema.optionalKey(MessageId)
}).check(Schema.makeFilter((r) =>
  !Object.hasOwn(r, "result") && r.error === undefined
    ? "a result carries either result or error"
    : Object.hasOwn(r, "result") && r.error !== undefined
    ? "a result carries either result or error, not both"
    : r.error !== undefined && r.proof !== undefined
    ? "an error carries no proof"
    : true
))
export type NodeResultSubmitted = typeof NodeResultSubmitted.Type

/** The authority: a claim's lease ran out without a result that counts. */
export const NodeLeaseExpired = Schema.Struct({ sequenceId: SequenceId, nodeId: NodeId, claimId: MessageId })

/** The authority: every node of the sequence completed. */
export const ExecutionSequenceCompleted = Schema.Struct({ sequenceId: SequenceId })

/** The authority: a node used up its attempts. */
export const ExecutionSequenceFailed = Schema.Struct({
  sequenceId: SequenceId,
  nodeId: NodeId,
  reason: Schema.String.check(Schema.isMaxLength(1000))
})

/** The sequences' payload schemas, by message type. */
export const SequencePayloads = {
  ExecutionSequenceAnnounced,
  NodeClaimed,
  NodeResultSubmitted,
  NodeLeaseExpired,
  ExecutionSequenceCompleted,
  ExecutionSequenceFailed
} as const
