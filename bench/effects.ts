/**
 * Effects tracked per second end to end, from verified headers, against the bare cost of
 * rebuilding the same blocks' receipts tries, in the same run.
 *
 * End to end: the service's core (SQLite log, ingest with signature checks, every projection)
 * holds K verified headers (ChainHeadVerified, published before timing starts); a watch on one
 * contract is added and the clock runs until the effects projection has scanned block K. In
 * between, for every block, the tracker fetches it from an in-process stand-in for the chain's
 * RPC (the parsed eth_getBlockByHash and eth_getBlockReceipts answers, handed over without
 * HTTP) and checks it exactly as the EVM adapter does, on the adapter's worker thread
 * (`checkBlockReceipts`: the header hashes to the block hash, the receipts are decoded, encoded
 * and rebuild the header's receipts root; with --transaction-hashes the watch asks for its
 * effects' transaction hashes, and then the block's transactions (every block has a match, so
 * each comes with them, as eth_getBlockByHash(hash, true) gives them) are encoded and rebuild
 * its transactions root; then every log matched and each matching receipt's trie proof (and its
 * transaction's) built), while the main thread publishes the previous batch as EffectsObserved
 * (signed, admitted, appended) and the effects fold verifies every proof again. The peer is one
 * thread; end to end uses the second core for the block checks, as the service does.
 *
 * Peer: `buildReceiptsTrie` on the same receipts (decode, encode, trie, root), block after
 * block, with nothing else: `receiptsRootsPerSec` is blocks per second. `ratio` is blocks
 * tracked per second end to end over that: how close tracking comes to the trie rebuild it
 * cannot avoid. `effectsPerSec` counts effects (matched logs).
 *
 * Workload (defaults, mainnet-like): 256 blocks of 150 transactions and receipts (types 0-2 cycling; 68 bytes of calldata each), 2 logs
 * each with 3 topics and 64 bytes of data, a bloom per receipt; every 10th receipt's logs come
 * from the watched contract (30 effects per block).
 *
 * Run: npm run bench:effects  [-- --blocks 256 --receipts 150 --logs 2 --match-every 10 --rounds 3 --transaction-hashes]
 * The last line is one JSON object: {"effectsPerSec":…,"receiptsRootsPerSec":…,"ratio":…,…}.
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Effect, HashMap, Layer, Option, Result, Stream } from "effect"
import * as BlockChecker from "../src/adapters/evm/BlockChecker.ts"
import * as InstanceKeyFile from "../src/adapters/files/InstanceKeyFile.ts"
import * as SodiumSignatureVerifier from "../src/adapters/signatures/SodiumSignatureVerifier.ts"
import * as SqliteCausalLog from "../src/adapters/storage/SqliteCausalLog.ts"
import * as SqliteProjectionStore from "../src/adapters/storage/SqliteProjectionStore.ts"
import { checkBlockReceipts } from "../src/domain/chain/EvmBlockReceipts.ts"
import { evmHeaderHash, type RpcBlockHeader } from "../src/domain/chain/EvmHeader.ts"
import { generateKey } from "../src/domain/Keys.ts"
import { buildReceiptsTrie } from "../src/domain/verify/EvmReceipts.ts"
import { buildTransactionsTrie } from "../src/domain/verify/EvmTransactions.ts"
import { receiptsMayMatch } from "../src/domain/effects/Observations.ts"
import * as Ingest from "../src/services/Ingest.ts"
import { servicesLayer } from "../src/main.ts"
import { ChainObservers, ChainObserverError, type ChainObserverService } from "../src/ports/ChainObserver.ts"
import { EffectsView } from "../src/projections/Views.ts"
import { Author } from "../src/services/Author.ts"
import * as EffectTracker from "../src/services/EffectTracker.ts"
import { fmt, median } from "./support/stats.ts"

const arg = (name: string, fallback: number): number => {
  const i = process.argv.indexOf(`--${name}`)
  const v = i >= 0 ? Number(process.argv[i + 1]) : Number.NaN
  return Number.isFinite(v) && v > 0 ? v : fallback
}
const BLOCKS = arg("blocks", 256)
// --transaction-hashes: the watch proves each matched log's transaction hash (off by default, as for a watch).
const TRANSACTION_HASHES = process.argv.includes("--transaction-hashes")
const RECEIPTS = arg("receipts", 150)
const LOGS = arg("logs", 2)
const MATCH_EVERY = arg("match-every", 10)
const ROUNDS = arg("rounds", 3)
const CHAIN = "bench"

// Deterministic pseudo-random hex (xorshift32): the same blocks every run.
let seed = 0x9e3779b9
const randomHex = (bytes: number): string => {
  let out = ""
  for (let i = 0; i < bytes; i++) {
    seed ^= seed << 13
    seed ^= seed >>> 17
    seed ^= seed << 5
    out += (seed & 0xff).toString(16).padStart(2, "0")
  }
  return out
}
const q = (n: number | bigint): string => `0x${n.toString(16)}`

const WATCHED = randomHex(20)

interface Block {
  readonly height: number
  readonly hash: string
  readonly header: Record<string, string>
  readonly receipts: ReadonlyArray<Record<string, unknown>>
  readonly transactions: ReadonlyArray<Record<string, unknown>>
}

const makeBlocks = (): ReadonlyArray<Block> => {
  const blocks: Array<Block> = []
  let parent = "00".repeat(32)
  for (let b = 1; b <= BLOCKS; b++) {
    let gas = 0
    const receipts = Array.from({ length: RECEIPTS }, (_, i) => {
      gas += 21_000 + (i % 7) * 10_000
      const address = i % MATCH_EVERY === 0 ? WATCHED : randomHex(20)
      return {
        blockHash: "0x",
        blockNumber: q(b),
        contractAddress: null,
        cumulativeGasUsed: q(gas),
        effectiveGasPrice: q(1_000_000_000 + i),
        from: `0x${randomHex(20)}`,
        gasUsed: q(21_000),
        logs: Array.from({ length: LOGS }, (_, j) => ({
          address: `0x${address}`,
          topics: [`0x${randomHex(32)}`, `0x${randomHex(32)}`, `0x${randomHex(32)}`],
          data: `0x${randomHex(64)}`,
          blockNumber: q(b),
          transactionIndex: q(i),
          logIndex: q(i * LOGS + j),
          removed: false
        })),
        logsBloom: `0x${randomHex(256)}`,
        status: "0x1",
        to: `0x${randomHex(20)}`,
        transactionHash: `0x${randomHex(32)}`,
        transactionIndex: q(i),
        type: q(i % 3)
      }
    })
    const built = buildReceiptsTrie(receipts)
    if (Result.isFailure(built)) throw new Error(`synthetic receipts do not encode: ${built.failure._tag}`)
    const unhashed = Array.from({ length: RECEIPTS }, (_, i) => {
      const type = i % 3
      const common = { type: q(type), nonce: q(i), gas: q(60_000), to: `0x${randomHex(20)}`, value: q(i), input: `0x${randomHex(68)}`, r: `0x${randomHex(32)}`, s: `0x${randomHex(31)}`, transactionIndex: q(i) }
      if (type === 0) return { ...common, gasPrice: q(1_000_000_000 + i), v: q(37 + (i % 2)) }
      const typed = { ...common, chainId: q(1), accessList: [], yParity: q(i % 2), v: q(i % 2) }
      return type === 1 ? { ...typed, gasPrice: q(1_000_000_000 + i) } : { ...typed, maxPriorityFeePerGas: q(1_000_000), maxFeePerGas: q(2_000_000_000 + i) }
    })
    const txTrie = buildTransactionsTrie(unhashed)
    if (Result.isFailure(txTrie)) throw new Error(`synthetic transactions do not encode: ${txTrie.failure._tag}`)
    const transactions = unhashed.map((t, i) => ({ ...t, hash: `0x${txTrie.success.hashes[i]}` }))
    const header: Record<string, string> = {
      parentHash: `0x${parent}`,
      sha3Uncles: `0x${randomHex(32)}`,
      miner: `0x${randomHex(20)}`,
      stateRoot: `0x${randomHex(32)}`,
      transactionsRoot: `0x${Buffer.from(txTrie.success.root).toString("hex")}`,
      receiptsRoot: `0x${Buffer.from(built.success.root).toString("hex")}`,
      logsBloom: `0x${randomHex(256)}`,
      difficulty: "0x0",
      number: q(b),
      gasLimit: q(30_000_000),
      gasUsed: q(gas),
      timestamp: q(1_700_000_000 + 12 * b),
      extraData: "0x",
      mixHash: `0x${randomHex(32)}`,
      nonce: "0x0000000000000000",
      baseFeePerGas: q(7),
      hash: `0x${"00".repeat(32)}`
    }
    const hash = evmHeaderHash(header as unknown as RpcBlockHeader)
    header.hash = `0x${hash}`
    blocks.push({ height: b, hash, header, receipts, transactions })
    parent = hash
  }
  return blocks
}

/** Bare: rebuild every block's receipts trie from its receipts, nothing else. Blocks per second. */
const bare = (blocks: ReadonlyArray<Block>): number => {
  const t0 = performance.now()
  for (const b of blocks) {
    const built = buildReceiptsTrie(b.receipts)
    if (Result.isFailure(built)) throw new Error("rebuild failed")
  }
  return blocks.length / ((performance.now() - t0) / 1000)
}

// The EVM adapter's worker-thread block checker, as the adapter runs it.
const checker = BlockChecker.make()

/** The chain's RPC, in process: the block's answers, checked as the EVM adapter checks them (on its worker thread). */
const observerOf = (blocks: ReadonlyArray<Block>): ChainObserverService => {
  const byHash = new Map(blocks.map((b) => [b.hash, b]))
  const unused = Effect.die("not used by the benchmark")
  return {
    chain: CHAIN,
    kind: "evm",
    tips: unused,
    follow: Stream.never,
    prove: () => unused,
    watch: () => Stream.never,
    submitTransaction: () => unused,
    blockObservations: (hash, watches) =>
      Effect.suspend(() => {
        const b = byHash.get(hash)
        if (b === undefined) return Effect.fail(new ChainObserverError({ chain: CHAIN, reason: "NotFound", detail: hash }))
        // As the adapter asks: the block with its transactions only when a watch wants transaction hashes and may match.
        const header = receiptsMayMatch(b.receipts, watches) ? { ...b.header, transactions: b.transactions } : b.header
        return checker.check(CHAIN, hash, header, b.receipts, watches).pipe(
          Effect.mapError((f) => new ChainObserverError({ chain: CHAIN, reason: "InvalidProof", detail: f.detail }))
        )
      }),
    blockReceipts: (hash) =>
      Effect.suspend(() => {
        const b = byHash.get(hash)
        if (b === undefined) return Effect.fail(new ChainObserverError({ chain: CHAIN, reason: "NotFound", detail: hash }))
        const checked = checkBlockReceipts(hash, b.header, b.receipts)
        return Result.isSuccess(checked)
          ? Effect.succeed({ chain: CHAIN, ...checked.success })
          : Effect.fail(new ChainObserverError({ chain: CHAIN, reason: "InvalidProof", detail: checked.failure._tag }))
      })
  }
}

interface EndToEnd {
  readonly ms: number
  readonly effects: number
}

const endToEnd = (blocks: ReadonlyArray<Block>): Promise<EndToEnd> => {
  const dir = mkdtempSync(join(tmpdir(), "causeway-bench-effects-"))
  const storage = Layer.mergeAll(
    SqliteCausalLog.layer({ path: join(dir, "log.db"), synchronous: "NORMAL" }),
    SqliteProjectionStore.layer(join(dir, "snapshots.db")),
    SodiumSignatureVerifier.layer,
    InstanceKeyFile.layerKey(generateKey("ed25519")),
    Layer.succeed(ChainObservers, new Map([[CHAIN, observerOf(blocks)]]))
  )
  const app = EffectTracker.layer({ pollIntervalMs: 2 }).pipe(Layer.provideMerge(servicesLayer(Ingest.defaultOptions)), Layer.provideMerge(storage))
  const run = Effect.gen(function*() {
    const author = yield* Author
    const tracker = yield* EffectTracker.EffectTracker
    const view = yield* EffectsView
    // The verified headers, in the log before the clock starts.
    for (let i = 0; i < blocks.length; i += 256) {
      yield* author.publishMany(blocks.slice(i, i + 256).map((b) => ({
        type: "ChainHeadVerified" as const,
        payload: {
          chain: CHAIN,
          kind: "evm" as const,
          height: b.height,
          hash: b.hash,
          parentHash: (b.header.parentHash as string).slice(2),
          stateRoot: (b.header.stateRoot as string).slice(2),
          time: (1_700_000_000 + 12 * b.height) * 1000
        }
      })))
    }
    const last = blocks.at(-1) as Block
    for (;;) {
      const track = HashMap.get((yield* view.state).chains, CHAIN)
      if (Option.isSome(track) && track.value.head === last.height) break
      yield* Effect.sleep(5)
    }
    const t0 = performance.now()
    yield* tracker.addWatch({ chain: CHAIN, kind: "evm-log", filter: { address: WATCHED }, fromHeight: 1, ...(TRANSACTION_HASHES ? { transactionHashes: true } : {}) } as never)
    for (;;) {
      const state = yield* view.state
      const track = HashMap.get(state.chains, CHAIN)
      if (Option.isSome(track) && track.value.scanned?.height === last.height) {
        if (TRANSACTION_HASHES && HashMap.size(state.transactions) !== blocks.length * Math.ceil(RECEIPTS / MATCH_EVERY)) throw new Error("not every effect's transaction hash was proven")
        return { ms: performance.now() - t0, effects: HashMap.size(state.effects) }
      }
      yield* Effect.sleep(1)
    }
  })
  return Effect.runPromise(Effect.scoped(Effect.provide(run, app))).finally(() => rmSync(dir, { recursive: true, force: true }))
}

const blocks = makeBlocks()
const expected = blocks.length * Math.ceil(RECEIPTS / MATCH_EVERY) * LOGS
console.log(`bench:effects  ${BLOCKS} blocks x ${RECEIPTS} receipts x ${LOGS} logs, every ${MATCH_EVERY}th receipt watched (${fmt(expected)} effects)`)

bare(blocks.slice(0, 16)) // warm up
const bareRates: Array<number> = []
const e2eRates: Array<number> = []
const effectRates: Array<number> = []
for (let r = 0; r < ROUNDS; r++) {
  bareRates.push(bare(blocks))
  const e2e = await endToEnd(blocks)
  if (e2e.effects !== expected) throw new Error(`tracked ${e2e.effects} effects, expected ${expected}`)
  e2eRates.push(blocks.length / (e2e.ms / 1000))
  effectRates.push(e2e.effects / (e2e.ms / 1000))
  bareRates.push(bare(blocks))
  console.log(
    `round ${r + 1}: bare rebuild ${fmt(bareRates.at(-2) as number)} / ${fmt(bareRates.at(-1) as number)} blocks/s; end to end ${fmt(e2eRates.at(-1) as number)} blocks/s = ${fmt(effectRates.at(-1) as number)} effects/s`
  )
}
const receiptsRootsPerSec = median(bareRates)
const blocksPerSec = median(e2eRates)
const effectsPerSec = median(effectRates)
const ratio = blocksPerSec / receiptsRootsPerSec
console.log(`median: bare ${fmt(receiptsRootsPerSec)} blocks/s, end to end ${fmt(blocksPerSec)} blocks/s (${fmt(effectsPerSec)} effects/s): ratio ${ratio.toFixed(3)}`)
await checker.close()
console.log(JSON.stringify({
  effectsPerSec: Math.round(effectsPerSec),
  receiptsRootsPerSec: Math.round(receiptsRootsPerSec),
  ratio: Number(ratio.toFixed(3)),
  blocksPerSec: Math.round(blocksPerSec),
  blocks: BLOCKS,
  receiptsPerBlock: RECEIPTS,
  logsPerReceipt: LOGS,
  effectsPerBlock: expected / BLOCKS
}))
