/**
 * A projection that heeds decisions only from whoever holds the right at each point of the
 * log (src/domain/cluster/Authority.ts). The wrapper folds the authority beside the inner
 * state (kept in the state's `authority` field and in its snapshot) and hands it to the inner
 * fold with every record, so the inner projection asks `heeds(authority, type, sender)`
 * where it used to compare the sender with one fixed key.
 */
import type { Json } from "../domain/CanonicalJson.ts"
import {
  type AuthorityConfig,
  AuthorityJson,
  type AuthorityState,
  evolveAuthority,
  initialAuthority,
  clusterTypes,
  isClusterType,
  matchesConfig
} from "../domain/cluster/Authority.ts"
import { Schema } from "effect"
import type { LogRecord } from "../ports/CausalLog.ts"
import type { Archived, Projection } from "./Projection.ts"

/** A projection's fold given the authority in force before each record. */
export interface AuthorizedFold<S> {
  readonly name: string
  readonly version: number
  readonly needsLinks?: boolean
  /** The message types `evolve` reads (the wrapper adds the cluster's, which the authority reads). */
  readonly handles?: ReadonlySet<string>
  readonly initialState: S
  evolve(state: S, record: LogRecord, authority: AuthorityState): S
  /** Retention's outbox (Projection.drain); it must keep the state's other fields (the authority among them). */
  drain?<T extends S>(state: T): { readonly state: T; readonly archived: ReadonlyArray<Archived> }
  /** Must encode to a JSON object (the wrapper adds `authority` to it). */
  encode(state: S): Json
  decode(json: Json): S
}

/** A state with the authority it was folded under. */
export type WithAuthority<S> = S & { readonly authority: AuthorityState }

const decodeAuthority = Schema.decodeUnknownSync(AuthorityJson)

const isObject = (j: Json): j is { readonly [key: string]: Json } => typeof j === "object" && j !== null && !Array.isArray(j)

/** The projection of `fold` under `config`: it reads bodies (cluster records carry payloads). */
export const authorized = <S extends object>(config: AuthorityConfig, fold: AuthorizedFold<S>): Projection<WithAuthority<S>> => {
  const attach = (state: S, authority: AuthorityState): WithAuthority<S> => ({ ...state, authority })
  return {
    name: fold.name,
    version: fold.version,
    needsBody: true,
    ...(fold.needsLinks === undefined ? {} : { needsLinks: fold.needsLinks }),
    ...(fold.handles === undefined ? {} : { handles: new Set([...fold.handles, ...clusterTypes]) }),
    initialState: attach(fold.initialState, initialAuthority(config)),
    evolve: (state, record) => {
      if (isClusterType(record.type)) {
        const authority = evolveAuthority(state.authority, record)
        return authority === state.authority ? state : { ...state, authority }
      }
      const next = fold.evolve(state, record, state.authority)
      return next === state ? state : "authority" in next && next.authority === state.authority ? (next as WithAuthority<S>) : attach(next, state.authority)
    },
    ...(fold.drain === undefined ? {} : { drain: (state: WithAuthority<S>) => fold.drain!(state) }),
    encode: (state) => {
      const { authority, ...inner } = state
      const json = fold.encode(inner as unknown as S)
      if (!isObject(json)) throw new Error(`${fold.name}: the state must encode to a JSON object`)
      return { ...json, authority }
    },
    decode: (json) => {
      if (!isObject(json)) throw new Error(`${fold.name}: a snapshot must be a JSON object`)
      const { authority: a, ...inner } = json
      const authority = decodeAuthority(a, { onExcessProperty: "error" }) as AuthorityState
      // A snapshot folded under another instance key or admin heeded other decisions.
      if (!matchesConfig(authority, config)) throw new Error(`${fold.name}: the snapshot was folded under another authority`)
      return attach(fold.decode(inner), authority)
    }
  }
}
