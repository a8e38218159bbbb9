/**
 * The Beacon port: one contract run against the local beacon and against DrandHttpBeacon
 * (fed by an in-process drand-API server relaying the same local chain), then the HTTP
 * adapter against real drand beacons from the vectors and against a relay that lies or
 * breaks, and finally tlock-js's own drand client reading our beacons and ciphertexts.
 */
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { bls12_381 } from "@noble/curves/bls12-381.js"
import { bytesToHex } from "@noble/hashes/utils.js"
import { sha256, sha384 } from "@noble/hashes/sha2.js"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Effect, Fiber, Layer, Result } from "effect"
import { TestClock } from "effect/testing"
import { HttpCachingChain, HttpChainClient, timelockDecrypt, timelockEncrypt } from "tlock-js"
import * as DrandHttpBeacon from "../../src/adapters/beacon/DrandHttpBeacon.ts"
import * as LocalBeacon from "../../src/adapters/beacon/LocalBeacon.ts"
import * as LocalBeaconFile from "../../src/adapters/beacon/LocalBeaconFile.ts"
import { signRound, verifyBeacon } from "../../src/domain/timelock/BeaconVerification.ts"
import { type ChainInfo, checkChainHash, roundAt } from "../../src/domain/timelock/ChainInfo.ts"
import { decryptWithSignature, encryptToRound } from "../../src/domain/timelock/Tlock.ts"
import { awaitRound, Beacon, currentRound } from "../../src/ports/Beacon.ts"
import { type DrandServer, infoJson, startDrandServer } from "./drandServer.ts"
import { beaconCases, decryptCases, network } from "./vectors.ts"

const utf8 = (s: string) => new TextEncoder().encode(s)
const text = (b: Uint8Array) => new TextDecoder().decode(b)

// A fixed key so failures reproduce; genesis at unix 1,000,000 s, rounds every 3 s.
const secretKey = bls12_381.utils.randomSecretKey(sha384(utf8("causeway beacon test key")))
const localOptions: LocalBeacon.LocalBeaconOptions = { secretKey, genesisTime: 1_000_000 }
const localInfo = LocalBeacon.chainInfoOf(localOptions)
const at = (round: number) => (localInfo.genesisTime + (round - 1) * localInfo.period) * 1000

/** A relay of the local chain: signs whatever round it is asked for (the adapter must not ask early). */
const localRelay = (): Promise<DrandServer> =>
  startDrandServer({
    info: (hash) => (hash === localInfo.chainHash ? { json: infoJson(localInfo) } : { status: 404 }),
    round: (hash, round) => {
      if (hash !== localInfo.chainHash) return { status: 404 }
      const signature = signRound(secretKey, round)
      return { json: { round, signature, randomness: bytesToHex(sha256(Uint8Array.from(Buffer.from(signature, "hex")))) } }
    }
  })

const beaconContract = (name: string, layer: () => Layer.Layer<Beacon, unknown>) =>
  describe(`Beacon contract: ${name}`, () => {
    const run = <A, E>(effect: Effect.Effect<A, E, Beacon>) => effect.pipe(Effect.provide(layer()))

    it.effect("chain info checks, is quicknet's scheme and schedules rounds from genesis", () =>
      run(Effect.gen(function*() {
        const beacon = yield* Beacon
        expect(Result.isSuccess(checkChainHash(beacon.chainInfo))).toBe(true)
        expect(beacon.chainInfo.scheme).toBe("bls-unchained-g1-rfc9380")
        expect(beacon.roundAt(at(1) - 1)).toBe(0)
        expect(beacon.roundAt(at(1))).toBe(1)
        expect(beacon.roundAt(at(7) + 2999)).toBe(7)
        yield* TestClock.setTime(at(10) + 5)
        expect(yield* currentRound).toBe(10)
      })))

    it.effect("a round not yet due is refused with RoundNotReached, a due one is verified", () =>
      run(Effect.gen(function*() {
        const beacon = yield* Beacon
        yield* TestClock.setTime(at(10))
        const early = yield* Effect.flip(beacon.fetchRound(11))
        expect(early._tag).toBe("RoundNotReached")
        if (early._tag === "RoundNotReached") expect(early.availableAtMs).toBe(at(11))
        const b = yield* beacon.fetchRound(10)
        expect(b.round).toBe(10)
        expect(b.randomness).toBe(bytesToHex(sha256(Uint8Array.from(Buffer.from(b.signature, "hex")))))
        expect(Result.isSuccess(verifyBeacon(beacon.chainInfo, b, 10))).toBe(true)
      })))

    it.effect("rounds that are not positive integers are invalid", () =>
      run(Effect.gen(function*() {
        const beacon = yield* Beacon
        yield* TestClock.setTime(at(10))
        for (const r of [0, -1, 1.5, Number.NaN]) expect((yield* Effect.flip(beacon.fetchRound(r)))._tag).toBe("InvalidBeacon")
      })))

    it.effect("a ciphertext locked to a future round opens once awaitRound returns that round", () =>
      run(Effect.gen(function*() {
        const beacon = yield* Beacon
        yield* TestClock.setTime(at(20))
        const locked = encryptToRound(beacon.chainInfo, 25, utf8("sell 10 ETH at 3000"))
        const fiber = yield* Effect.forkChild(awaitRound(25))
        yield* TestClock.adjust("14 seconds")
        expect(fiber.pollUnsafe()).toBeUndefined()
        yield* TestClock.adjust("2 seconds")
        const b = yield* Fiber.join(fiber)
        const opened = decryptWithSignature(locked, b.signature, { chainHash: beacon.chainInfo.chainHash, round: b.round })
        expect(Result.isSuccess(opened) && text(opened.success)).toBe("sell 10 ETH at 3000")
      })))
  })

beaconContract("local", () => LocalBeacon.layerWith(localOptions))

describe("DrandHttpBeacon relaying the local chain", () => {
  let relay: DrandServer
  beforeAll(async () => {
    relay = await localRelay()
  })
  afterAll(() => relay.close())
  beaconContract("drand HTTP", () => DrandHttpBeacon.layerWith({ baseUrl: relay.baseUrl, chainHash: localInfo.chainHash }))

  it.effect("never asks the relay for a round that is not due", () =>
    Effect.gen(function*() {
      const beacon = yield* Beacon
      yield* TestClock.setTime(at(5))
      const before = relay.requests.length
      yield* Effect.flip(beacon.fetchRound(6))
      expect(relay.requests.length).toBe(before)
      yield* beacon.fetchRound(5)
      expect(relay.requests.slice(before)).toEqual([`/${localInfo.chainHash}/public/5`])
    }).pipe(Effect.provide(DrandHttpBeacon.layerWith({ baseUrl: relay.baseUrl, chainHash: localInfo.chainHash }))))
})

/** Fetch a round from the Beacon in context. */
const fetchWith = (round: number) => Effect.gen(function*() {
  const beacon = yield* Beacon
  return yield* beacon.fetchRound(round)
})

/** A relay serving fixed vector beacons for one network. */
const vectorRelay = (info: ChainInfo, beacons: Record<number, unknown>, infoOverride?: unknown) =>
  startDrandServer({
    info: () => ({ json: infoOverride ?? infoJson(info) }),
    round: (_, round) => (round in beacons ? { json: beacons[round] } : { status: 404 })
  })

describe("DrandHttpBeacon against real drand beacons (vectors)", () => {
  const now = Date.parse("2025-01-01T00:00:00Z")
  const cases = [
    { net: "quicknet", name: "quicknet round 12040883" },
    { net: "default", name: "default chained round 1" },
    { net: "default", name: "default chained round 2634945" },
    { net: "testnet-unchained-3s", name: "testnet-unchained-3s round 19369534" },
    { net: "fastnet", name: "fastnet round 2" },
    { net: "walkthrough", name: "walkthrough rfc9380 round 38" }
  ]
  for (const { net, name } of cases) {
    it.effect(`${name} via /info and /public/{round}`, () =>
      Effect.gen(function*() {
        const c = beaconCases.find((b) => b.name === name)
        expect(c).toBeDefined()
        if (c === undefined) return
        const info = network(net)
        const served = {
          round: c.round,
          signature: c.signature,
          randomness: c.randomness ?? bytesToHex(sha256(Uint8Array.from(Buffer.from(c.signature, "hex")))),
          ...(c.previous_signature !== undefined ? { previous_signature: c.previous_signature } : {})
        }
        const server = yield* Effect.acquireRelease(Effect.promise(() => vectorRelay(info, { [c.round]: served })), (s) => Effect.promise(() => s.close()))
        yield* TestClock.setTime(now)
        const b = yield* Effect.gen(function*() {
          const beacon = yield* Beacon
          expect(beacon.chainInfo.publicKey).toBe(info.publicKey)
          return yield* beacon.fetchRound(c.round)
        }).pipe(Effect.provide(DrandHttpBeacon.layerWith({ baseUrl: server.baseUrl, chainHash: info.chainHash })))
        expect(b.signature).toBe(c.signature)
      }))
  }

  it.effect("the fetched quicknet beacon opens the tlock vector ciphertext", () =>
    Effect.gen(function*() {
      const c = beaconCases.find((b) => b.name === "quicknet round 12040883")
      const ct = decryptCases[0]
      if (c === undefined || ct === undefined) throw new Error("vectors missing")
      const info = network("quicknet")
      const server = yield* Effect.acquireRelease(
        Effect.promise(() => vectorRelay(info, { [c.round]: { round: c.round, signature: c.signature, randomness: c.randomness } })),
        (s) => Effect.promise(() => s.close())
      )
      yield* TestClock.setTime(now)
      const b = yield* fetchWith(ct.round).pipe(
        Effect.provide(DrandHttpBeacon.layerWith({ baseUrl: server.baseUrl, chainHash: info.chainHash }))
      )
      const opened = decryptWithSignature(ct.ciphertext_armored, b.signature, { chainHash: info.chainHash, round: b.round })
      expect(Result.isSuccess(opened) && text(opened.success)).toBe("hello world")
    }))

  const quicknet = network("quicknet")
  const good = beaconCases.find((b) => b.name === "quicknet round 12040883")
  /** Round 12040883 served with this signature and its (consistent) randomness. */
  const served = (signature: string | undefined) => ({
    round: 12040883,
    signature,
    randomness: bytesToHex(sha256(Uint8Array.from(Buffer.from(signature ?? "", "hex"))))
  })
  const faults: ReadonlyArray<{ name: string; served: unknown; status?: number; text?: string; expected: string }> = [
    { name: "a signature of another round", served: served(beaconCases.find((b) => b.name === "walkthrough rfc9380 round 38")?.signature), expected: "InvalidBeacon" },
    { name: "the right signature with one bit flipped", served: served(`${good?.signature.slice(0, -1)}5`), expected: "InvalidBeacon" },
    { name: "another round than asked for", served: { round: 12040884, signature: good?.signature, randomness: good?.randomness }, expected: "InvalidBeacon" },
    { name: "randomness that is not sha256(signature)", served: { round: 12040883, signature: good?.signature, randomness: "00".repeat(32) }, expected: "InvalidBeacon" },
    { name: "a body that is not JSON", served: undefined, text: "<html>", expected: "BeaconUnavailableError" },
    { name: "JSON of the wrong shape", served: { round: "12040883", signature: good?.signature }, expected: "BeaconUnavailableError" },
    { name: "HTTP 500", served: undefined, status: 500, expected: "BeaconUnavailableError" },
    { name: "HTTP 425 Too Early", served: undefined, status: 425, expected: "RoundNotReached" }
  ]
  for (const f of faults) {
    it.effect(`a relay answering ${f.name} → ${f.expected}`, () =>
      Effect.gen(function*() {
        const server = yield* Effect.acquireRelease(
          Effect.promise(() =>
            startDrandServer({
              info: () => ({ json: infoJson(quicknet) }),
              round: () => ({ ...(f.status !== undefined ? { status: f.status } : {}), ...(f.text !== undefined ? { text: f.text } : { json: f.served }) })
            })
          ),
          (s) => Effect.promise(() => s.close())
        )
        yield* TestClock.setTime(now)
        const error = yield* Effect.flip(fetchWith(12040883)).pipe(
          Effect.provide(DrandHttpBeacon.layerWith({ baseUrl: server.baseUrl, chainHash: quicknet.chainHash }))
        )
        expect(error._tag).toBe(f.expected)
      }))
  }

  const infoFaults: ReadonlyArray<{ name: string; info: unknown }> = [
    { name: "a swapped public key", info: { ...infoJson(quicknet), public_key: network("walkthrough").publicKey } },
    { name: "another chain's info", info: infoJson(network("quicknet-t")) },
    { name: "an unknown scheme", info: { ...infoJson(quicknet), schemeID: "bls-made-up" } }
  ]
  for (const f of infoFaults) {
    it.effect(`the layer refuses to start on ${f.name}`, () =>
      Effect.gen(function*() {
        const server = yield* Effect.acquireRelease(Effect.promise(() => vectorRelay(quicknet, {}, f.info)), (s) => Effect.promise(() => s.close()))
        const error = yield* Effect.flip(Layer.build(DrandHttpBeacon.layerWith({ baseUrl: server.baseUrl, chainHash: quicknet.chainHash })))
        expect(error._tag).toBe("BeaconUnavailableError")
      }))
  }

  it.effect("an unreachable relay fails the layer with BeaconUnavailableError", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(Layer.build(DrandHttpBeacon.layerWith({ baseUrl: "http://127.0.0.1:9", chainHash: quicknet.chainHash, timeoutMs: 2000 })))
      expect(error._tag).toBe("BeaconUnavailableError")
    }))
})

describe("interoperability with tlock-js 0.9.0 and drand-client", () => {
  // Genesis in the past: tlock-js checks "too early" against the real clock.
  const past: LocalBeacon.LocalBeaconOptions = { secretKey, genesisTime: Math.floor(Date.now() / 1000) - 3600 }
  const info = LocalBeacon.chainInfoOf(past)
  let relay: DrandServer
  let client: HttpChainClient
  beforeAll(async () => {
    relay = await startDrandServer({
      info: () => ({ json: infoJson(info) }),
      round: (_, round) => {
        if (round > roundAt(info, Date.now())) return { status: 425 }
        const signature = signRound(secretKey, round)
        return { json: { round, signature, randomness: bytesToHex(sha256(Uint8Array.from(Buffer.from(signature, "hex")))) } }
      }
    })
    const options = { disableBeaconVerification: false, noCache: true, chainVerificationParams: { chainHash: info.chainHash, publicKey: info.publicKey } }
    client = new HttpChainClient(new HttpCachingChain(`${relay.baseUrl}/${info.chainHash}`, options), options)
  })
  afterAll(() => relay.close())

  it("tlock-js decrypts our ciphertext, after drand-client verified our beacon's signature", async () => {
    const round = roundAt(info, Date.now()) - 5
    const ours = encryptToRound(info, round, utf8("buy 1 BTC, limit 60000"))
    const plain = await timelockDecrypt(ours, client)
    expect(plain.toString("utf8")).toBe("buy 1 BTC, limit 60000")
  })

  it("we decrypt tlock-js's ciphertext with our beacon's signature", async () => {
    const round = roundAt(info, Date.now()) - 3
    const theirs = await timelockEncrypt(round, Buffer.from("cancel order 42"), client)
    const opened = decryptWithSignature(theirs, signRound(secretKey, round), { chainHash: info.chainHash, round })
    expect(Result.isSuccess(opened) && text(opened.success)).toBe("cancel order 42")
  })

  it("tlock-js refuses our ciphertext with the wrong round's beacon", async () => {
    const round = roundAt(info, Date.now()) - 2
    const ours = encryptToRound(info, round, utf8("x"))
    // Relay serving round+1's signature under round's number: drand-client's verification rejects it.
    const lying = await startDrandServer({
      info: () => ({ json: infoJson(info) }),
      round: (_, r) => ({ json: { round: r, signature: signRound(secretKey, r + 1), randomness: "00" } })
    })
    try {
      const options = { disableBeaconVerification: true, noCache: true }
      const c = new HttpChainClient(new HttpCachingChain(`${lying.baseUrl}/${info.chainHash}`, options), options)
      await expect(timelockDecrypt(ours, c)).rejects.toThrow()
    } finally {
      await lying.close()
    }
  })

  it("the local key's public key is on G2 and signatures on G1, like quicknet", () => {
    expect(info.publicKey.length).toBe(192)
    expect(signRound(secretKey, 1).length).toBe(96)
    expect(bls12_381.shortSignatures.getPublicKey(secretKey).toBytes(true).length).toBe(96)
  })
})

describe("LocalBeaconFile", () => {
  const dir = mkdtempSync(join(tmpdir(), "causeway-beacon-"))
  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  it.effect("creates the key on first start (0600, genesis = now) and reads the same chain afterwards", () =>
    Effect.gen(function*() {
      const path = join(dir, "data", "beacon.key")
      yield* TestClock.setTime(1_700_000_000_500)
      const first = yield* LocalBeaconFile.loadOrCreate(path)
      expect(first.genesisTime).toBe(1_700_000_000)
      expect(statSync(path).mode & 0o777).toBe(0o600)
      yield* TestClock.adjust("1 hour")
      const again = yield* LocalBeaconFile.loadOrCreate(path)
      expect(LocalBeacon.chainInfoOf(again)).toEqual(LocalBeacon.chainInfoOf(first))
      const info = yield* Effect.gen(function*() {
        return (yield* Beacon).chainInfo
      }).pipe(Effect.provide(LocalBeaconFile.layer(path)))
      expect(info.chainHash).toBe(LocalBeacon.chainInfoOf(first).chainHash)
    }))

  it.effect("a file that does not decode is an error, not replaced", () =>
    Effect.gen(function*() {
      const path = join(dir, "broken.key")
      writeFileSync(path, "{\"v\":1}\n", { mode: 0o600 })
      const error = yield* Effect.flip(LocalBeaconFile.loadOrCreate(path))
      expect(error._tag).toBe("BeaconUnavailableError")
      expect(readFileSync(path, "utf8")).toBe("{\"v\":1}\n")
      writeFileSync(path, JSON.stringify({ v: 1, secretKey: "ff".repeat(32), genesisTime: 0, period: 3, beaconId: "x" }))
      expect((yield* Effect.flip(LocalBeaconFile.loadOrCreate(path)))._tag).toBe("BeaconUnavailableError")
    }))

  it.effect("a key file its group or others may open is refused with the chmod that fixes it, and left as it is", () =>
    Effect.gen(function*() {
      const path = join(dir, "open", "beacon.key")
      const created = yield* LocalBeaconFile.loadOrCreate(path)
      const text = readFileSync(path, "utf8")
      chmodSync(path, 0o644)
      const error = yield* Effect.flip(LocalBeaconFile.loadOrCreate(path))
      expect(error._tag).toBe("KeyFileModeError")
      expect(error.message).toBe(`${path} has mode 0644, open to its group or others; a key file must be its owner's only: chmod 600 ${path}`)
      expect(readFileSync(path, "utf8")).toBe(text)
      chmodSync(path, 0o600)
      expect(LocalBeacon.chainInfoOf(yield* LocalBeaconFile.loadOrCreate(path))).toEqual(LocalBeacon.chainInfoOf(created))
    }))
})
