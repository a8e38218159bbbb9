/**
 * The cluster projection: who decides at the end of the log (the authority fold of
 * src/domain/cluster/Authority.ts: admin, members, term, leader and the leader history) and,
 * for a deployment of one, the first decision in the log signed by another key. Such a
 * record means another instance decides on this log too (ingest refuses decisions from
 * anyone but the instance, so only another instance writing to a shared log puts one
 * there): the instance does not become ready rather than diverge in silence.
 */
import { Schema } from "effect"
import { type AuthorityConfig, decisionRole } from "../../domain/cluster/Authority.ts"
import { authorized, type WithAuthority } from "../Authorized.ts"
import type { Projection } from "../Projection.ts"

/** A decision signed by a key other than the instance's (deployment of one). */
export type ForeignDecision = {
  readonly offset: number
  readonly id: string
  readonly type: string
  readonly sender: string
}

/** What the projection keeps besides the authority. */
export type ClusterFacts = {
  /** The first foreign decision (deployment of one), if any. */
  readonly foreign: ForeignDecision | null
  /** How many there are. */
  readonly foreignCount: number
}

/** The projection's state. */
export type ClusterState = WithAuthority<ClusterFacts>

/** The projection's name. */
export const CLUSTER = "cluster"

const Encoded = Schema.Struct({
  foreign: Schema.NullOr(Schema.Struct({ offset: Schema.Number, id: Schema.String, type: Schema.String, sender: Schema.String })),
  foreignCount: Schema.Number
})
const decodeEncoded = Schema.decodeUnknownSync(Encoded)

const initialState: ClusterFacts = { foreign: null, foreignCount: 0 }

/** The cluster projection of a deployment. */
export const makeCluster = (context: AuthorityConfig): Projection<ClusterState> =>
  authorized(context, {
    name: CLUSTER,
    version: 1,
    needsLinks: true,
    initialState,
    evolve: (state, record, authority) => {
      if (authority.instance === null || record.sender === authority.instance || decisionRole(record.type) === undefined) return state
      return {
        ...state,
        foreign: state.foreign ?? { offset: record.offset, id: record.id, type: record.type, sender: record.sender },
        foreignCount: state.foreignCount + 1
      }
    },
    encode: (s) => ({ foreign: s.foreign, foreignCount: s.foreignCount }),
    decode: (json) => decodeEncoded(json, { onExcessProperty: "error" })
  })
