/**
 * Who may decide, at each point of the log (docs/adr/0002-cluster-authority.md).
 *
 * Some events are decisions of the deployment, not of a sender: seals, expiries, decryptions,
 * settlement verdicts, chain observations. Anyone can sign an event of those types; a
 * projection heeds one only when its signer holds the right at that event's place in the log.
 *
 * - **One instance** (no cluster admin): the right is the instance key's, always.
 * - **A cluster** (a cluster admin named by configuration): the admin's latest
 *   `ClusterMembersSet` names the members; a member's `LeaderTermClaimed` of the term after
 *   the current one makes it the leader (the first claim of a term in log order wins; any
 *   other claim of it, or of another term, is ignored). Leader decisions count only from the
 *   leader of the term current at that point of the log, so a deposed leader's late decision
 *   is ignored identically by every instance and every replay. A set that drops the leader
 *   leaves the cluster without one until a member claims the next term.
 *
 * `evolveAuthority` is a pure fold over the records of the two cluster types; every
 * projection that heeds decisions folds it beside its own state.
 */
import { Result, Schema } from "effect"
import { sha256 } from "@noble/hashes/sha2.js"
import { bytesToHex } from "@noble/hashes/utils.js"
import { Name, PositiveInt } from "../Primitives.ts"

/** Most members one set may name. */
export const MAX_MEMBERS = 64

/** An ed25519 public key, lowercase hex. */
export const MemberKey = Schema.String.check(Schema.isPattern(/^[0-9a-f]{64}$/u))

/** The cluster admin names the members (replacing any earlier set). */
export const ClusterMembersSet = Schema.Struct({
  members: Schema.Array(MemberKey).check(Schema.isMinLength(1), Schema.isMaxLength(MAX_MEMBERS))
})

/** A member claims the leadership for `term` (the current term + 1). */
export const LeaderTermClaimed = Schema.Struct({ term: PositiveInt })

/** Most chains one assignment may name. */
export const MAX_CHAINS = 64

/**
 * The leader assigns each configured chain to one live member by rendezvous hashing
 * (`hrwOwner`); `chains` is the leader's configured list, which every member must share.
 */
export const ChainOwnersAssigned = Schema.Struct({
  chains: Schema.Array(Name).check(Schema.isMaxLength(MAX_CHAINS)),
  live: Schema.Array(MemberKey).check(Schema.isMaxLength(MAX_MEMBERS)),
  owners: Schema.Array(Schema.Struct({ chain: Name, owner: MemberKey })).check(Schema.isMaxLength(MAX_CHAINS))
})

/** Payload schemas of the cluster's message types. */
export const ClusterPayloads = { ClusterMembersSet, LeaderTermClaimed, ChainOwnersAssigned } as const

/** The cluster's message types. */
export type ClusterMessageType = keyof typeof ClusterPayloads

/** The cluster's message types, as a set. */
export const clusterTypes: ReadonlySet<ClusterMessageType> = new Set(Object.keys(ClusterPayloads) as Array<ClusterMessageType>)

/** Is this one of the cluster's message types? */
export const isClusterType = (type: string): type is ClusterMessageType =>
  type === "ClusterMembersSet" || type === "LeaderTermClaimed" || type === "ChainOwnersAssigned"

/** Who decides in a deployment: fixed for its whole log (configuration, not events). */
export interface AuthorityConfig {
  /** The instance's public key: the authority of a deployment of one. */
  readonly instanceKey: string
  /** The cluster admin's ed25519 public key (hex): when set, the deployment is a cluster. */
  readonly clusterAdmin?: string | undefined
}

/** Where the right to decide stands after some prefix of the log. */
export type AuthorityState = {
  /** The cluster admin (null: a deployment of one). */
  readonly admin: string | null
  /** The deciding instance of a deployment of one (null in a cluster). */
  readonly instance: string | null
  /** Authorized members, sorted (empty before the admin's first set). */
  readonly members: ReadonlyArray<string>
  /** Offset of the set in force. */
  readonly membersAt: number | null
  /** The current term (0: none claimed yet). */
  readonly term: number
  /** The current term's leader, if it is still a member. */
  readonly leader: string | null
  /** Offset of the current term's claim. */
  readonly termAt: number | null
  /**
   * Who led from which offset on, oldest first (the latest MAX_HISTORY changes): a term's
   * claim, or a set that dropped the leader (leader null from there).
   */
  readonly history: ReadonlyArray<LeaderSpan>
  /** The chains the cluster observes (the latest assignment's), sorted. */
  readonly chains: ReadonlyArray<string>
  /** Each assigned chain's owner (sorted by chain): only it may author that chain's observations (an unassigned chain: nobody). */
  readonly owners: ReadonlyArray<ChainOwner>
  /** Offset of the assignment in force. */
  readonly ownersAt: number | null
}

/** A chain and the member that observes it. */
export type ChainOwner = {
  readonly chain: string
  readonly owner: string
}

/** From `from` on (until the next span), `leader` led in `term`. */
export type LeaderSpan = {
  readonly term: number
  readonly leader: string | null
  readonly from: number
}

/** How many leader changes the state remembers. */
export const MAX_HISTORY = 256

/** The state before any record. */
export const initialAuthority = (config: AuthorityConfig): AuthorityState =>
  config.clusterAdmin === undefined
    ? { admin: null, instance: config.instanceKey, members: [], membersAt: null, term: 0, leader: null, termAt: null, history: [], chains: [], owners: [], ownersAt: null }
    : { admin: config.clusterAdmin, instance: null, members: [], membersAt: null, term: 0, leader: null, termAt: null, history: [], chains: [], owners: [], ownersAt: null }

/** Does the state belong to this configuration (a snapshot folded under another is not reused)? */
export const matchesConfig = (s: AuthorityState, config: AuthorityConfig): boolean =>
  config.clusterAdmin === undefined ? s.admin === null && s.instance === config.instanceKey : s.admin === config.clusterAdmin && s.instance === null

/** Who may author a decision type: the leader, the owner of the chain it is about, any member. */
export type DecisionRole = "leader" | "chain" | "member"

const roles: ReadonlyMap<string, DecisionRole> = new Map<string, DecisionRole>([
  ["BatchSealed", "leader"],
  ["CommitmentExpired", "leader"],
  ["OrderExpired", "leader"],
  ["BatchDecrypted", "leader"],
  ["RswModulusVerified", "leader"],
  ["OrdersMatched", "leader"],
  ["OrderFilled", "leader"],
  ["MatchRefused", "leader"],
  ["FillRefused", "leader"],
  ["ChainHeadVerified", "chain"],
  ["ChainReorged", "chain"],
  ["ChainFinalized", "chain"],
  ["ChainSafe", "chain"],
  ["ChainMisbehaviourDetected", "chain"],
  // A watch is an operator's request that any member can take over HTTP.
  ["ChainWatchAdded", "member"],
  ["ChainWatchRemoved", "member"],
  ["EffectsObserved", "chain"],
  ["IbcPacketEvidence", "chain"],
  ["IbcPacketEvidenceV2", "chain"],
  ["EffectWatchAdded", "member"],
  ["EffectWatchRemoved", "member"],
  // The asset registry is the deployment's word: the leader's (src/domain/assets/AssetMessages.ts).
  ["AssetMappingRegistered", "leader"],
  // So is the operator registry (src/domain/operators/OperatorRegistry.ts).
  ["OperatorRegistered", "leader"],
  ["OperatorRemoved", "leader"],
  // Execution sequences: lease expiries and outcomes (src/domain/sequences/SequenceMessages.ts).
  ["NodeLeaseExpired", "leader"],
  ["ExecutionSequenceCompleted", "leader"],
  ["ExecutionSequenceFailed", "leader"],
  // A proof's verdict is the leader's, so replay folds it and never re-runs a pairing (docs/proofs.md).
  ["ProofVerified", "leader"]
])

/** The role a message type's author must hold, if it is a decision. */
export const decisionRole = (type: string): DecisionRole | undefined => roles.get(type)

/** Is `sender` a member (a deployment of one: the instance)? */
export const isMember = (s: AuthorityState, sender: string): boolean =>
  s.instance !== null ? sender === s.instance : s.members.includes(sender)

/** Is `sender` the leader now (a deployment of one: the instance)? */
export const isLeader = (s: AuthorityState, sender: string): boolean =>
  s.instance !== null ? sender === s.instance : s.leader !== null && sender === s.leader

/**
 * Did `sender` lead at `offset` (an offset below the state's position)? A deployment of one:
 * is it the instance. Offsets older than the remembered history: false.
 */
export const ledAt = (s: AuthorityState, sender: string, offset: number): boolean => {
  if (s.instance !== null) return sender === s.instance
  for (let i = s.history.length - 1; i >= 0; i--) {
    const span = s.history[i] as LeaderSpan
    if (span.from <= offset) return span.leader === sender
  }
  return false
}

/**
 * Is an event of `type` from `sender` heeded at this point of the log? Types that are not
 * decisions are anyone's. A chain observation is judged per chain by `heedsChain` (its
 * owner); here, knowing no chain, it is the leader's.
 */
export const heeds = (s: AuthorityState, type: string, sender: string): boolean => {
  const role = roles.get(type)
  if (role === undefined) return true
  return role === "member" ? isMember(s, sender) : isLeader(s, sender)
}

/**
 * Why `sender` may not submit a message of `type` here, or null when it may (what ingest
 * refuses before anything is written; the folds decide again at each record's place):
 * cluster messages from the admin (sets) or a member (claims), decisions from a member
 * (the instance of a deployment of one). The leader itself is decided by the log, so a
 * member's decision is taken and folded (or ignored) by its place.
 */
export const authoringRefusal = (s: AuthorityState, type: string, sender: string): string | null => {
  if (type === "ClusterMembersSet") {
    if (s.admin === null) return "this deployment has no cluster admin (serve --cluster-admin)"
    return sender === s.admin ? null : "only the cluster admin may set the members"
  }
  if (type === "LeaderTermClaimed" || type === "ChainOwnersAssigned") {
    if (s.admin === null) return "this deployment has no cluster admin (serve --cluster-admin)"
    return s.members.includes(sender) ? null : type === "LeaderTermClaimed" ? "only a member may claim a term" : "only a member may assign chains"
  }
  if (!roles.has(type)) return null
  if (isMember(s, sender)) return null
  return s.instance !== null ? `only the instance may author ${type}` : `only a cluster member may author ${type}`
}

/**
 * Is an observation of `chain` from `sender` heeded here? In a cluster, only from the member
 * the leader assigned the chain to (an unassigned chain, before the first assignment or after
 * its owner left the members, is observed by nobody until the leader assigns it, which it
 * does at its next step); in a deployment of one, from the instance.
 */
export const heedsChain = (s: AuthorityState, chain: string, sender: string): boolean => {
  if (s.instance !== null) return sender === s.instance
  return s.owners.some((o) => o.chain === chain && o.owner === sender)
}

/** Does `sender` observe `chain` at this point of the log? (What the chain feed asks of itself.) */
export const ownsChain = heedsChain

const encoder = new TextEncoder()

/**
 * Rendezvous (highest-random-weight) hashing: the member with the highest
 * SHA-256(chain ‖ 0x00 ‖ member key) owns the chain. Removing a member moves only its
 * chains, each to the next highest; undefined without members.
 */
export const hrwOwner = (chain: string, members: ReadonlyArray<string>): string | undefined => {
  let best: string | undefined
  let bestWeight = ""
  for (const m of members) {
    const weight = bytesToHex(sha256(encoder.encode(`${chain}\u0000${m}`)))
    if (best === undefined || weight > bestWeight || (weight === bestWeight && m < best)) {
      best = m
      bestWeight = weight
    }
  }
  return best
}

/** The owners rendezvous hashing gives `chains` over the live members (sorted by chain). */
export const assignChains = (chains: ReadonlyArray<string>, live: ReadonlyArray<string>): ReadonlyArray<ChainOwner> => {
  const out: Array<ChainOwner> = []
  for (const chain of [...new Set(chains)].sort()) {
    const owner = hrwOwner(chain, live)
    if (owner !== undefined) out.push({ chain, owner })
  }
  return out
}

/** The fields of a record the fold reads. */
export interface AuthorityRecord {
  readonly type: string
  readonly sender: string
  readonly offset: number
  readonly body: string
}

const decodeMembers = Schema.decodeUnknownResult(ClusterMembersSet)
const decodeClaim = Schema.decodeUnknownResult(LeaderTermClaimed)
const decodeAssignment = Schema.decodeUnknownResult(ChainOwnersAssigned)

const payloadOf = (body: string): unknown => {
  try {
    const parsed: unknown = JSON.parse(body)
    return typeof parsed === "object" && parsed !== null && "payload" in parsed ? parsed.payload : undefined
  } catch {
    return undefined
  }
}

type Judged =
  | { readonly _tag: "Refused"; readonly reason: string }
  | { readonly _tag: "Members"; readonly payload: typeof ClusterMembersSet.Type }
  | { readonly _tag: "Assignment"; readonly payload: typeof ChainOwnersAssigned.Type }
  | { readonly _tag: "Claim"; readonly payload: typeof LeaderTermClaimed.Type }

const refused = (reason: string): Judged => ({ _tag: "Refused", reason })

// A cluster record judged at this point of the log, its payload decoded once.
const judge = (s: AuthorityState, r: AuthorityRecord): Judged => {
  if (!isClusterType(r.type)) return refused("not a cluster message")
  if (s.admin === null) return refused("this deployment has no cluster admin")
  if (r.type === "ClusterMembersSet") {
    if (r.sender !== s.admin) return refused("only the cluster admin may set the members")
    const p = decodeMembers(payloadOf(r.body))
    return Result.isSuccess(p) ? { _tag: "Members", payload: p.success } : refused("the payload is not a member set")
  }
  if (r.type === "ChainOwnersAssigned") {
    if (!isLeader(s, r.sender)) return refused("only the current term's leader may assign chains")
    const a = decodeAssignment(payloadOf(r.body))
    if (Result.isFailure(a)) return refused("the payload is not a chain assignment")
    const named = new Map<string, string>()
    for (const o of a.success.owners) {
      const earlier = named.get(o.chain)
      if (earlier !== undefined && earlier !== o.owner) return refused(`the payload names two owners of ${o.chain}`)
      named.set(o.chain, o.owner)
      if (!s.members.includes(o.owner)) return refused(`the owner of ${o.chain} is not a member`)
      if (!a.success.chains.includes(o.chain)) return refused(`${o.chain} is not among the assignment's chains`)
    }
    return { _tag: "Assignment", payload: a.success }
  }
  if (!s.members.includes(r.sender)) return refused("only a member may claim a term")
  const claim = decodeClaim(payloadOf(r.body))
  if (Result.isFailure(claim)) return refused("the payload is not a claim")
  return claim.success.term === s.term + 1
    ? { _tag: "Claim", payload: claim.success }
    : refused(`term ${claim.success.term} is not the next term (${s.term + 1})`)
}

/** Why a cluster record changes nothing, or null when it is applied. */
export const refusalOf = (s: AuthorityState, r: AuthorityRecord): string | null => {
  const judged = judge(s, r)
  return judged._tag === "Refused" ? judged.reason : null
}

/** Fold one record: cluster records by those who hold the right change the state; others leave it. */
export const evolveAuthority = (s: AuthorityState, r: AuthorityRecord): AuthorityState => {
  if (!isClusterType(r.type)) return s
  const judged = judge(s, r)
  switch (judged._tag) {
    case "Refused":
      return s
    case "Members": {
      const members = [...new Set(judged.payload.members)].sort()
      const leader = s.leader !== null && members.includes(s.leader) ? s.leader : null
      const history = leader === s.leader ? s.history : remember(s.history, { term: s.term, leader: null, from: r.offset })
      // A chain whose owner is no longer a member is observed by nobody until the leader reassigns it.
      const owners = s.owners.filter((o) => members.includes(o.owner))
      return { ...s, members, membersAt: r.offset, leader, history, owners }
    }
    case "Assignment": {
      const a = judged.payload
      const owners = [...new Map(a.owners.map((o) => [o.chain, o] as const)).values()].sort((x, y) => (x.chain < y.chain ? -1 : x.chain > y.chain ? 1 : 0))
      return { ...s, chains: [...new Set(a.chains)].sort(), owners, ownersAt: r.offset }
    }
    case "Claim": {
      const { term } = judged.payload
      return { ...s, term, leader: r.sender, termAt: r.offset, history: remember(s.history, { term, leader: r.sender, from: r.offset }) }
    }
  }
}

const remember = (history: ReadonlyArray<LeaderSpan>, span: LeaderSpan): ReadonlyArray<LeaderSpan> =>
  history.length < MAX_HISTORY ? [...history, span] : [...history.slice(history.length - MAX_HISTORY + 1), span]

/** The state as a JSON schema (snapshots). */
export const AuthorityJson = Schema.Struct({
  admin: Schema.NullOr(Schema.String),
  instance: Schema.NullOr(Schema.String),
  members: Schema.Array(Schema.String),
  membersAt: Schema.NullOr(Schema.Number),
  term: Schema.Number,
  leader: Schema.NullOr(Schema.String),
  termAt: Schema.NullOr(Schema.Number),
  history: Schema.Array(Schema.Struct({ term: Schema.Number, leader: Schema.NullOr(Schema.String), from: Schema.Number })),
  chains: Schema.Array(Schema.String),
  owners: Schema.Array(Schema.Struct({ chain: Schema.String, owner: Schema.String })),
  ownersAt: Schema.NullOr(Schema.Number)
})

/** What `GET /v1/cluster` answers: this instance, the deployment's authority and who leads. */
export interface ClusterView {
  /** This instance's public key. */
  readonly instance: string
  /** "single": a deployment of one (the instance decides); "cluster": the admin's members elect a leader. */
  readonly mode: "single" | "cluster"
  readonly admin: string | null
  readonly members: ReadonlyArray<string>
  /** The current term's leader (a deployment of one: the instance). */
  readonly leader: string | null
  readonly term: number
  /** Offset of the current term's claim, and of the member set in force. */
  readonly termAt: number | null
  readonly membersAt: number | null
  readonly isMember: boolean
  readonly isLeader: boolean
  /** The latest leader changes, oldest first. */
  readonly history: ReadonlyArray<LeaderSpan>
  /** The chains the cluster observes and who observes each (a chain not assigned: nobody). */
  readonly chains: ReadonlyArray<string>
  readonly owners: ReadonlyArray<ChainOwner>
  readonly ownersAt: number | null
  /** Up to which offset of the log this view is folded. */
  readonly offset: number
}

/** The view of an authority state from one instance. */
export const clusterViewOf = (s: AuthorityState, instance: string, offset: number): ClusterView => ({
  instance,
  mode: s.admin === null ? "single" : "cluster",
  admin: s.admin,
  members: s.admin === null ? [instance] : s.members,
  leader: s.admin === null ? s.instance : s.leader,
  term: s.term,
  termAt: s.termAt,
  membersAt: s.membersAt,
  isMember: isMember(s, instance),
  isLeader: isLeader(s, instance),
  history: s.history,
  chains: s.chains,
  owners: s.owners,
  ownersAt: s.ownersAt,
  offset
})
