/**
 * Reading the OpenAPI document in tests: find the operation a request reaches, and check a
 * JSON value against a schema of the document. The checker knows the JSON Schema keywords
 * the document uses (type, enum, const, properties, required, additionalProperties, items,
 * anyOf, oneOf, allOf, pattern, bounds, $ref); it reports the first mismatch.
 */
import type { OpenApi } from "effect/http-api"

type Json = Record<string, any>

/** An operation of the document and its path template. */
export interface Operation {
  readonly method: string
  readonly template: string
  readonly op: OpenApi.OpenAPISpecOperation
}

/** The operation a request's method and path (without query) reach, or undefined. */
export const operationOf = (doc: OpenApi.OpenAPISpec, method: string, path: string): Operation | undefined => {
  for (const [template, item] of Object.entries(doc.paths)) {
    const pattern = new RegExp(`^${template.replace(/\{[^}]+\}/g, "[^/]+")}$`)
    const op = (item as Json)[method.toLowerCase()] as OpenApi.OpenAPISpecOperation | undefined
    if (op !== undefined && pattern.test(path)) return { method, template, op }
  }
  return undefined
}

/** Every operation of the document. */
export const operations = (doc: OpenApi.OpenAPISpec): Array<Operation> =>
  Object.entries(doc.paths).flatMap(([template, item]) =>
    Object.entries(item as Json)
      .filter(([method]) => ["get", "post", "put", "patch", "delete"].includes(method))
      .map(([method, op]) => ({ method: method.toUpperCase(), template, op: op as OpenApi.OpenAPISpecOperation }))
  )

/** Follow `$ref`s into the document's components. */
export const resolve = (doc: OpenApi.OpenAPISpec, schema: Json): Json => {
  let s = schema
  while (typeof s["$ref"] === "string") {
    const name = (s["$ref"] as string).replace("#/components/schemas/", "")
    const target = (doc.components.schemas as Json)[name]
    if (target === undefined) throw new Error(`unresolved ${s["$ref"]}`)
    s = target
  }
  return s
}

const typeOf = (v: unknown): string =>
  v === null ? "null" : Array.isArray(v) ? "array" : typeof v === "number" ? (Number.isInteger(v) ? "integer" : "number") : typeof v

/** Why `value` does not match `schema`, or undefined when it does. */
export const mismatch = (doc: OpenApi.OpenAPISpec, schema: Json, value: unknown, at = "$"): string | undefined => {
  const s = resolve(doc, schema)
  if (Array.isArray(s["allOf"])) {
    for (const m of s["allOf"]) {
      const why = mismatch(doc, m, value, at)
      if (why !== undefined) return why
    }
  }
  for (const key of ["anyOf", "oneOf"] as const) {
    if (!Array.isArray(s[key])) continue
    const matching = (s[key] as Array<Json>).filter((m) => mismatch(doc, m, value, at) === undefined).length
    if (matching === 0 || (key === "oneOf" && matching > 1)) return `${at}: ${matching} members of ${key} match ${JSON.stringify(value)?.slice(0, 200)}`
  }
  if (s["type"] !== undefined) {
    const types: Array<string> = Array.isArray(s["type"]) ? s["type"] : [s["type"]]
    const t = typeOf(value)
    if (!types.includes(t) && !(t === "integer" && types.includes("number"))) return `${at}: expected ${types.join("|")}, got ${t}`
  }
  if (Array.isArray(s["enum"]) && !s["enum"].includes(value)) return `${at}: ${JSON.stringify(value)} not in ${JSON.stringify(s["enum"])}`
  if ("const" in s && s["const"] !== value) return `${at}: expected ${JSON.stringify(s["const"])}`
  if (typeof value === "string") {
    if (typeof s["pattern"] === "string" && !new RegExp(s["pattern"], "u").test(value)) return `${at}: does not match ${s["pattern"]}`
    if (typeof s["maxLength"] === "number" && [...value].length > s["maxLength"]) return `${at}: longer than ${s["maxLength"]}`
    if (typeof s["minLength"] === "number" && [...value].length < s["minLength"]) return `${at}: shorter than ${s["minLength"]}`
  }
  if (typeof value === "number") {
    if (typeof s["minimum"] === "number" && value < s["minimum"]) return `${at}: below ${s["minimum"]}`
    if (typeof s["maximum"] === "number" && value > s["maximum"]) return `${at}: above ${s["maximum"]}`
  }
  if (Array.isArray(value)) {
    if (typeof s["maxItems"] === "number" && value.length > s["maxItems"]) return `${at}: more than ${s["maxItems"]} items`
    if (s["items"] !== undefined) {
      for (const [i, item] of value.entries()) {
        const why = mismatch(doc, s["items"], item, `${at}[${i}]`)
        if (why !== undefined) return why
      }
    }
  }
  if (typeOf(value) === "object") {
    const o = value as Json
    const properties: Json = s["properties"] ?? {}
    for (const key of s["required"] ?? []) if (!(key in o)) return `${at}: missing ${key}`
    for (const [key, v] of Object.entries(o)) {
      if (key in properties) {
        const why = mismatch(doc, properties[key], v, `${at}.${key}`)
        if (why !== undefined) return why
      } else if (s["additionalProperties"] === false) {
        return `${at}: unexpected ${key}`
      } else if (typeof s["additionalProperties"] === "object") {
        const why = mismatch(doc, s["additionalProperties"], v, `${at}.${key}`)
        if (why !== undefined) return why
      }
    }
  }
  return undefined
}
