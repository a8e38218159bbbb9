/**
 * Property tests of the domain core: canonical encoding, envelope ids, signatures under
 * both verifiers and both schemes, Lamport rules and the causal order.
 */
import { sha256 } from "@noble/hashes/sha2.js"
import { describe, expect, it } from "@effect/vitest"
import fc from "fast-check"
import * as NobleSignatureVerifier from "../../src/adapters/signatures/NobleSignatureVerifier.ts"
import * as NodeCryptoSignatureVerifier from "../../src/adapters/signatures/NodeCryptoSignatureVerifier.ts"
import { CanonicalEncodingError, type Json, MAX_DEPTH, canonicalize } from "../../src/domain/CanonicalJson.ts"
import {
  type Envelope,
  type Scheme,
  type UnsignedEnvelope,
  compareCausal,
  fromHex,
  idBytesOf,
  idOf,
  signingBytes,
  toHex,
  unsignedOf
} from "../../src/domain/Envelope.ts"
import { hash } from "node:crypto"
import { Effect, Result } from "effect"
import { admit, canonicalTexts, nobleTextSha256 } from "../../src/domain/Admission.ts"
import { keyFromSecret, signEnvelope } from "../../src/domain/Keys.ts"
import type { VerifyRequest } from "../../src/ports/SignatureVerifier.ts"
import { type CausalNode, happenedBefore, isAboveDependencies, receive, stamp } from "../../src/domain/Lamport.ts"
import type { Hex, MessageId } from "../../src/domain/Primitives.ts"
import { envelope } from "../support/fixtures.ts"

// ---------------------------------------------------------------------------------------
// Generators

/** Strings of whole code points (never a lone surrogate), weighted towards the characters JCS escapes. */
const jsonString = fc.oneof(
  fc.string({ unit: "binary", maxLength: 12 }),
  fc.string({
    unit: fc.constantFrom("a", "Z", "\"", "\\", "/", "\u0000", "\b", "\t", "\n", "\f", "\r", "\u001f", "\u007f", "\u0080", "é", "€", "\u2028", "\ufb33", "😀"),
    maxLength: 8
  })
)

const { json } = fc.letrec<{ json: Json; array: ReadonlyArray<Json>; object: { readonly [key: string]: Json } }>((tie) => ({
  json: fc.oneof(
    { maxDepth: 5, depthSize: "small" },
    fc.constant(null),
    fc.boolean(),
    fc.maxSafeInteger(),
    fc.integer({ min: -1000, max: 1000 }),
    jsonString,
    tie("array"),
    tie("object")
  ),
  array: fc.array(tie("json"), { maxLength: 5 }),
  object: fc.dictionary(jsonString, tie("json"), { maxKeys: 6 })
}))

/** A tiny deterministic PRNG (mulberry32), so a generated seed drives a reproducible shuffle. */
const prng = (seed: number) => {
  let a = seed >>> 0
  return (): number => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** The same value with every object's keys inserted in a shuffled order. */
const withShuffledKeys = (value: Json, next: () => number): Json => {
  if (Array.isArray(value)) return value.map((v: Json) => withShuffledKeys(v, next))
  if (value === null || typeof value !== "object") return value
  const entries = Object.entries(value as { readonly [key: string]: Json })
  for (let i = entries.length - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1))
    ;[entries[i], entries[j]] = [entries[j] as [string, Json], entries[i] as [string, Json]]
  }
  return Object.fromEntries(entries.map(([k, v]) => [k, withShuffledKeys(v, next)]))
}

const hexBytes = (n: number) => fc.uint8Array({ minLength: n, maxLength: n }).map(toHex)
const messageId = hexBytes(32).map((h) => h as MessageId)
const scheme = fc.constantFrom<Scheme>("ed25519", "secp256k1")

/** Every field of an unsigned envelope, each from its own generator. */
const fieldArbs = {
  v: fc.integer({ min: 1, max: 3 }),
  flags: fc.nat(7),
  type: fc.string({ maxLength: 64 }),
  scheme,
  sender: fc.oneof(hexBytes(32), hexBytes(33)).map((h) => h as Hex),
  nonce: fc.maxSafeNat(),
  lamport: fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }),
  deps: fc.uniqueArray(messageId, { maxLength: 4 }).map((ds) => ds.sort()),
  expiry: fc.option(fc.maxSafeNat(), { nil: null }),
  payload: json
}
type Field = keyof typeof fieldArbs
const fields = Object.keys(fieldArbs) as ReadonlyArray<Field>

const unsignedEnvelope: fc.Arbitrary<UnsignedEnvelope> = fc.record(fieldArbs)

/** A key pair from a generated seed (hashed, so it is a valid secret for either curve). */
const keyOf = (s: Scheme, seed: number) => keyFromSecret(s, sha256(Uint8Array.of(seed & 0xff, (seed >>> 8) & 0xff, (seed >>> 16) & 0xff, 7)))

// ---------------------------------------------------------------------------------------
// Single small changes: each yields a value that differs from the input and still encodes.

/** Pick an index from a stream of choices. */
const chooser = (choices: ReadonlyArray<number>) => {
  let i = 0
  return (n: number): number => (n <= 0 ? 0 : ((choices[i++ % choices.length] ?? 0) % n))
}

/** Change one code point of a string (or add one to an empty string). */
const changeString = (s: string, pick: (n: number) => number): string => {
  const cps = Array.from(s)
  if (cps.length === 0) return "a"
  const i = pick(cps.length)
  cps[i] = cps[i] === "a" ? "b" : "a"
  return cps.join("")
}

/** Flip one bit of one byte of a hex string. */
const changeHex = (h: string, pick: (n: number) => number): string => {
  const bytes = fromHex(h)
  if (bytes.length === 0) return "00"
  const i = pick(bytes.length)
  bytes[i] = (bytes[i] as number) ^ (1 << pick(8))
  return toHex(bytes)
}

/** Flip one low bit of a safe integer's magnitude (so it stays safe). */
const changeInt = (n: number, pick: (n: number) => number): number => {
  if (n < 0) return -changeInt(-n, pick)
  const bit = 2 ** pick(20)
  return Math.floor(n / bit) % 2 === 0 ? n + bit : n - bit
}

/** Change exactly one leaf of a JSON value (or add a member to an empty container). */
const changeJson = (value: Json, pick: (n: number) => number): Json => {
  if (value === null) return 0
  if (typeof value === "boolean") return !value
  if (typeof value === "number") return changeInt(value, pick)
  if (typeof value === "string") return changeString(value, pick)
  if (Array.isArray(value)) {
    if (value.length === 0) return [null]
    const i = pick(value.length)
    return value.map((v: Json, j: number) => (j === i ? changeJson(v, pick) : v))
  }
  const entries = Object.entries(value as { readonly [key: string]: Json })
  if (entries.length === 0) return { "": null }
  const i = pick(entries.length)
  return Object.fromEntries(entries.map(([k, v], j) => [k, j === i ? changeJson(v, pick) : v]))
}

/** The envelope with one field changed by a single small edit. */
const changeField = (e: UnsignedEnvelope, field: Field, pick: (n: number) => number): UnsignedEnvelope => {
  switch (field) {
    case "v":
    case "flags":
    case "nonce":
    case "lamport":
      return { ...e, [field]: changeInt(e[field], pick) }
    case "type":
      return { ...e, type: changeString(e.type, pick) }
    case "scheme":
      return { ...e, scheme: e.scheme === "ed25519" ? "secp256k1" : "ed25519" }
    case "sender":
      return { ...e, sender: changeHex(e.sender, pick) as Hex }
    case "deps": {
      if (e.deps.length === 0) return { ...e, deps: ["00".repeat(32) as MessageId] }
      const i = pick(e.deps.length)
      return { ...e, deps: e.deps.map((d, j) => (j === i ? (changeHex(d, pick) as MessageId) : d)) }
    }
    case "expiry":
      return { ...e, expiry: e.expiry === null ? 0 : changeInt(e.expiry, pick) }
    case "payload":
      return { ...e, payload: changeJson(e.payload as Json, pick) }
  }
}

const verifiers = [
  ["node:crypto", NodeCryptoSignatureVerifier.make()],
  ["noble", NobleSignatureVerifier.make()]
] as const

const verifies = (e: Envelope, signature: string = e.sig): ReadonlyArray<[string, boolean]> =>
  verifiers.map(([name, v]) => [name, v.verify(e.scheme, e.sender, signingBytes(idBytesOf(e)), fromHex(signature))])

// ---------------------------------------------------------------------------------------

describe("canonical encoding", () => {
  it("round trips: JSON.parse(canonicalize(x)) equals x, and re-encoding is the identity", () => {
    fc.assert(
      fc.property(json, (x) => {
        const text = canonicalize(x)
        expect(JSON.parse(text)).toEqual(x)
        expect(canonicalize(JSON.parse(text))).toBe(text)
      }),
      { numRuns: 500 }
    )
  })

  it("does not depend on the order of object keys", () => {
    fc.assert(
      fc.property(json, fc.integer(), (x, seed) => {
        expect(canonicalize(withShuffledKeys(x, prng(seed)))).toBe(canonicalize(x))
      }),
      { numRuns: 500 }
    )
  })

  it("emits no insignificant whitespace and sorts each object's keys by UTF-16 code units", () => {
    fc.assert(
      fc.property(fc.dictionary(jsonString, fc.constant(null), { minKeys: 1, maxKeys: 8 }), (record) => {
        const keys = Object.keys(record)
        const sorted = [...keys].sort((a, b) => {
          for (let i = 0; i < Math.min(a.length, b.length); i++) {
            const d = a.charCodeAt(i) - b.charCodeAt(i)
            if (d !== 0) return d
          }
          return a.length - b.length
        })
        expect(canonicalize(record)).toBe(`{${sorted.map((k) => `${JSON.stringify(k)}:null`).join(",")}}`)
      })
    )
  })

  it("refuses numbers that are not safe integers", () => {
    const notSafe = fc.oneof(
      fc.double().filter((d) => !Number.isSafeInteger(d) && !Object.is(d, -0)),
      fc.constantFrom(2 ** 53, -(2 ** 53), 1e21, 0.1, -1.5, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY)
    )
    fc.assert(
      fc.property(notSafe, json, (n, context) => {
        for (const value of [n, [context, n], { a: context, b: { c: n } }]) {
          expect(() => canonicalize(value)).toThrow(CanonicalEncodingError)
        }
      })
    )
    expect(canonicalize(Number.MAX_SAFE_INTEGER)).toBe("9007199254740991")
    expect(canonicalize(Number.MIN_SAFE_INTEGER)).toBe("-9007199254740991")
    expect(canonicalize(-0)).toBe("0")
  })

  it("refuses a lone surrogate in a string value or an object key", () => {
    const surrogate = fc.integer({ min: 0xd800, max: 0xdfff }).map((c) => String.fromCharCode(c))
    const wholeCodePoints = fc.string({ unit: "binary", maxLength: 6 })
    fc.assert(
      fc.property(wholeCodePoints, surrogate, wholeCodePoints, (before, lone, after) => {
        // Between whole code points, a single surrogate is always unpaired.
        const bad = before + lone + after
        for (const value of [bad, [bad], { k: bad }, { [bad]: 1 }, { nested: { [bad]: null } }]) {
          const error = (() => {
            try {
              canonicalize(value)
            } catch (e) {
              return e
            }
          })()
          expect(error).toBeInstanceOf(CanonicalEncodingError)
          expect((error as CanonicalEncodingError)._tag).toBe("CanonicalEncodingError")
        }
      })
    )
    expect(canonicalize("\ud83d\ude00")).toBe("\"😀\"")
  })

  it(`refuses nesting deeper than MAX_DEPTH (${MAX_DEPTH}) containers`, () => {
    const nest = (depth: number, kinds: ReadonlyArray<boolean>): unknown => {
      let v: unknown = 1
      for (let i = 0; i < depth; i++) v = kinds[i % kinds.length] ? [v] : { k: v }
      return v
    }
    fc.assert(
      fc.property(fc.array(fc.boolean(), { minLength: 1, maxLength: 5 }), (kinds) => {
        expect(() => canonicalize(nest(MAX_DEPTH, kinds))).not.toThrow()
        expect(() => canonicalize(nest(MAX_DEPTH + 1, kinds))).toThrow(CanonicalEncodingError)
        expect(() => canonicalize(nest(MAX_DEPTH + 50, kinds))).toThrow(CanonicalEncodingError)
      })
    )
  })

  it("refuses values outside JSON and omits only undefined object members", () => {
    class Point {
      x = 1
    }
    const sparse = [1, , 3]
    for (const value of [undefined, 1n, () => 1, Symbol("s"), new Date(0), new Map(), new Point(), [undefined], sparse]) {
      expect(() => canonicalize(value)).toThrow(CanonicalEncodingError)
    }
    expect(canonicalize({ b: undefined, a: 1 })).toBe("{\"a\":1}")
    expect(canonicalize(Object.assign(Object.create(null) as object, { b: 2, a: 1 }))).toBe("{\"a\":1,\"b\":2}")
  })
})

describe("envelope id", () => {
  it("is stable: the same envelope, re-parsed or with keys reordered, has the same id", () => {
    fc.assert(
      fc.property(unsignedEnvelope, fc.integer(), (e, seed) => {
        const id = idOf(e)
        expect(id).toMatch(/^[0-9a-f]{64}$/)
        expect(idOf(e)).toBe(id)
        expect(idOf(JSON.parse(canonicalize(e)) as UnsignedEnvelope)).toBe(id)
        expect(idOf(withShuffledKeys(e as unknown as Json, prng(seed)) as unknown as UnsignedEnvelope)).toBe(id)
        expect(idOf({ ...e, sig: "ab" as Hex })).toBe(id) // the signature is not covered
      })
    )
  })

  it("changes with any single change of any field", () => {
    fc.assert(
      fc.property(unsignedEnvelope, fc.constantFrom(...fields), fc.array(fc.nat(), { minLength: 8, maxLength: 8 }), (e, field, choices) => {
        expect(idOf(changeField(e, field, chooser(choices)))).not.toBe(idOf(e))
      }),
      { numRuns: 1000 }
    )
  })

  it("changes when any field is replaced by a different value", () => {
    fc.assert(
      fc.property(
        unsignedEnvelope,
        fc.constantFrom(...fields).chain((field) => fc.tuple(fc.constant(field), fieldArbs[field] as fc.Arbitrary<unknown>)),
        (e, [field, other]) => {
          fc.pre(canonicalize(other) !== canonicalize(e[field]))
          expect(idOf({ ...e, [field]: other })).not.toBe(idOf(e))
        }
      ),
      { numRuns: 500 }
    )
  })
})

describe("admission's canonical texts", () => {
  // What `canonicalize` makes of a value: its text, or the error's path and reason.
  const outcome = (f: () => string) => {
    try {
      return { text: f() }
    } catch (e) {
      return e instanceof CanonicalEncodingError ? { error: `${e.path}: ${e.reason}` } : { thrown: String(e) }
    }
  }
  const nested = (depth: number): Json => (depth === 0 ? 1 : { a: nested(depth - 1) })

  it("are the JCS of the whole envelope (body) and of the envelope without sig (id), or fail alike", () => {
    const payload = fc.oneof(json, fc.integer({ min: MAX_DEPTH - 3, max: MAX_DEPTH + 1 }).map(nested), fc.constant(0.5 as Json))
    fc.assert(
      fc.property(unsignedEnvelope, payload, hexBytes(64), (u, p, sig) => {
        const e: Envelope = { ...u, payload: p, sig: sig as Hex }
        const texts = outcome(() => JSON.stringify(canonicalTexts(e)))
        const expected = outcome(() => JSON.stringify({ unsigned: canonicalize(unsignedOf(e)), body: canonicalize(e) }))
        expect(texts).toEqual(expected)
      }),
      { numRuns: 1000 }
    )
  })

  it("admission refuses a message exactly when its body's UTF-8 size is above the limit", () => {
    const key = keyOf("ed25519", 1)
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 64 }), fc.integer({ min: -4, max: 4 }), fc.constantFrom(1, 3), (n, delta, scale) => {
        const e = envelope(key, { payload: { component: "x".repeat(n), status: "ok", latencyMs: 1 } })
        const size = Buffer.byteLength(canonicalize(e))
        // Limits around the size and around a third of it (where the admission stops counting).
        const limit = Math.max(1, Math.round(size / scale) + delta)
        const admitted = admit(e, 0, { maxMessageBytes: limit })
        expect(Result.isSuccess(admitted) ? "admitted" : admitted.failure._tag).toBe(size > limit ? "MessageTooLarge" : "admitted")
      }),
      { numRuns: 300 }
    )
  })

  it("hash to the same id with noble's SHA-256 and node:crypto's, for any text", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary", maxLength: 300 }), (text) => {
        expect(toHex(nobleTextSha256(text))).toBe(hash("sha256", text, "hex"))
      }),
      { numRuns: 500 }
    )
  })
})

describe("signatures", () => {
  const signedEnvelope = fc
    .record({ scheme, seed: fc.nat(0xffffff), unsigned: unsignedEnvelope })
    .map(({ scheme, seed, unsigned }) => signEnvelope(keyOf(scheme, seed), unsigned))

  it("verify under both verifiers, for both schemes", () => {
    fc.assert(
      fc.property(signedEnvelope, (e) => {
        expect(verifies(e)).toEqual(verifiers.map(([name]) => [name, true]))
      }),
      { numRuns: 100 }
    )
  })

  it("fail under both verifiers when any single byte of the signature changes", () => {
    fc.assert(
      fc.property(signedEnvelope, fc.nat(63), fc.integer({ min: 1, max: 255 }), (e, index, xor) => {
        const sig = fromHex(e.sig)
        expect(sig.length).toBe(64)
        sig[index] = (sig[index] as number) ^ xor
        expect(verifies(e, toHex(sig))).toEqual(verifiers.map(([name]) => [name, false]))
      }),
      { numRuns: 200 }
    )
  })

  it("fail under both verifiers when any signed field changes", () => {
    fc.assert(
      fc.property(signedEnvelope, fc.constantFrom(...fields), fc.array(fc.nat(), { minLength: 8, maxLength: 8 }), (e, field, choices) => {
        const forged: Envelope = { ...changeField(unsignedOf(e), field, chooser(choices)), sig: e.sig }
        expect(verifies(forged)).toEqual(verifiers.map(([name]) => [name, false]))
      }),
      { numRuns: 300 }
    )
  })

  it("fail under both verifiers for a malformed public key, even one that starts with the right key", () => {
    const garbage = fc.string({ unit: fc.constantFrom("z", "g", " ", "x", "-", "0", "f"), minLength: 1, maxLength: 3 })
    fc.assert(
      fc.property(signedEnvelope, garbage, fc.nat(), fc.constantFrom("append", "insert", "truncate"), (e, junk, at, how) => {
        const pk = e.sender
        const i = at % pk.length
        const malformed = how === "append" ? pk + junk : how === "insert" ? pk.slice(0, i) + junk + pk.slice(i) : pk.slice(0, i)
        fc.pre(malformed !== pk)
        const message = signingBytes(idBytesOf(e))
        for (const [name, v] of verifiers) expect(v.verify(e.scheme, malformed, message, fromHex(e.sig)), name).toBe(false)
      }),
      { numRuns: 200 }
    )
  })

  it("verifyMany answers exactly what verify answers, in order, under both verifiers", async () => {
    // secp256k1's group order: s -> n - s is the malleated twin of a valid signature.
    const N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n
    const spoil = (e: Envelope, how: number): VerifyRequest => {
      const message = signingBytes(idBytesOf(e))
      const signature = fromHex(e.sig)
      const base = { scheme: e.scheme, publicKey: e.sender, message, signature }
      switch (how) {
        case 0:
          return base
        case 1:
          return { ...base, signature: Uint8Array.from(signature, (b, i) => (i === 5 ? b ^ 1 : b)) }
        case 2:
          return { ...base, signature: signature.subarray(0, 63) }
        case 3:
          return { ...base, publicKey: e.sender + "zz" }
        case 4:
          return { ...base, message: Uint8Array.from(message, (b, i) => (i === 20 ? b ^ 0x80 : b)) }
        default: {
          if (e.scheme !== "secp256k1") return { ...base, scheme: "secp256k1" }
          const s = BigInt("0x" + toHex(signature.subarray(32)))
          const high = fromHex((N - s).toString(16).padStart(64, "0"))
          return { ...base, signature: Uint8Array.from([...signature.subarray(0, 32), ...high]) }
        }
      }
    }
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(signedEnvelope, fc.nat(5)), { maxLength: 12 }), async (cases) => {
        const requests = cases.map(([e, how]) => spoil(e, how))
        for (const [name, v] of verifiers) {
          const many = await Effect.runPromise(v.verifyMany(requests))
          expect(many, name).toEqual(requests.map((r) => v.verify(r.scheme, r.publicKey, r.message, r.signature)))
        }
        // Valid ones verify, and each kind of damage is refused.
        expect(requests.map((r) => verifiers[0][1].verify(r.scheme, r.publicKey, r.message, r.signature))).toEqual(
          cases.map(([, how]) => how === 0)
        )
      }),
      { numRuns: 60 }
    )
  })

  it("fail for a signature by another key of the same scheme", () => {
    fc.assert(
      fc.property(scheme, fc.nat(0xffffff), fc.nat(0xffffff), unsignedEnvelope, (s, a, b, unsigned) => {
        fc.pre(a !== b)
        const byA = signEnvelope(keyOf(s, a), unsigned)
        const byB = signEnvelope(keyOf(s, b), unsigned)
        expect(verifies({ ...byA, sig: byB.sig })).toEqual(verifiers.map(([name]) => [name, false]))
      }),
      { numRuns: 50 }
    )
  })
})

describe("Lamport rules", () => {
  const lamport = fc.integer({ min: 0, max: 1_000_000 })

  it("stamp is one past the local clock and every dependency, and no more", () => {
    fc.assert(
      fc.property(lamport, fc.array(lamport, { maxLength: 6 }), (local, deps) => {
        const s = stamp(local, deps)
        expect(s).toBeGreaterThanOrEqual(local + 1)
        for (const d of deps) expect(s).toBeGreaterThan(d)
        expect(s).toBe(Math.max(local, ...deps) + 1)
        expect(isAboveDependencies(s, deps)).toBe(true)
        expect(isAboveDependencies(s - 1, deps)).toBe(deps.length === 0 || s - 1 > Math.max(...deps))
      })
    )
  })

  it("receive moves the clock past both the local and the received time", () => {
    fc.assert(
      fc.property(lamport, lamport, (local, received) => {
        const next = receive(local, received)
        expect(next).toBe(Math.max(local, received) + 1)
        expect(next).toBeGreaterThan(local)
        expect(next).toBeGreaterThan(received)
      })
    )
  })

  it("isAboveDependencies holds exactly when the stamp exceeds every dependency", () => {
    fc.assert(
      fc.property(lamport, fc.array(lamport, { maxLength: 6 }), (l, deps) => {
        expect(isAboveDependencies(l, deps)).toBe(deps.every((d) => l > d))
      })
    )
  })

  /** A DAG of messages, each stamped validly above its deps, and some messages the lookup does not know. */
  const dag = fc
    .integer({ min: 1, max: 14 })
    .chain((n) =>
      fc.tuple(
        fc.tuple(...Array.from({ length: n }, (_, i) => fc.subarray(Array.from({ length: i }, (_, j) => j), { maxLength: Math.min(i, 4) }))),
        fc.array(fc.nat(3), { minLength: n, maxLength: n }),
        fc.array(fc.nat(4).map((x) => x === 0), { minLength: n, maxLength: n })
      )
    )
    .map(([depsOf, jitter, forgotten]) => {
      const nodes: Array<CausalNode> = []
      depsOf.forEach((deps, i) => {
        const lamport = stamp(jitter[i] as number, deps.map((d) => (nodes[d] as CausalNode).lamport))
        nodes.push({ id: `m${i}`, lamport, deps: deps.map((d) => `m${d}`) })
      })
      return { nodes, known: new Map(nodes.filter((_, i) => !forgotten[i]).map((n) => [n.id, n])) }
    })

  it("happenedBefore agrees with brute-force reachability through known messages", () => {
    fc.assert(
      fc.property(dag, ({ nodes, known }) => {
        // a is reachable from b when some dependency path from b reaches a, expanding only
        // messages the lookup knows (an unknown message's deps cannot be followed).
        const reaches = (b: CausalNode, a: CausalNode): boolean => {
          const seen = new Set<string>()
          const visit = (node: CausalNode): boolean =>
            node.deps.some((d) => {
              if (d === a.id) return true
              if (seen.has(d)) return false
              seen.add(d)
              const next = known.get(d)
              return next !== undefined && visit(next)
            })
          return visit(b)
        }
        for (const a of nodes) {
          for (const b of nodes) {
            expect(happenedBefore(a, b, (id) => known.get(id)), `${a.id} -> ${b.id}`).toBe(reaches(b, a))
          }
        }
      }),
      { numRuns: 300 }
    )
  })
})

describe("causal order", () => {
  const key = keyOf("ed25519", 1)
  const messages = fc
    .uniqueArray(fc.record({ nonce: fc.nat(1_000_000), lamport: fc.integer({ min: 1, max: 4 }) }), {
      minLength: 1,
      maxLength: 10,
      selector: (m) => m.nonce
    })
    .map((ms) =>
      ms.map(({ nonce, lamport }) => {
        const e = envelope(key, { nonce, lamport, payload: { component: "c", status: "ok", latencyMs: 0 } })
        return { id: idOf(e), lamport: e.lamport }
      })
    )

  it("is the same for every arrival order: by Lamport time, then id", () => {
    fc.assert(
      fc.property(
        messages.chain((ms) => fc.tuple(fc.constant(ms), fc.shuffledSubarray(ms, { minLength: ms.length, maxLength: ms.length }))),
        ([arrivedFirst, arrivedSecond]) => {
          const order = (arrival: ReadonlyArray<{ id: string; lamport: number }>) => [...arrival].sort(compareCausal).map((m) => m.id)
          const reference = [...arrivedFirst]
            .sort((a, b) => (a.lamport !== b.lamport ? a.lamport - b.lamport : a.id < b.id ? -1 : 1))
            .map((m) => m.id)
          expect(order(arrivedSecond)).toEqual(order(arrivedFirst))
          expect(order(arrivedFirst)).toEqual(reference)
          for (const a of arrivedFirst) {
            for (const b of arrivedFirst) {
              expect(Math.sign(compareCausal(a, b))).toBe(-Math.sign(compareCausal(b, a)) || 0)
              if (a !== b) expect(compareCausal(a, b)).not.toBe(0)
            }
          }
        }
      ),
      { numRuns: 200 }
    )
  })
})
