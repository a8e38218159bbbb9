/**
 * The instance as an author: it signs events of its own with the instance key and submits
 * them through the same ingest pipeline as every sender, so they are verified, stamped,
 * appended and replayed like any message. Publications are serialized: each takes the next
 * nonce and a Lamport time above the instance clock and above its dependencies.
 */
import { createPrivateKey, hash, type KeyObject, sign } from "node:crypto"
import { Context, Effect, Layer, Result, Semaphore } from "effect"
import type { AuthorityConfig } from "../domain/cluster/Authority.ts"
import { canonicalBytes } from "../domain/CanonicalJson.ts"
import { type Envelope, PROTOCOL_VERSION, signingBytes, type UnsignedEnvelope, unsignedOf } from "../domain/Envelope.ts"
import { type KeyFile, signEnvelope } from "../domain/Keys.ts"
import type { Hex } from "../domain/Primitives.ts"
import type { MessageType, PayloadInput } from "../domain/MessageTypes.ts"
import type { MessageId } from "../domain/Primitives.ts"
import type { Rejection } from "../domain/Rejection.ts"
import { CausalLog, type CausalLogError } from "../ports/CausalLog.ts"
import { authorityConfig, InstanceKey } from "../ports/InstanceKey.ts"
import { Ingest, type Appended } from "./Ingest.ts"

/** Options of one publication. */
export interface PublishOptions {
  /** Ids of earlier messages this event depends on (any order; duplicates removed). */
  readonly deps?: ReadonlyArray<MessageId>
  /** Unix ms after which the event is stale, or none. */
  readonly expiry?: number | null
}

/** The author service. */
export interface AuthorService {
  /** The instance's public key (hex): the sender of every event it authors. */
  readonly publicKey: string
  /** Who decides in this deployment (the instance, or the cluster admin's members): what its projections are built with. */
  readonly authority: AuthorityConfig
  /** Sign and submit an event; its receipt once durable. */
  readonly publish: <T extends MessageType>(
    type: T,
    payload: PayloadInput<T>,
    options?: PublishOptions
  ) => Effect.Effect<Appended, Rejection | CausalLogError>
  /**
   * Sign and submit several events as one batch (one append where ingest can): each takes the
   * next nonce and a Lamport time above the one before. Their dependencies must already be in
   * the log. Their receipts in order, or the first failure (those before it may be appended).
   */
  readonly publishMany: (
    events: ReadonlyArray<PublishedEvent>
  ) => Effect.Effect<ReadonlyArray<Appended>, Rejection | CausalLogError>
}

/** One event of a batch publication. */
export type PublishedEvent = { readonly [T in MessageType]: { readonly type: T; readonly payload: PayloadInput<T>; readonly options?: PublishOptions } }[MessageType]

// PKCS#8 DER of an Ed25519 private key is this prefix and the 32-byte seed (RFC 8410).
const ED25519_PKCS8_PREFIX = Buffer.from("302e020100300506032b657004220420", "hex")

/**
 * Sign as `signEnvelope` does, byte for byte (Ed25519 signatures are deterministic), through
 * node:crypto: OpenSSL hashes the canonical text and signs in tens of µs where noble takes
 * most of a millisecond, and the instance signs every decision it publishes (a block of
 * effects is tens of KiB). secp256k1 keys keep noble.
 */
export const envelopeSigner = (key: KeyFile): (<P>(unsigned: Omit<UnsignedEnvelope<P>, "scheme" | "sender">) => Envelope<P>) => {
  if (key.scheme !== "ed25519") return (unsigned) => signEnvelope(key, unsigned)
  const secret: KeyObject = createPrivateKey({ key: Buffer.concat([ED25519_PKCS8_PREFIX, Buffer.from(key.secretKey, "hex")]), format: "der", type: "pkcs8" })
  return <P>(unsigned: Omit<UnsignedEnvelope<P>, "scheme" | "sender">): Envelope<P> => {
    const body: UnsignedEnvelope<P> = { ...unsigned, scheme: key.scheme, sender: key.publicKey as Hex }
    const id = hash("sha256", canonicalBytes(unsignedOf(body)), "buffer")
    const sig = sign(null, signingBytes(id), secret)
    return { ...body, sig: sig.toString("hex") as Hex }
  }
}

/** The author service tag. */
export class Author extends Context.Service<Author, AuthorService>()("causeway/Author") {}

/** Build the author over the instance key, the log and the ingest pipeline. */
export const make = Effect.gen(function*() {
  const key = yield* InstanceKey
  const authority = yield* authorityConfig
  const log = yield* CausalLog
  const ingest = yield* Ingest
  const lock = Semaphore.makeUnsafe(1)
  const highest = yield* log.highestNonce(key.publicKey)
  let nonce = highest._tag === "Some" ? highest.value : -1
  const signed = envelopeSigner(key)

  const publish = Effect.fn("Author.publish")(function*<T extends MessageType>(type: T, payload: PayloadInput<T>, options?: PublishOptions) {
    const deps = [...new Set(options?.deps ?? [])].sort() as Array<MessageId>
    const refs = deps.length > 0 ? yield* log.lookup(deps) : new Map()
    let lamport = (yield* ingest.clock) + 1
    for (const d of deps) lamport = Math.max(lamport, (refs.get(d)?.lamport ?? 0) + 1)
    nonce += 1
    const envelope = signed({
      v: PROTOCOL_VERSION,
      flags: 0,
      type,
      nonce,
      lamport,
      deps,
      expiry: options?.expiry ?? null,
      payload
    })
    return yield* ingest.submit(envelope)
  }, (effect) => lock.withPermits(1)(effect))

  const publishMany = Effect.fn("Author.publishMany")(function*(events: ReadonlyArray<PublishedEvent>) {
    const allDeps = [...new Set(events.flatMap((e) => e.options?.deps ?? []))] as Array<MessageId>
    const refs = allDeps.length > 0 ? yield* log.lookup(allDeps) : new Map()
    let lamport = yield* ingest.clock
    const envelopes = events.map((e) => {
      const deps = [...new Set(e.options?.deps ?? [])].sort() as Array<MessageId>
      lamport += 1
      for (const d of deps) lamport = Math.max(lamport, (refs.get(d)?.lamport ?? 0) + 1)
      nonce += 1
      return signed({ v: PROTOCOL_VERSION, flags: 0, type: e.type, nonce, lamport, deps, expiry: e.options?.expiry ?? null, payload: e.payload })
    })
    const results = yield* ingest.submitMany(envelopes)
    const receipts: Array<Appended> = []
    for (const r of results) {
      if (Result.isFailure(r)) return yield* Effect.fail(r.failure)
      receipts.push(r.success)
    }
    return receipts
  }, (effect) => lock.withPermits(1)(effect))

  return { publicKey: key.publicKey, authority, publish, publishMany } satisfies AuthorService
})

/** The author as a layer over InstanceKey, CausalLog and Ingest. */
export const layer = Layer.effect(Author, make)
