/**
 * A CometBFT chain built in the test: light blocks signed by real Ed25519 validator keys
 * (test/verify/cometbft/ChainBuilder.ts), linked by `last_block_id`, with a validator
 * schedule (sets change at chosen heights) and an application state of IAVL stores
 * (./IavlStore.ts) whose app hash each header carries with CometBFT's one-block lag: header H
 * commits the state after block H - 1, so a query at height H is proven against header H + 1.
 *
 * Transactions are the kvstore application's: `key=value` (UTF-8) written to the "kv" store
 * by the block that includes them. Tests can also write any store directly.
 */
import { sha256 } from "@noble/hashes/sha2.js"
import type { BlockIdJson, LightBlock } from "../../../src/domain/verify/cometbft/LightBlock.ts"
import { type TestValidator, buildLightBlock, seconds } from "../../verify/cometbft/ChainBuilder.ts"
import { MultiStore } from "./IavlStore.ts"

/** Store name -> (hex key -> value). */
export type StoreContents = ReadonlyMap<string, ReadonlyMap<string, Uint8Array>>

/** A write to the application state. */
export interface StoreWrite {
  readonly store: string
  /** Hex key. */
  readonly key: string
  /** The new value; undefined deletes the key. */
  readonly value: Uint8Array | undefined
}

/** What a chain is made of. */
export interface TestChainConfig {
  readonly chainId: string
  /** Time of height 0, nanoseconds since the epoch; block H is at genesis + H * interval. */
  readonly genesisTimeNanos: bigint
  readonly blockIntervalNanos?: bigint
  /** The validator set of each height (its next set is that of height + 1). */
  readonly validatorsAt: (height: number) => ReadonlyArray<TestValidator>
  readonly genesisState: StoreContents
}

/** An ABCI event (CometBFT 0.38: attributes as strings). */
export interface TestEvent {
  readonly type: string
  readonly attributes: ReadonlyArray<{ readonly key: string; readonly value: string }>
}

/** A transaction's result as `tx_search` answers it (kept beside the block, not in its data). */
export interface TxResult {
  readonly tx: Uint8Array
  readonly events: ReadonlyArray<TestEvent>
}

/** One committed block. */
export interface CommittedBlock {
  readonly light: LightBlock
  readonly blockId: BlockIdJson
  readonly txs: ReadonlyArray<Uint8Array>
  /** Results of transactions whose events tests emit (ibc's send_packet), for tx_search. */
  readonly results?: ReadonlyArray<TxResult>
}

/** Options of one produced block. */
export interface ProduceOptions {
  readonly writes?: ReadonlyArray<StoreWrite>
  /** Who signs (default all validators of the height). */
  readonly signers?: ReadonlyArray<TestValidator>
  /** Time offset added to the scheduled block time, nanoseconds. */
  readonly timeOffsetNanos?: bigint
  /** Transaction results with events (searchable with tx_search). */
  readonly results?: ReadonlyArray<TxResult>
}

const utf8 = new TextEncoder()
const utf8Decoder = new TextDecoder()

const applyWrites = (state: StoreContents, writes: ReadonlyArray<StoreWrite>): StoreContents => {
  const next = new Map([...state].map(([name, kv]) => [name, new Map(kv)]))
  for (const w of writes) {
    const store = next.get(w.store) ?? new Map<string, Uint8Array>()
    if (w.value === undefined) store.delete(w.key)
    else store.set(w.key, w.value)
    next.set(w.store, store)
  }
  return next
}

/** kvstore transactions: `key=value` to the "kv" store; anything else is ignored. */
export const kvWrites = (txs: ReadonlyArray<Uint8Array>): Array<StoreWrite> =>
  txs.flatMap((tx) => {
    const text = utf8Decoder.decode(tx)
    const at = text.indexOf("=")
    if (at <= 0) return []
    return [{ store: "kv", key: Buffer.from(utf8.encode(text.slice(0, at))).toString("hex"), value: utf8.encode(text.slice(at + 1)) }]
  })

/** A chain that grows one block at a time. */
export class TestChain {
  readonly config: TestChainConfig
  readonly blocks: Map<number, CommittedBlock>
  /** Application state by version (version H = after block H; version 0 = genesis). */
  readonly states: Map<number, { readonly contents: StoreContents; readonly store: MultiStore }>
  readonly mempool: Array<Uint8Array> = []

  constructor(config: TestChainConfig, blocks?: Map<number, CommittedBlock>, states?: TestChain["states"]) {
    this.config = config
    this.blocks = blocks ?? new Map()
    this.states = states ?? new Map([[0, { contents: config.genesisState, store: new MultiStore(config.genesisState, 0) }]])
  }

  /** The latest committed height (0 before the first block). */
  get height(): number {
    return this.blocks.size
  }

  /** The block time of `height`, nanoseconds. */
  timeAt(height: number): bigint {
    return this.config.genesisTimeNanos + BigInt(height) * (this.config.blockIntervalNanos ?? seconds(1))
  }

  /** The state after block `version`. */
  stateAt(version: number): MultiStore | undefined {
    return this.states.get(version)?.store
  }

  /** The block at `height`. */
  block(height: number): CommittedBlock | undefined {
    return this.blocks.get(height)
  }

  /** Commit the next block: the mempool's transactions plus `writes`, signed by the height's validators. */
  produceBlock(options: ProduceOptions = {}): CommittedBlock {
    const height = this.height + 1
    const previous = this.blocks.get(height - 1)
    const prevState = this.states.get(height - 1)
    if (prevState === undefined) throw new Error(`no state at ${height - 1}`)
    const txs = this.mempool.splice(0)
    const light = buildLightBlock({
      chainId: this.config.chainId,
      height,
      timeNanos: this.timeAt(height) + (options.timeOffsetNanos ?? 0n),
      validators: this.config.validatorsAt(height),
      nextValidators: this.config.validatorsAt(height + 1),
      appHash: Buffer.from(prevState.store.appHash).toString("hex").toUpperCase(),
      ...(previous === undefined ? {} : { lastBlockId: previous.blockId }),
      ...(options.signers === undefined ? {} : { signers: options.signers })
    })
    const contents = applyWrites(prevState.contents, [...kvWrites(txs), ...(options.writes ?? [])])
    this.states.set(height, { contents, store: new MultiStore(contents, height) })
    const block: CommittedBlock = { light, blockId: light.signed_header.commit.block_id, txs, ...(options.results === undefined ? {} : { results: options.results }) }
    this.blocks.set(height, block)
    return block
  }

  /** Commit `n` blocks. */
  produceBlocks(n: number, options: ProduceOptions = {}): void {
    for (let i = 0; i < n; i++) this.produceBlock(options)
  }

  /** A copy sharing this chain's history; blocks produced on either afterwards diverge. */
  fork(): TestChain {
    return new TestChain(this.config, new Map(this.blocks), new Map(this.states))
  }

  /** Accept a transaction into the mempool; its hash (CometBFT: SHA-256 of the bytes). */
  submit(tx: Uint8Array): Uint8Array {
    this.mempool.push(tx)
    return sha256(tx)
  }
}
