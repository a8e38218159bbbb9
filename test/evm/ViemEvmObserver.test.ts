/**
 * The EVM observer against a real anvil (from npm): heads linked by recomputed hashes,
 * finality by depth and by tags, reorgs (anvil_reorg, evm_revert) with their fork point,
 * resuming from a cursor, EIP-1186 proofs of a deployed contract's storage and account
 * (inclusion and exclusion) and their forgeries, endpoints that lie or disagree, and raw
 * transaction submission.
 */
import { keccak_256 } from "@noble/hashes/sha3.js"
import { bytesToHex, hexToBytes } from "@noble/hashes/utils.js"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Fiber, Result, Stream } from "effect"
import * as ViemEvmObserver from "../../src/adapters/evm/ViemEvmObserver.ts"
import { verifyEvmHeader } from "../../src/domain/chain/EvmHeader.ts"
import { verifyEip1186Proof } from "../../src/domain/verify/Eip1186.ts"
import { decodeRlp } from "../../src/domain/verify/Rlp.ts"
import type { ChainObserverService, HeadEvent } from "../../src/ports/ChainObserver.ts"
import { anvil, type Anvil, blockNumber, deployStore, lyingProxy, receiptOf, signedTransfer, store } from "./support/Anvil.ts"

const observe = (urls: ReadonlyArray<string>, options: Partial<ViemEvmObserver.ViemEvmObserverOptions> = {}) =>
  ViemEvmObserver.make({ chain: "anvil", urls, pollIntervalMs: 25, confirmations: 2, ...options })

/** Run a stream in the background and collect its events until `done` holds of them. */
const until = <E>(stream: Stream.Stream<HeadEvent, E>, done: (events: ReadonlyArray<HeadEvent>) => boolean) =>
  Effect.gen(function*() {
    const events: Array<HeadEvent> = []
    const fiber = yield* stream.pipe(
      Stream.takeUntil((e) => {
        events.push(e)
        return done(events)
      }),
      Stream.runDrain,
      Effect.timeout("10 seconds"),
      Effect.forkScoped
    )
    return { events, join: Fiber.join(fiber).pipe(Effect.as(events)) }
  })

const heads = (events: ReadonlyArray<HeadEvent>) => events.flatMap((e) => (e._tag === "Head" ? [e.header] : []))
const lastHead = (events: ReadonlyArray<HeadEvent>) => heads(events).at(-1)?.height ?? -1
const rpcHash = async (node: Anvil, height: number) => ((await node.rpc("eth_getBlockByNumber", [`0x${height.toString(16)}`, false])).hash as string).slice(2)
const mine = (node: Anvil, n: number) => Effect.promise(() => node.rpc("anvil_mine", [`0x${n.toString(16)}`]))
const promise = <A>(f: () => Promise<A>) => Effect.promise(f)

describe("ViemEvmObserver on anvil", () => {
  it.live("recomputes the hash of every anvil header, Prague and older hardforks", () =>
    Effect.gen(function*() {
      for (const hardfork of ["prague", "cancun", "shanghai", "london"]) {
        const node = yield* anvil(["--hardfork", hardfork])
        yield* promise(() => deployStore(node))
        yield* mine(node, 2)
        for (let n = 0; n <= 3; n++) {
          const block = yield* promise(() => node.rpc("eth_getBlockByNumber", [`0x${n}`, false]))
          const checked = verifyEvmHeader(block)
          expect(Result.isSuccess(checked), `${hardfork} block ${n}: ${JSON.stringify(checked)}`).toBe(true)
          if (hardfork === "prague") expect(block.requestsHash).toBeDefined()
          if (hardfork === "london") expect(block.withdrawalsRoot).toBeUndefined()
          // A changed field changes the recomputed hash, so the RPC's claim no longer matches.
          const forged = verifyEvmHeader({ ...block, stateRoot: `0x${"11".repeat(32)}` })
          expect(Result.isFailure(forged) && forged.failure._tag).toBe("EvmHeaderHashMismatch")
        }
      }
    }))

  it.live("follows heads linked to their parents, finalizing by depth", () =>
    Effect.gen(function*() {
      const node = yield* anvil()
      yield* mine(node, 3)
      const run = yield* until(observe([node.url]).follow, (es) => es.some((e) => e._tag === "Finalized" && e.header.height === 4))
      yield* Effect.sleep("100 millis")
      yield* mine(node, 3)
      const events = yield* run.join
      const hs = heads(events)
      expect(hs.map((h) => h.height)).toEqual([1, 2, 3, 4, 5, 6])
      for (let i = 1; i < hs.length; i++) expect(hs[i]!.parentHash).toBe(hs[i - 1]!.hash)
      for (const h of hs) expect(h.hash).toBe(yield* promise(() => rpcHash(node, h.height)))
      const finalized = events.flatMap((e) => (e._tag === "Finalized" ? [e.header.height] : []))
      expect(finalized[0]).toBe(1)
      expect(finalized.at(-1)).toBe(4)
      expect(finalized).toEqual([...finalized].sort((a, b) => a - b))
    }))

  it.live("reports an anvil_reorg with its fork point, then the new branch", () =>
    Effect.gen(function*() {
      const node = yield* anvil()
      yield* mine(node, 5)
      const old = { 3: yield* promise(() => rpcHash(node, 3)), 5: yield* promise(() => rpcHash(node, 5)) }
      const run = yield* until(observe([node.url]).follow, (es) => es.some((e) => e._tag === "Reorg") && lastHead(es) >= 5 && heads(es).at(-1)?.hash !== old[5])
      yield* Effect.sleep("150 millis")
      yield* promise(() => node.rpc("anvil_reorg", [2, []]))
      const events = yield* run.join
      const at = events.findIndex((e) => e._tag === "Reorg")
      const reorg = events[at]
      if (reorg?._tag !== "Reorg") throw new Error("no reorg")
      expect(reorg.forkHeight).toBe(3)
      expect(reorg.forkHash).toBe(old[3])
      expect(reorg.oldHead.hash).toBe(old[5])
      // anvil re-mines the branch block by block: a poll may see it at 4' already.
      expect(reorg.newHead.hash).toBe(yield* promise(() => rpcHash(node, reorg.newHead.height)))
      const after = heads(events.slice(at))
      expect(after.map((h) => h.height)).toEqual([4, 5])
      expect(after[0]!.parentHash).toBe(old[3])
    }))

  it.live("reports an evm_revert rewind once the shorter branch grows, and resumes from a cursor across a reorg", () =>
    Effect.gen(function*() {
      const node = yield* anvil()
      yield* mine(node, 3)
      const snapshot = yield* promise(() => node.rpc("evm_snapshot"))
      const observer = observe([node.url])
      const first = yield* until(observer.follow, (es) => lastHead(es) >= 6)
      yield* Effect.sleep("100 millis")
      yield* mine(node, 3)
      const seen = yield* first.join
      expect(heads(seen).map((h) => h.height)).toEqual([1, 2, 3, 4, 5, 6])
      const old3 = yield* promise(() => rpcHash(node, 3))
      yield* promise(() => node.rpc("evm_revert", [snapshot]))
      yield* mine(node, 2) // 4' and 5': shorter than the branch reported up to 6
      const cursor = { headers: heads(seen), finalizedHeight: 4 }
      const resumed = yield* until(observer.followFrom!(cursor), (es) => lastHead(es) >= 5)
      const events = yield* resumed.join
      expect(events[0]).toMatchObject({ _tag: "Reorg", forkHeight: 3, forkHash: old3, oldHead: { height: 6 }, newHead: { height: 5 } })
      expect(heads(events).map((h) => h.height)).toEqual([4, 5])
      // Nothing the cursor had already reported is reported again.
      expect(events.filter((e) => e._tag === "Finalized").map((e) => e.header.height)).toEqual([])
    }))

  it.live("reports safe and finalized from the node's tags", () =>
    Effect.gen(function*() {
      const node = yield* anvil(["--slots-in-an-epoch", "1"])
      yield* mine(node, 6)
      const observer = observe([node.url], { confirmations: undefined })
      const run = yield* until(observer.follow, (es) => es.some((e) => e._tag === "Finalized"))
      const events = yield* run.join
      // anvil: safe = latest - slots per epoch, finalized = latest - 2 epochs.
      expect(events.filter((e) => e._tag === "Safe").map((e) => e.header.height)).toEqual([5])
      expect(events.filter((e) => e._tag === "Finalized").map((e) => e.header.height)).toEqual([4])
      const tips = yield* observer.tips
      expect([tips.latest.height, tips.safe.height, tips.finalized.height]).toEqual([6, 5, 4])
    }))
})

describe("EIP-1186 proofs from anvil", () => {
  const setup = Effect.gen(function*() {
    const node = yield* anvil()
    const address = yield* promise(() => deployStore(node))
    yield* promise(() => store(node, address, 1n, 0xbeefn))
    const observer = observe([node.url])
    const header = (yield* observer.tips).latest
    return { node, address, observer, header }
  })

  const proofJson = (hex: string) => JSON.parse(new TextDecoder().decode(hexToBytes(hex)))

  it.live("proves storage and account values, present and absent, against the verified header", () =>
    Effect.gen(function*() {
      const { address, header, observer } = yield* setup
      const a = address.slice(2)
      const slot1 = yield* observer.prove(header.height, `${address}/1`)
      expect(slot1).toMatchObject({ chain: "anvil", height: header.height, headerHash: header.hash, kind: "eip1186", key: a + "1".padStart(64, "0") })
      expect(BigInt(`0x${slot1.value}`)).toBe(0xbeefn)
      const slot0 = yield* observer.prove(header.height, `0x${a}${"0".repeat(64)}`)
      expect(BigInt(`0x${slot0.value}`)).toBe(0x2an)
      const absentSlot = yield* observer.prove(header.height, `${address}/7`)
      expect(absentSlot.value).toBe("")
      // Each proof verifies on its own against the header's stateRoot (what any reader can redo).
      for (const p of [slot1, slot0, absentSlot]) expect(Result.isSuccess(verifyEip1186Proof(`0x${header.stateRoot}`, proofJson(p.proof)))).toBe(true)

      const account = yield* observer.prove(header.height, address)
      const fields = decodeRlp(hexToBytes(account.value))
      if (Result.isFailure(fields) || fields.success instanceof Uint8Array) throw new Error("account value is not an RLP list")
      expect(bytesToHex(fields.success[0] as Uint8Array)).toBe("01") // a contract's nonce starts at 1
      expect(bytesToHex(fields.success[3] as Uint8Array)).toBe(bytesToHex(keccak_256(hexToBytes("6020356000355500"))))
      const nobody = yield* observer.prove(header.height, `0x${"ab".repeat(20)}`)
      expect(nobody.value).toBe("")
      expect(Result.isSuccess(verifyEip1186Proof(`0x${header.stateRoot}`, proofJson(nobody.proof)))).toBe(true)

      const badKey = yield* Effect.flip(observer.prove(header.height, "0x1234"))
      expect(badKey.reason).toBe("InvalidKey")
    }))

  it.live("watches a key: a proof at each head where the value changed", () =>
    Effect.gen(function*() {
      const { address, node } = yield* setup
      const seen: Array<{ height: number; value: string }> = []
      // From the head only: anvil's genesis header has a stateRoot no proof verifies against.
      const fiber = yield* observe([node.url], { confirmations: 0 }).watch(`${address}/1`).pipe(
        Stream.take(3),
        Stream.runForEach((p) => Effect.sync(() => seen.push({ height: p.height, value: p.value }))),
        Effect.timeout("10 seconds"),
        Effect.forkScoped
      )
      yield* Effect.sleep("150 millis")
      yield* promise(() => node.rpc("anvil_mine", ["0x2"])) // no change: nothing reported
      const at5 = Number((yield* promise(() => store(node, address, 1n, 5n))).blockNumber)
      yield* promise(() => node.rpc("anvil_mine", ["0x1"]))
      const at7 = Number((yield* promise(() => store(node, address, 1n, 7n))).blockNumber)
      yield* Fiber.join(fiber)
      expect(seen.map((p) => p.value)).toEqual(["beef".padStart(64, "0"), "5".padStart(64, "0"), "7".padStart(64, "0")])
      expect(seen.slice(1).map((p) => p.height)).toEqual([at5, at7])
    }))

  it.live("rejects a forged value, a forged root and a truncated proof", () =>
    Effect.gen(function*() {
      const { address, header, node, observer } = yield* setup
      const good = proofJson((yield* observer.prove(header.height, `${address}/1`)).proof)
      const root = `0x${header.stateRoot}`
      const rejected = (json: unknown, r = root) => {
        const v = verifyEip1186Proof(r, json)
        return Result.isFailure(v) ? v.failure._tag : "accepted"
      }
      expect(rejected(good)).toBe("accepted")
      expect(rejected({ ...good, storageProof: [{ ...good.storageProof[0], value: "0xbeee" }] })).toBe("StorageValueMismatch")
      expect(rejected({ ...good, balance: "0x1" })).toBe("AccountFieldMismatch")
      expect(rejected({ ...good, storageProof: [{ ...good.storageProof[0], proof: good.storageProof[0].proof.slice(0, -1) }] })).toBe("StorageProofRejected")
      expect(rejected({ ...good, accountProof: good.accountProof.slice(0, -1) })).toBe("AccountProofRejected")
      const parent = yield* promise(() => node.rpc("eth_getBlockByNumber", [`0x${(header.height - 1).toString(16)}`, false]))
      expect(rejected(good, parent.stateRoot)).toBe("AccountProofRejected")

      // anvil keeps a slot written back to zero as a leaf holding 0 (its state root commits to
      // it); Ethereum deletes such a slot, so the strict verifier refuses the proof.
      yield* promise(() => store(node, address, 1n, 0n))
      const zeroed = yield* observer.tips
      const e = yield* Effect.flip(observer.prove(zeroed.latest.height, `${address}/1`))
      expect(e.reason).toBe("InvalidProof")
      expect(e.detail).toMatch(/not a canonical non-zero word/)
    }))

  it.live("refuses what a lying endpoint says: forged proofs, proofs of another slot, forged headers", () =>
    Effect.gen(function*() {
      const { address, header, node } = yield* setup
      const forgedValue = yield* lyingProxy(node.url, (method, _params, result) =>
        method === "eth_getProof" && result.storageProof.length > 0
          ? { ...result, storageProof: [{ ...result.storageProof[0], value: "0x1" }] }
          : result)
      const e1 = yield* Effect.flip(observe([forgedValue]).prove(header.height, `${address}/1`))
      expect(e1.reason).toBe("InvalidProof")
      expect(e1.detail).toMatch(/StorageValueMismatch/)

      // A true proof, but of slot 0 when slot 1 was asked for.
      const slot0 = yield* promise(() => node.rpc("eth_getProof", [address, [`0x${"0".repeat(64)}`], { blockHash: `0x${header.hash}` }]))
      const wrongSlot = yield* lyingProxy(node.url, (method, _params, result) => (method === "eth_getProof" ? slot0 : result))
      const e2 = yield* Effect.flip(observe([wrongSlot]).prove(header.height, `${address}/1`))
      expect(e2.reason).toBe("InvalidProof")
      expect(e2.detail).toMatch(/other storage slots/)

      const forgedHeader = yield* lyingProxy(node.url, (method, _params, result) =>
        method === "eth_getBlockByNumber" && result !== null ? { ...result, stateRoot: `0x${"22".repeat(32)}` } : result)
      const e3 = yield* Effect.flip(observe([forgedHeader]).tips)
      expect(e3.reason).toBe("InvalidHeader")
      expect(e3.detail).toMatch(/hash to/)

      // One honest endpoint among liars does not help: every answer is checked, none is voted in.
      const e4 = yield* Effect.flip(observe([forgedHeader, node.url]).tips)
      expect(e4.reason).toBe("InvalidHeader")
    }))

  it.live("with several endpoints, needs them to agree on the header", () =>
    Effect.gen(function*() {
      const { address, header, node } = yield* setup
      const mirror = yield* lyingProxy(node.url, (_m, _p, result) => result)
      const agreeing = observe([node.url, mirror])
      const tips = yield* agreeing.tips
      expect(tips.latest.hash).toBe(header.hash)
      const proof = yield* agreeing.prove(header.height, `${address}/1`)
      expect(BigInt(`0x${proof.value}`)).toBe(0xbeefn)

      const other = yield* anvil(["--timestamp", "1000"])
      yield* mine(other, yield* promise(() => blockNumber(node)))
      const e = yield* Effect.flip(observe([node.url, other.url]).tips)
      expect(e.reason).toBe("Disagreement")
      expect(e.detail).toContain(other.url)
      const followed = yield* Effect.flip(Stream.runDrain(observe([node.url, other.url]).follow))
      expect(followed.reason).toBe("Disagreement")
    }))
})

describe("submitTransaction", () => {
  it.live("sends a signed raw transaction and answers its hash, computed locally", () =>
    Effect.gen(function*() {
      const node = yield* anvil()
      const observer: ChainObserverService = observe([node.url])
      const raw = yield* promise(signedTransfer)
      const hash = yield* observer.submitTransaction(raw)
      expect(hash).toBe(bytesToHex(keccak_256(hexToBytes(raw.slice(2)))))
      const receipt = yield* promise(() => receiptOf(node, `0x${hash}`))
      expect(receipt.status).toBe("0x1")
      const again = yield* Effect.flip(observer.submitTransaction(raw))
      expect(again.reason).toBe("Rejected")
      expect((yield* Effect.flip(observer.submitTransaction("0xzz"))).reason).toBe("Rejected")
    }))
})

