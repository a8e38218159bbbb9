/**
 * The Cosmos observer (cosmjs + the domain light client) against the in-process CometBFT
 * RPC server: no CometBFT node runs on this machine, so the chain is built in the test with
 * real Ed25519 validator keys (test/cosmos/support). It follows the chain across validator-set
 * changes (bisection where a skip lacks trust, 64-validator sets fetched in pages), rejects
 * a forged commit signature, a wrong validator set and a root of trust past the trusting
 * period, reports a witness's conflicting header as misbehaviour, and proves store values
 * and absences against verified app hashes while rejecting a forged value. It reads the
 * acknowledgement a destination wrote from its write_acknowledgement event (v1: `packet_ack_hex`,
 * or the deprecated `packet_ack`; v2: the decoded `encoded_acknowledgement_hex`), for the
 * packet asked about only.
 */
import { Effect, Fiber, Result, Schema, Stream } from "effect"
import { afterEach, describe, expect, it } from "vitest"
import * as CosmjsCosmosObserver from "../../src/adapters/cosmos/CosmjsCosmosObserver.ts"
import * as NodeCryptoCommitVerifier from "../../src/adapters/cosmos/NodeCryptoCommitVerifier.ts"
import { verifyStoreProof } from "../../src/adapters/cosmos/StoreProof.ts"
import { ChainMisbehaviourDetected } from "../../src/domain/chain/ChainMessages.ts"
import { headerHash } from "../../src/domain/verify/cometbft/CometBftLightClient.ts"
import type { ChainObserverError, ChainObserverService, HeadEvent, MisbehaviourEvidence } from "../../src/ports/ChainObserver.ts"
import { type TestValidator, makeValidators, seconds } from "../verify/cometbft/ChainBuilder.ts"
import { type CometBftRpcServer, startCometBftRpcServer } from "./support/CometBftRpcServer.ts"
import { ICS20_ERROR_ACK, ICS20_SUCCESS_ACK, type TestPacket, type TestPacketV2, transferData, transferPayloadV2, UNIVERSAL_ERROR_ACK, writeAcknowledgementTx, writeAcknowledgementV2Tx } from "./support/IbcStore.ts"
import { TestChain } from "./support/TestChain.ts"

const CHAIN = "cosmos-test-1"
const enc = (s: string) => new TextEncoder().encode(s)
const hex = (b: Uint8Array) => Buffer.from(b).toString("hex")
const keyOf = (store: string, key: string) => `${store}/${hex(enc(key))}`

// Validator sets: A for 1..5, half A half B for 6..8, B for 9..12, then 64 validators (two RPC pages).
const A = makeValidators(4, "a")
const B = makeValidators(4, "b")
const M = [...A.slice(0, 2), ...B.slice(0, 2)]
const BIG = makeValidators(64, "big")
const schedule = (h: number): ReadonlyArray<TestValidator> => (h <= 5 ? A : h <= 8 ? M : h <= 12 ? B : BIG)

const servers: Array<CometBftRpcServer> = []
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()))
})

const newChain = (ageSeconds = 600): TestChain =>
  new TestChain({
    chainId: CHAIN,
    genesisTimeNanos: BigInt(Date.now() - ageSeconds * 1000) * 1_000_000n,
    blockIntervalNanos: seconds(1),
    validatorsAt: schedule,
    genesisState: new Map([
      ["acc", new Map([[hex(enc("carol")), enc("acct-carol")]])],
      ["bank", new Map([[hex(enc("alice")), enc("100")], [hex(enc("bob")), enc("7")], [hex(enc("dave")), enc("3")]])],
      ["kv", new Map([[hex(enc("color")), enc("red")]])]
    ])
  })

const serve = async (chain: TestChain) => {
  const server = await startCometBftRpcServer(chain)
  servers.push(server)
  return server
}

const observerFor = (server: CometBftRpcServer, options: Partial<CosmjsCosmosObserver.CosmjsCosmosObserverOptions> = {}): ChainObserverService => {
  const root = server.chain.block(1)
  if (root === undefined) throw new Error("the chain has no block 1")
  return Effect.runSync(CosmjsCosmosObserver.make({
    chain: CHAIN,
    rpc: server.url,
    trustedHeight: 1,
    trustedHash: root.blockId.hash,
    pollIntervalMs: 20,
    timeoutMs: 5_000,
    ...options
  }).pipe(Effect.provide(NodeCryptoCommitVerifier.layer)))
}

const run = <A, E>(effect: Effect.Effect<A, E>): Promise<A> => Effect.runPromise(effect)
const failureOf = <A>(effect: Effect.Effect<A, ChainObserverError>): Promise<ChainObserverError> => Effect.runPromise(Effect.flip(effect))
const hashAt = (chain: TestChain, h: number) => chain.block(h)?.blockId.hash.toLowerCase()

/** Resolves once `condition` holds (polled every 5 ms), so block production waits for the observer. */
const waitFor = async (condition: () => boolean, what: string): Promise<void> => {
  const deadline = Date.now() + 10_000
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 5))
  }
}

describe("CosmjsCosmosObserver", () => {
  it("follows the chain across validator-set changes: every height verified, linked and final", async () => {
    const chain = newChain()
    chain.produceBlocks(3)
    const server = await serve(chain)
    const observer = observerFor(server)
    const events: Array<HeadEvent> = []
    const fiber = Effect.runFork(
      observer.follow.pipe(
        Stream.tap((e) => Effect.sync(() => events.push(e))),
        Stream.takeUntil((e) => e._tag === "Finalized" && e.header.height >= 16),
        Stream.runDrain
      )
    )
    // Blocks arrive one or three at a time: adjacent steps, and skips whose heights in between are linked by hash.
    await waitFor(() => events.length > 0, "the first head")
    for (const n of [1, 3, 1, 3, 3, 2]) {
      const target = chain.height + n
      chain.produceBlocks(n)
      await waitFor(() => events.some((e) => e._tag === "Finalized" && e.header.height === target), `head ${target}`)
    }
    await run(Fiber.join(fiber))

    const heads = events.flatMap((e) => (e._tag === "Head" ? [e.header] : []))
    expect(heads.map((h) => h.height)).toEqual(Array.from({ length: 14 }, (_, i) => i + 3))
    for (const head of heads) {
      expect(head.hash).toBe(hashAt(chain, head.height))
      expect(head.stateRoot).toBe(chain.block(head.height)?.light.signed_header.header.app_hash.toLowerCase())
      if (head.height > 3) expect(head.parentHash).toBe(hashAt(chain, head.height - 1))
    }
    const finalized = events.flatMap((e) => (e._tag === "Finalized" ? [e.header.height] : []))
    expect(finalized[0]).toBe(3)
    expect(finalized.at(-1)).toBe(16)
    expect([...finalized].sort((a, b) => a - b)).toEqual(finalized)

    const tips = await run(observer.tips)
    expect(tips.latest.height).toBe(16)
    expect(tips.finalized).toEqual(tips.latest)
    expect(tips.safe).toEqual(tips.latest)
    // The 64-validator sets came in two pages.
    expect(server.calls.some((c) => c.method === "validators" && c.params["page"] === "2")).toBe(true)
  })

  it("bisects when skipping straight to the tip lacks trust (the validator set was replaced)", async () => {
    const chain = newChain()
    chain.produceBlocks(12)
    const server = await serve(chain)
    const tips = await run(observerFor(server).tips)
    expect(tips.latest.height).toBe(12)
    expect(tips.latest.hash).toBe(hashAt(chain, 12))
    const commits = server.calls.filter((c) => c.method === "commit").map((c) => Number(c.params["height"]))
    // The root, the target, and at least one pivot in between.
    expect(commits).toContain(1)
    expect(commits).toContain(12)
    expect(commits.some((h) => h > 1 && h < 12)).toBe(true)
  })

  it("rejects a forged commit signature", async () => {
    const chain = newChain()
    chain.produceBlocks(4)
    const server = await serve(chain)
    server.tamper = (method, params, result) => {
      if (method !== "commit" || params["height"] !== "4") return result
      const r = structuredClone(result) as { signed_header: { commit: { signatures: Array<{ signature: string | null }> } } }
      const first = r.signed_header.commit.signatures[0]
      if (first !== undefined) first.signature = Buffer.alloc(64, 7).toString("base64")
      return r
    }
    const e = await failureOf(observerFor(server).tips)
    expect(e.reason).toBe("InvalidHeader")
    expect(e.detail).toMatch(/^InvalidSignature/)
  })

  it("rejects a wrong validator set", async () => {
    const chain = newChain()
    chain.produceBlocks(4)
    const server = await serve(chain)
    const other = makeValidators(4, "impostor")
    server.tamper = (method, params, result) => {
      if (method !== "validators" || params["height"] !== "4") return result
      const validators = other.map((v) => ({
        address: v.address,
        pub_key: { type: "tendermint/PubKeyEd25519", value: Buffer.from(v.pubKey).toString("base64") },
        voting_power: String(v.power),
        proposer_priority: "0"
      }))
      return { block_height: "4", validators, count: "4", total: "4" }
    }
    const e = await failureOf(observerFor(server).tips)
    expect(e.reason).toBe("InvalidHeader")
    expect(e.detail).toMatch(/^InvalidValidatorSet/)
  })

  it("rejects a root of trust past the trusting period, and a root with the wrong hash", async () => {
    const chain = newChain(2 * 3600)
    chain.produceBlocks(3)
    const server = await serve(chain)
    const expired = await failureOf(observerFor(server, { trustingPeriod: String(seconds(3600)) }).tips)
    expect(expired.reason).toBe("InvalidHeader")
    expect(expired.detail).toMatch(/NotWithinTrustPeriod/)
    // The same chain is fine with a trusting period that covers it.
    expect((await run(observerFor(server, { trustingPeriod: String(seconds(3 * 3600)) }).tips)).latest.height).toBe(3)
    const wrong = await failureOf(observerFor(server, { trustedHash: "AB".repeat(32) }).tips)
    expect(wrong.reason).toBe("InvalidHeader")
    expect(wrong.detail).toMatch(/root of trust rejected/)
  })

  it("reports a witness serving a conflicting header as misbehaviour, with both headers, and halts", async () => {
    const chain = newChain()
    chain.produceBlocks(5)
    const fork = chain.fork()
    chain.produceBlocks(3, { writes: [{ store: "bank", key: hex(enc("alice")), value: enc("1") }] })
    // The same validators sign another history: a light-client attack on whoever trusts the witness.
    fork.produceBlocks(3, { writes: [{ store: "bank", key: hex(enc("alice")), value: enc("1000000") }] })
    const primary = await serve(chain)
    const witness = await serve(fork)
    const honest = await serve(chain)
    const observer = observerFor(primary, { witnesses: [honest.url, witness.url] })

    const events: Array<HeadEvent> = []
    const outcome = await run(
      Effect.flip(observer.follow.pipe(Stream.tap((e) => Effect.sync(() => events.push(e))), Stream.runDrain)).pipe(
        Effect.timeout("10 seconds"),
        Effect.orDie
      )
    )
    expect(outcome.reason).toBe("Disagreement")
    const event = events.find((e) => e._tag === "Misbehaviour")
    if (event?._tag !== "Misbehaviour") throw new Error("no misbehaviour event")
    const evidence: MisbehaviourEvidence = event.evidence
    expect(evidence.height).toBe(8)
    expect(evidence.primary.header.hash).toBe(hashAt(chain, 8))
    expect(evidence.witness.header.hash).toBe(hashAt(fork, 8))
    expect(evidence.primary.header.hash).not.toBe(evidence.witness.header.hash)
    expect(evidence.witness.endpoint).toBe(witness.url)
    expect(evidence.commonHeight).toBeLessThan(8)
    expect(evidence.commonHash).toBe(hashAt(chain, evidence.commonHeight))
    expect(outcome.cause).toBe(evidence)
    const detail = JSON.parse(outcome.detail) as { primary: { hash: string }; witness: { hash: string } }
    expect([detail.primary.hash, detail.witness.hash]).toEqual([evidence.primary.header.hash, evidence.witness.header.hash])
    // The evidence becomes a ChainMisbehaviourDetected message; each encoded header hashes to its hash.
    for (const side of [evidence.primary, evidence.witness]) {
      const header: unknown = JSON.parse(Buffer.from(side.encoded, "hex").toString("utf8"))
      expect(Result.getOrThrow(headerHash(header)).toLowerCase()).toBe(side.header.hash)
    }
    const payload = {
      chain: evidence.chain,
      height: evidence.height,
      commonHeight: evidence.commonHeight,
      commonHash: evidence.commonHash,
      primary: { hash: evidence.primary.header.hash, header: evidence.primary.encoded },
      witness: { hash: evidence.witness.header.hash, header: evidence.witness.encoded }
    }
    expect(Result.isSuccess(Schema.decodeUnknownResult(ChainMisbehaviourDetected)(payload, { onExcessProperty: "error" }))).toBe(true)
    // No head of the conflicting height was reported, and the observer stays halted.
    expect(events.some((e) => e._tag === "Head")).toBe(false)
    expect((await failureOf(observer.prove(3, keyOf("bank", "alice")))).reason).toBe("Disagreement")
  })

  it("only logs a witness that is down or serves blocks nobody validly signed", async () => {
    const chain = newChain()
    chain.produceBlocks(6)
    const primary = await serve(chain)
    const down = await serve(chain)
    down.down = true
    // The liar's block 6 is signed by keys that are not the chain's validators.
    const impostors = makeValidators(4, "liar")
    const below = <V>(m: ReadonlyMap<number, V>) => new Map([...m].filter(([h]) => h < 6))
    const lying = new TestChain({ ...chain.config, validatorsAt: (h) => (h >= 6 ? impostors : schedule(h)) }, below(chain.blocks), below(chain.states))
    lying.produceBlock()
    const liar = await serve(lying)
    const tips = await run(observerFor(primary, { witnesses: [down.url, liar.url] }).tips)
    expect(tips.latest.hash).toBe(hashAt(chain, 6))
  })

  it("proves membership and non-membership against the app hash of the next verified header; a forged value fails", async () => {
    const chain = newChain()
    chain.produceBlocks(2)
    chain.produceBlock({ writes: [{ store: "bank", key: hex(enc("alice")), value: enc("250") }] })
    chain.produceBlocks(2)
    const server = await serve(chain)
    const observer = observerFor(server)

    const member = await run(observer.prove(3, keyOf("bank", "alice")))
    expect(Buffer.from(member.value, "hex").toString()).toBe("250")
    expect(member.kind).toBe("ics23")
    expect(member.height).toBe(3)
    expect(member.headerHash).toBe(hashAt(chain, 4))
    expect(Buffer.from(member.key, "hex").toString("latin1")).toBe("bank/alice")
    const appHash4 = chain.block(4)?.light.signed_header.header.app_hash ?? ""
    expect(verifyStoreProof(appHash4, member.key, member.value, member.proof)).toBe(true)
    expect(verifyStoreProof(appHash4, member.key, hex(enc("251")), member.proof)).toBe(false)
    expect(verifyStoreProof(chain.block(3)?.light.signed_header.header.app_hash ?? "", member.key, member.value, member.proof)).toBe(false)

    const before = await run(observer.prove(2, keyOf("bank", "alice")))
    expect(Buffer.from(before.value, "hex").toString()).toBe("100")

    const absent = await run(observer.prove(3, keyOf("bank", "zed")))
    expect(absent.value).toBe("")
    expect(verifyStoreProof(appHash4, absent.key, "", absent.proof)).toBe(true)
    const between = await run(observer.prove(3, keyOf("bank", "bz")))
    expect(between.value).toBe("")
    const otherStore = await run(observer.prove(3, keyOf("acc", "carol")))
    expect(Buffer.from(otherStore.value, "hex").toString()).toBe("acct-carol")

    // A node that lies about the value, or claims a present key is absent, is caught.
    server.tamper = (method, _params, result) => {
      if (method !== "abci_query") return result
      const r = structuredClone(result) as { response: { value: string | null } }
      r.response.value = r.response.value === null ? Buffer.from("0").toString("base64") : Buffer.from("999999").toString("base64")
      return r
    }
    const forged = await failureOf(observer.prove(3, keyOf("bank", "alice")))
    expect(forged.reason).toBe("InvalidProof")
    const forgedPresence = await failureOf(observer.prove(3, keyOf("bank", "zed")))
    expect(forgedPresence.reason).toBe("InvalidProof")
    server.tamper = (method, _params, result) => {
      if (method !== "abci_query") return result
      const r = structuredClone(result) as { response: { value: string | null } }
      r.response.value = null
      return r
    }
    const forgedAbsence = await failureOf(observer.prove(3, keyOf("bank", "alice")))
    expect(forgedAbsence.reason).toBe("InvalidProof")

    expect((await failureOf(observer.prove(3, "bank:alice"))).reason).toBe("InvalidKey")
    expect((await failureOf(observer.prove(9, keyOf("bank", "alice")))).reason).toBe("NotFound")
  })

  it("watches a key: a verified proof whenever a transaction changes its value", async () => {
    const chain = newChain()
    chain.produceBlocks(2)
    const server = await serve(chain)
    const observer = observerFor(server)
    const seen: Array<string> = []
    const fiber = Effect.runFork(
      observer.watch(keyOf("kv", "color")).pipe(
        Stream.tap((p) => Effect.sync(() => seen.push(Buffer.from(p.value, "hex").toString()))),
        Stream.take(3),
        Stream.runCollect
      )
    )
    for (const [i, color] of ["blue", "green"].entries()) {
      await waitFor(() => seen.length > i, `value ${i}`)
      const hash = await run(observer.submitTransaction(hex(enc(`color=${color}`))))
      expect(hash).toMatch(/^[0-9a-f]{64}$/)
      chain.produceBlocks(2)
    }
    const proofs = await run(Fiber.join(fiber))
    expect(seen).toEqual(["red", "blue", "green"])
    for (const p of proofs) {
      const appHash = chain.block(p.height + 1)?.light.signed_header.header.app_hash ?? ""
      expect(verifyStoreProof(appHash, p.key, p.value, p.proof)).toBe(true)
    }
    const refused = await failureOf(observer.submitTransaction(hex(enc("no-equals-sign"))))
    expect(refused.reason).toBe("Rejected")
  })

  it("reads a written acknowledgement from the destination's write_acknowledgement event, for that packet only", async () => {
    const chain = newChain()
    const packet: TestPacket = {
      sourcePort: "transfer",
      sourceChannel: "channel-0",
      destinationPort: "transfer",
      destinationChannel: "channel-1",
      sequence: 5n,
      data: transferData("uatom", "5", "cosmos1a", "cosmos1b"),
      timeoutHeight: { revisionNumber: 0n, revisionHeight: 0n },
      timeoutTimestamp: 1n
    }
    const ends = { sourcePort: "transfer", sourceChannel: "channel-0", destinationPort: "transfer", destinationChannel: "channel-1", sequence: "5" }
    // Another source channel's packet 5 into the same destination channel would be another packet: skipped.
    const other = writeAcknowledgementTx({ ...packet, sourceChannel: "channel-9" }, ICS20_ERROR_ACK)
    const written = writeAcknowledgementTx(packet, ICS20_SUCCESS_ACK)
    // ibc-go before v8 also wrote `packet_ack` (the ack as a string); an event with only that one still counts.
    const legacy = writeAcknowledgementTx({ ...packet, sequence: 6n }, ICS20_ERROR_ACK)
    const legacyEvent = legacy.result.events[0]
    if (legacyEvent === undefined) throw new Error("no event")
    const legacyResult = {
      ...legacy.result,
      events: [{ ...legacyEvent, attributes: [...legacyEvent.attributes.filter((a) => a.key !== "packet_ack_hex"), { key: "packet_ack", value: Buffer.from(ICS20_ERROR_ACK, "hex").toString("utf8") }] }]
    }
    const v2: TestPacketV2 = { sourceClient: "07-tendermint-0", destinationClient: "08-wasm-1", sequence: 5n, timeoutTimestamp: 100n, payloads: [transferPayloadV2("uatom", "5", "cosmos1a", "cosmos1b")] }
    const v2Written = writeAcknowledgementV2Tx(v2, [UNIVERSAL_ERROR_ACK])
    chain.produceBlocks(2)
    chain.produceBlock({ results: [other.result, written.result, legacyResult, v2Written.result] })
    chain.produceBlocks(1)
    const observer = observerFor(await serve(chain))
    const { writtenAcknowledgement, writtenAcknowledgementV2 } = observer
    if (writtenAcknowledgement === undefined || writtenAcknowledgementV2 === undefined) throw new Error("no write_acknowledgement lookup")
    expect(await run(writtenAcknowledgement(ends))).toEqual({ height: 3, acknowledgement: ICS20_SUCCESS_ACK })
    expect(await run(writtenAcknowledgement({ ...ends, sequence: "6" }))).toEqual({ height: 3, acknowledgement: ICS20_ERROR_ACK })
    expect(await run(writtenAcknowledgement({ ...ends, sequence: "7" }))).toBeUndefined()
    expect(await run(writtenAcknowledgementV2("07-tendermint-0", "08-wasm-1", "5"))).toEqual({ height: 3, appAcknowledgements: [UNIVERSAL_ERROR_ACK] })
    // The event's packet is another source client's: not this packet's ack.
    expect(await run(writtenAcknowledgementV2("07-tendermint-1", "08-wasm-1", "5"))).toBeUndefined()
    expect((await failureOf(writtenAcknowledgement({ ...ends, destinationPort: "tr'ansfer" }))).reason).toBe("InvalidKey")
  })
})
