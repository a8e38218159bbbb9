/**
 * RFC 8785 JSON Canonicalization Scheme (JCS), restricted to the value space causeway's
 * envelopes use: null, booleans, strings, safe integers, arrays and objects.
 *
 * The restriction is what makes the encoding reproducible in any language without an
 * ECMAScript number formatter: every number on the wire is an integer in
 * [-(2^53 - 1), 2^53 - 1], printed in plain decimal. Money and other big values travel as
 * decimal strings. docs/canonical-encoding.md specifies the bytes.
 */
import { Data } from "effect"

/** A JSON value as causeway's canonical encoding accepts it. */
export type Json = null | boolean | number | string | ReadonlyArray<Json> | { readonly [key: string]: Json }

/** A value cannot be canonically encoded (non-integer number, lone surrogate, cycle, depth). */
export class CanonicalEncodingError extends Data.TaggedError("CanonicalEncodingError")<{
  readonly reason: string
  readonly path: string
}> {}

/** Nesting deeper than this is refused: it bounds recursion on untrusted input. */
export const MAX_DEPTH = 32

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/

// JSON.stringify's string escaping is exactly JCS's (RFC 8785 §3.2.2.2) for well-formed
// strings: \b \t \n \f \r \" \\ as two-character escapes, other C0 controls as \u00xx
// lowercase, everything else literal.
const encodeString = (s: string, path: string): string => {
  if (LONE_SURROGATE.test(s)) throw new CanonicalEncodingError({ reason: "string holds a lone UTF-16 surrogate", path })
  return JSON.stringify(s)
}

// RFC 8785 §3.2.3: keys sorted by their UTF-16 code units, which is what the default
// Array.prototype.sort comparison does on strings.
const encodeValue = (value: unknown, path: string, depth: number): string => {
  if (value === null) return "null"
  switch (typeof value) {
    case "boolean":
      return value ? "true" : "false"
    case "string":
      return encodeString(value, path)
    case "number":
      if (!Number.isSafeInteger(value)) {
        throw new CanonicalEncodingError({ reason: `number ${String(value)} is not a safe integer`, path })
      }
      return Object.is(value, -0) ? "0" : String(value)
    case "object": {
      if (depth >= MAX_DEPTH) throw new CanonicalEncodingError({ reason: `nesting deeper than ${MAX_DEPTH}`, path })
      if (Array.isArray(value)) {
        let out = "["
        for (let i = 0; i < value.length; i++) {
          if (i > 0) out += ","
          out += encodeValue(value[i], `${path}[${i}]`, depth + 1)
        }
        return out + "]"
      }
      const proto = Object.getPrototypeOf(value)
      if (proto !== Object.prototype && proto !== null) {
        throw new CanonicalEncodingError({ reason: "only plain objects can be encoded", path })
      }
      const record = value as Record<string, unknown>
      const keys = Object.keys(record).sort()
      let out = "{"
      let first = true
      for (const key of keys) {
        const v = record[key]
        if (v === undefined) continue
        if (!first) out += ","
        first = false
        out += encodeString(key, path) + ":" + encodeValue(v, `${path}.${key}`, depth + 1)
      }
      return out + "}"
    }
    default:
      throw new CanonicalEncodingError({ reason: `${typeof value} is not a JSON value`, path })
  }
}

/** The canonical text of a value; throws CanonicalEncodingError (callers at the edge catch it). */
export const canonicalize = (value: unknown): string => encodeValue(value, "$", 0)

/**
 * The canonical text of a value found at `path`, `depth` levels below the root: what
 * `canonicalize` of the enclosing value writes for it (same depth limit, same error paths).
 * Lets a caller assemble an object's text from members it encodes once.
 */
export const canonicalizeAt = (value: unknown, path: string, depth: number): string => encodeValue(value, path, depth)

const encoder = new TextEncoder()

/** The canonical UTF-8 bytes of a value. */
export const canonicalBytes = (value: unknown): Uint8Array => encoder.encode(canonicalize(value))

/**
 * `canonicalize` in steps, for texts too large to write in one go (a projection's snapshot):
 * a generator that yields between every `step` members of an array or object with more than
 * `step` of them, and returns exactly the text `canonicalize` returns. It looks for such large
 * members down to STEPPED_DEPTH levels (where projections keep their collections), and in any
 * large one below; other values are written at once. The caller decides what to do at each
 * yield (give the event loop back).
 */
export function* canonicalizeInSteps(value: unknown, step = 512): Generator<void, string> {
  return (yield* canonicalPartsInSteps(value, step)).join("")
}

/**
 * `canonicalizeInSteps`, the text returned in parts of about `partChars` code units whose
 * concatenation is the text: each part is a flat string of its own, so hashing or storing the
 * parts one at a time never makes the engine flatten one huge text at once (a 20 MB text built
 * by concatenation took about 100 ms to flatten at its first read). A part ends between two
 * pieces the encoder writes whole (a string value is one piece), never inside a surrogate pair.
 */
export function* canonicalPartsInSteps(value: unknown, step = 512, partChars = 1 << 20): Generator<void, Array<string>> {
  const sink = new PartsSink(partChars)
  yield* writeInSteps(value, "$", 0, step, sink)
  sink.flush()
  return sink.parts
}

class PartsSink {
  readonly parts: Array<string> = []
  private pieces: Array<string> = []
  private length = 0
  private readonly partChars: number
  constructor(partChars: number) {
    this.partChars = partChars
  }
  write(piece: string): void {
    this.pieces.push(piece)
    this.length += piece.length
    if (this.length >= this.partChars) this.flush()
  }
  flush(): void {
    if (this.pieces.length === 0) return
    this.parts.push(this.pieces.join(""))
    this.pieces = []
    this.length = 0
  }
}

const STEPPED_DEPTH = 3

/**
 * `keys.sort()` (UTF-16 code unit order, as RFC 8785 wants) in steps: runs of `run` keys sorted
 * one per step, then merged pairwise, a step per `run` keys written. Sorting a 50,000-key
 * object's keys at once took a step of ~20 ms.
 */
export function* sortInSteps(keys: Array<string>, run: number): Generator<void, Array<string>> {
  let runs: Array<Array<string>> = []
  for (let i = 0; i < keys.length; i += run) {
    runs.push(keys.slice(i, i + run).sort())
    yield
  }
  while (runs.length > 1) {
    const next: Array<Array<string>> = []
    for (let r = 0; r < runs.length; r += 2) {
      const a = runs[r] as Array<string>
      const b = runs[r + 1]
      if (b === undefined) {
        next.push(a)
        continue
      }
      const out = new Array<string>(a.length + b.length)
      let x = 0
      let y = 0
      let k = 0
      while (x < a.length && y < b.length) {
        out[k++] = (a[x] as string) < (b[y] as string) ? (a[x++] as string) : (b[y++] as string)
        if (k % run === 0) yield
      }
      while (x < a.length) out[k++] = a[x++] as string
      while (y < b.length) out[k++] = b[y++] as string
      next.push(out)
      yield
    }
    runs = next
  }
  return runs[0] ?? []
}

function* writeInSteps(value: unknown, path: string, depth: number, step: number, sink: PartsSink): Generator<void, void> {
  if (value === null || typeof value !== "object" || depth >= MAX_DEPTH) return sink.write(encodeValue(value, path, depth))
  if (Array.isArray(value)) {
    if (value.length <= step && depth >= STEPPED_DEPTH) return sink.write(encodeValue(value, path, depth))
    sink.write("[")
    for (let i = 0; i < value.length; i++) {
      if (i > 0) sink.write(",")
      yield* writeInSteps(value[i], `${path}[${i}]`, depth + 1, step, sink)
      if (i % step === step - 1) yield
    }
    return sink.write("]")
  }
  const proto = Object.getPrototypeOf(value)
  if (proto !== Object.prototype && proto !== null) return sink.write(encodeValue(value, path, depth))
  const record = value as Record<string, unknown>
  const keys = Object.keys(record)
  if (keys.length <= step && depth >= STEPPED_DEPTH) return sink.write(encodeValue(value, path, depth))
  const sorted = keys.length > step ? yield* sortInSteps(keys, step * 32) : keys.sort()
  sink.write("{")
  let first = true
  let n = 0
  for (const key of sorted) {
    const v = record[key]
    if (v === undefined) continue
    if (!first) sink.write(",")
    first = false
    sink.write(encodeString(key, path) + ":")
    yield* writeInSteps(v, `${path}.${key}`, depth + 1, step, sink)
    if (++n % step === 0) yield
  }
  sink.write("}")
}
