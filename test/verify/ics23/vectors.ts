/**
 * Reading the third-party ICS23 vectors (test/vectors/ics23): the 18 proof files, and
 * the Go unit-vector JSON (bytes as base64, snake_case field names, enums as numbers)
 * converted to the protobufjs message shapes @confio/ics23 takes.
 */
import { readFileSync, readdirSync } from "node:fs"
import path from "node:path"
import type { ExistenceProof, InnerOp, InnerSpec, LeafOp, ProofSpec } from "../../../src/domain/verify/Ics23.ts"

/** The ICS23 vector folder. */
export const ICS23_VECTORS = path.resolve(import.meta.dirname, "../../vectors/ics23")

/** One proof vector: hex key, value ("" for non-existence), proof and root. */
export interface ProofVector {
  readonly key: string
  readonly value: string
  readonly proof: string
  readonly root: string
}

/** The proof vectors of one spec folder, by file name. */
export const proofVectors = (folder: "iavl" | "tendermint" | "smt"): ReadonlyArray<{ readonly name: string; readonly vector: ProofVector }> =>
  readdirSync(path.join(ICS23_VECTORS, folder))
    .filter((n) => n.endsWith(".json"))
    .sort()
    .map((name) => ({ name, vector: JSON.parse(readFileSync(path.join(ICS23_VECTORS, folder, name), "utf8")) as ProofVector }))

/** A unit-vector file, parsed. */
export const unitVectors = (name: string): unknown => JSON.parse(readFileSync(path.join(ICS23_VECTORS, `${name}.json`), "utf8"))

type Json = Record<string, unknown>

const isJson = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v)

/** Go's []byte in JSON: base64, or null/absent for empty. */
export const b64 = (v: unknown): Uint8Array => (typeof v === "string" ? Uint8Array.from(Buffer.from(v, "base64")) : new Uint8Array(0))

const n = (v: unknown): number => (typeof v === "number" ? v : 0)

/** A Go-JSON LeafOp as the library's ILeafOp (unset enums are 0, unset bytes empty: protobuf defaults). */
export const leafOp = (v: unknown): LeafOp & { hash: number; prehashKey: number; prehashValue: number; length: number; prefix: Uint8Array } => {
  const j = isJson(v) ? v : {}
  return { hash: n(j["hash"]), prehashKey: n(j["prehash_key"]), prehashValue: n(j["prehash_value"]), length: n(j["length"]), prefix: b64(j["prefix"]) }
}

/** A Go-JSON InnerOp. */
export const innerOp = (v: unknown): InnerOp & { hash: number; prefix: Uint8Array; suffix: Uint8Array } => {
  const j = isJson(v) ? v : {}
  return { hash: n(j["hash"]), prefix: b64(j["prefix"]), suffix: b64(j["suffix"]) }
}

/** A Go-JSON ExistenceProof (a missing leaf stays missing). */
export const existenceProof = (v: unknown): ExistenceProof & { key: Uint8Array; value: Uint8Array; path: Array<ReturnType<typeof innerOp>>; leaf: ReturnType<typeof leafOp> | null } => {
  const j = isJson(v) ? v : {}
  return {
    key: b64(j["key"]),
    value: b64(j["value"]),
    leaf: j["leaf"] === undefined || j["leaf"] === null ? null : leafOp(j["leaf"]),
    path: Array.isArray(j["path"]) ? j["path"].map(innerOp) : []
  }
}

/** A Go-JSON InnerSpec. */
export const innerSpec = (v: unknown): InnerSpec & { childOrder: Array<number>; childSize: number; minPrefixLength: number; maxPrefixLength: number; emptyChild: Uint8Array; hash: number } => {
  const j = isJson(v) ? v : {}
  return {
    childOrder: Array.isArray(j["child_order"]) ? j["child_order"].map(n) : [],
    childSize: n(j["child_size"]),
    minPrefixLength: n(j["min_prefix_length"]),
    maxPrefixLength: n(j["max_prefix_length"]),
    emptyChild: b64(j["empty_child"]),
    hash: n(j["hash"])
  }
}

/** A Go-JSON ProofSpec. */
export const proofSpec = (v: unknown): ProofSpec & { leafSpec: ReturnType<typeof leafOp> | null; innerSpec: ReturnType<typeof innerSpec> | null; maxDepth: number; minDepth: number } => {
  const j = isJson(v) ? v : {}
  return {
    leafSpec: isJson(j["leaf_spec"]) ? leafOp(j["leaf_spec"]) : null,
    innerSpec: isJson(j["inner_spec"]) ? innerSpec(j["inner_spec"]) : null,
    maxDepth: n(j["max_depth"]),
    minDepth: n(j["min_depth"])
  }
}

/** The named cases of a unit-vector file as [name, case] pairs. */
export const namedCases = (file: string): Array<[string, Json]> => {
  const data = unitVectors(file)
  if (!isJson(data)) throw new Error(`${file} is not an object of named cases`)
  return Object.entries(data).map(([name, c]) => {
    if (!isJson(c)) throw new Error(`${file}/${name} is not an object`)
    return [name, c]
  })
}

/** Go's encoding/json matches keys case-insensitively ("PreImage" reads as "Preimage"). */
export const field = (c: Json, name: string): unknown => {
  const key = Object.keys(c).find((k) => k.toLowerCase() === name.toLowerCase())
  return key === undefined ? undefined : c[key]
}
