import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Result } from "effect"
import * as InstanceKeyFile from "../../src/adapters/files/InstanceKeyFile.ts"
import * as MemoryCausalLog from "../../src/adapters/storage/MemoryCausalLog.ts"
import * as NodeCryptoSignatureVerifier from "../../src/adapters/signatures/NodeCryptoSignatureVerifier.ts"
import { idOf } from "../../src/domain/Envelope.ts"
import type { MessageId } from "../../src/domain/Primitives.ts"
import { CausalLog } from "../../src/ports/CausalLog.ts"
import * as Author from "../../src/services/Author.ts"
import * as Ingest from "../../src/services/Ingest.ts"
import { envelope, healthPayload, testKey } from "../support/fixtures.ts"

const instance = testKey("instance")

/** Author over ingest over a memory log; the instance key exempt from a tiny rate limit. */
const stack = Author.layer.pipe(
  Layer.provideMerge(
    Ingest.layer({ ...Ingest.defaultOptions, rate: { ratePerSec: 1, burst: 2 }, exemptSenders: [instance.publicKey] })
  ),
  Layer.provideMerge(Layer.mergeAll(MemoryCausalLog.layerMemory, NodeCryptoSignatureVerifier.layer, InstanceKeyFile.layerKey(instance)))
)

describe("Author", () => {
  it.effect("signs events with the instance key, with increasing nonces and Lamport times above clock and deps", () =>
    Effect.gen(function*() {
      const author = yield* Author.Author
      const log = yield* CausalLog
      const ingest = yield* Ingest.Ingest
      const outside = envelope(testKey("alice"), { lamport: 40 })
      yield* ingest.submit(outside)
      const receipts = []
      for (let i = 0; i < 5; i++) receipts.push(yield* author.publish("NetworkHealth", healthPayload(i), { deps: [idOf(outside) as MessageId] }))
      expect(receipts.map((r) => r.offset)).toEqual([1, 2, 3, 4, 5])
      for (let i = 1; i < receipts.length; i++) expect(receipts[i]!.lamport).toBeGreaterThan(receipts[i - 1]!.lamport)
      expect(receipts[0]!.lamport).toBeGreaterThan(40)
      const records = yield* log.read(1, 6)
      expect(records.map((r) => r.sender)).toEqual(Array(5).fill(instance.publicKey))
      expect(records.map((r) => r.nonce)).toEqual([0, 1, 2, 3, 4])
      expect(records.every((r) => r.deps.length === 1 && r.deps[0] === idOf(outside))).toBe(true)
      expect(author.publicKey).toBe(instance.publicKey)
    }).pipe(Effect.provide(stack)))

  it.effect("is not rate limited (the limit holds for others), and publishes concurrently without nonce clashes", () =>
    Effect.gen(function*() {
      const author = yield* Author.Author
      const ingest = yield* Ingest.Ingest
      const results = yield* Effect.forEach(Array.from({ length: 20 }, (_, i) => i), (i) => Effect.result(author.publish("NetworkHealth", healthPayload(i))), { concurrency: "unbounded" })
      expect(results.filter(Result.isSuccess)).toHaveLength(20)
      const bob = testKey("bob")
      const others = yield* ingest.submitMany([1, 2, 3, 4].map((n) => envelope(bob, { nonce: n, lamport: 100 + n })))
      expect(others.filter(Result.isFailure).map((r) => Result.isFailure(r) && r.failure._tag)).toContain("RateLimited")
    }).pipe(Effect.provide(stack)))

  it.effect("resumes the nonce sequence from the log after a restart", () =>
    Effect.gen(function*() {
      const log = yield* CausalLog
      const ingest = yield* Ingest.Ingest
      const first = yield* Author.make
      yield* first.publish("NetworkHealth", healthPayload(1))
      yield* first.publish("NetworkHealth", healthPayload(2))
      const second = yield* Author.make.pipe(Effect.provideService(CausalLog, log), Effect.provideService(Ingest.Ingest, ingest))
      const r = yield* second.publish("NetworkHealth", healthPayload(3))
      expect((yield* log.read(r.offset, r.offset + 1))[0]!.nonce).toBe(2)
    }).pipe(Effect.provide(stack)))
})

describe("InstanceKeyFile", () => {
  it.effect("creates a 0600 key on first use, reads the same key after, and never replaces a bad file", () =>
    Effect.gen(function*() {
      const dir = mkdtempSync(join(tmpdir(), "causeway-key-"))
      yield* Effect.addFinalizer(() => Effect.sync(() => rmSync(dir, { recursive: true, force: true })))
      const path = join(dir, "sub", "instance.key")
      expect(yield* InstanceKeyFile.readPublicKey(path)).toBeUndefined()
      const created = yield* InstanceKeyFile.loadOrCreate(path)
      expect(statSync(path).mode & 0o777).toBe(0o600)
      expect(yield* InstanceKeyFile.loadOrCreate(path)).toEqual(created)
      expect(yield* InstanceKeyFile.readPublicKey(path)).toBe(created.publicKey)
      writeFileSync(path, "{\"scheme\":\"ed25519\"}")
      const error = yield* Effect.flip(InstanceKeyFile.loadOrCreate(path))
      expect(error._tag).toBe("InstanceKeyError")
      expect(error.message).toMatch(/not a key file/)
      expect(readFileSync(path, "utf8")).toBe("{\"scheme\":\"ed25519\"}")
    }))

  it.effect("is not created beside a data file holding data; an empty one holds nothing", () =>
    Effect.gen(function*() {
      const dir = mkdtempSync(join(tmpdir(), "causeway-key-"))
      yield* Effect.addFinalizer(() => Effect.sync(() => rmSync(dir, { recursive: true, force: true })))
      const path = join(dir, "instance.key")
      const log = join(dir, "log.sqlite")
      const dataFiles = [log, `${log}-wal`, join(dir, "projections.sqlite")]
      writeFileSync(log, "")
      const created = yield* InstanceKeyFile.loadOrCreate(path, { dataFiles })
      rmSync(path)
      writeFileSync(log, "records")
      writeFileSync(`${log}-wal`, "more")
      const error = yield* Effect.flip(InstanceKeyFile.loadOrCreate(path, { dataFiles }))
      expect(error._tag).toBe("InstanceKeyMissingError")
      expect(error).toMatchObject({ path, found: [log, `${log}-wal`] })
      expect(error.message).toContain(`restore ${path} (mode 0600) from a backup, or start with an empty data directory`)
      expect(existsSync(path)).toBe(false)
      expect(readFileSync(log, "utf8")).toBe("records")
      // Present, the key is read whatever the data files hold.
      writeFileSync(path, `${JSON.stringify(created)}\n`, { mode: 0o600 })
      expect(yield* InstanceKeyFile.loadOrCreate(path, { dataFiles })).toEqual(created)
    }))

  it.effect("a key file its group or others may open is refused with the chmod that fixes it", () =>
    Effect.gen(function*() {
      const dir = mkdtempSync(join(tmpdir(), "causeway-key-"))
      yield* Effect.addFinalizer(() => Effect.sync(() => rmSync(dir, { recursive: true, force: true })))
      const path = join(dir, "instance.key")
      const created = yield* InstanceKeyFile.loadOrCreate(path)
      for (const mode of [0o644, 0o640, 0o604, 0o620]) {
        chmodSync(path, mode)
        const error = yield* Effect.flip(InstanceKeyFile.loadOrCreate(path))
        expect(error._tag).toBe("KeyFileModeError")
        expect(error.message).toBe(`${path} has mode 0${mode.toString(8)}, open to its group or others; a key file must be its owner's only: chmod 600 ${path}`)
        expect((yield* Effect.flip(InstanceKeyFile.readPublicKey(path)))._tag).toBe("KeyFileModeError")
      }
      expect(statSync(path).mode & 0o777).toBe(0o620)
      chmodSync(path, 0o400)
      expect(yield* InstanceKeyFile.loadOrCreate(path)).toEqual(created)
    }))
})
