/**
 * The public network of the frontrun simulation: what a public mempool is. A sender
 * broadcasts a signed message; every gossip listener (the searcher) gets it at once, and the
 * sequencer (causeway's POST /v1/messages) gets it after the sender's propagation delay.
 * Positions are by arrival at the sequencer. The same network carries every mode's
 * messages: plain orders, commitments and reveals, time-locked ciphertexts, and the
 * searcher's own orders.
 */
import type { Envelope } from "../../src/domain/Envelope.ts"
import { idOf } from "../../src/domain/Envelope.ts"
import { type KeyFile, signEnvelope } from "../../src/domain/Keys.ts"
import type { MessageType } from "../../src/domain/MessageTypes.ts"
import type { MessageId } from "../../src/domain/Primitives.ts"

/** A message as it travels. */
export interface Broadcast {
  readonly id: MessageId
  readonly envelope: Envelope
  /** When it was broadcast (ms since the epoch). */
  readonly at: number
}

/** What the sequencer answered when the message arrived. */
export interface Delivery {
  readonly id: MessageId
  readonly status: number
  readonly text: string
  /** The ingest receipt's fields when accepted (201). */
  readonly offset: number | null
  readonly lamport: number | null
  readonly arrivedAt: number
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

/** Gossip to every listener at once, delivery to the sequencer after a delay. */
export class PublicNetwork {
  readonly base: string
  /** Highest Lamport time in any receipt so far: what senders stamp above. */
  clock = 0
  readonly #listeners = new Set<(b: Broadcast) => void>()

  constructor(base: string) {
    this.base = base
  }

  /** Listen to everything broadcast from now on; returns the unsubscribe. */
  subscribe(listener: (b: Broadcast) => void): () => void {
    this.#listeners.add(listener)
    return () => void this.#listeners.delete(listener)
  }

  /** Broadcast `envelope`: gossip now, arrival at the sequencer after `delayMs`. */
  async broadcast(envelope: Envelope, delayMs: number): Promise<Delivery> {
    const id = idOf(envelope)
    const b: Broadcast = { id, envelope, at: Date.now() }
    for (const l of this.#listeners) l(b)
    await sleep(delayMs)
    const response = await fetch(`${this.base}/v1/messages`, {
      method: "POST",
      body: JSON.stringify(envelope),
      headers: { "content-type": "application/json" }
    })
    const text = await response.text()
    let offset: number | null = null
    let lamport: number | null = null
    if (response.status === 201) {
      const receipt = JSON.parse(text) as { offset: number; lamport: number }
      offset = receipt.offset
      lamport = receipt.lamport
      this.clock = Math.max(this.clock, receipt.lamport)
    }
    return { id, status: response.status, text, offset, lamport, arrivedAt: Date.now() }
  }
}

/** A participant: its key, its nonces and its propagation delay to the sequencer. */
export class Participant {
  readonly key: KeyFile
  readonly network: PublicNetwork
  readonly delayMs: () => number
  #nonce = 0

  constructor(key: KeyFile, network: PublicNetwork, delayMs: () => number) {
    this.key = key
    this.network = network
    this.delayMs = delayMs
  }

  /** Sign a message: next nonce, Lamport time above the network's clock and `above`. */
  message(type: MessageType, payload: unknown, options: { readonly deps?: ReadonlyArray<MessageId>; readonly above?: number } = {}): Envelope {
    this.#nonce += 1
    return signEnvelope(this.key, {
      v: 1,
      flags: 0,
      type,
      nonce: this.#nonce,
      lamport: Math.max(this.network.clock, options.above ?? 0) + 1,
      deps: [...(options.deps ?? [])].sort(),
      expiry: null,
      payload
    })
  }

  /** Broadcast a signed message with this participant's delay. */
  send(envelope: Envelope): Promise<Delivery> {
    return this.network.broadcast(envelope, this.delayMs())
  }
}
