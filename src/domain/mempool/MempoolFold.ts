/**
 * The mempool's state, its rule parameters and the queries over it. The rules themselves are
 * a pure fold in two steps: `decide` (MempoolDecide.ts) says what one logged mempool message
 * amounts to in a state (admitted, refused and why, sealed, revealed, expired, ...), and
 * `evolve` (MempoolEvolve.ts) applies that decision. No clock, no randomness, no I/O: time
 * enters only through the instance's own events (a seal's `sealedAt`), so a log always folds
 * to the same state.
 */
import { sha256 } from "@noble/hashes/sha2.js"
import { bytesToHex, concatBytes, hexToBytes } from "@noble/hashes/utils.js"
import { HashMap, Option } from "effect"
import type { MessageType, PayloadOf } from "../MessageTypes.ts"
import type { MessageId } from "../Primitives.ts"
import { type RswLimits, type RswPuzzle, defaultLimits } from "../timelock/Rsw.ts"
import type { UserOrder } from "./MempoolMessages.ts"
import type { Batch, Entry, MessageOutcome, Status, StoredStatus } from "./MempoolShapes.ts"
import { puzzleOfLock } from "./RswOrders.ts"
import { emptyTally, type Tally } from "../senders/SenderScore.ts"

export type { Batch, Entry, MessageOutcome, Mode, Status, Step, StoredStatus } from "./MempoolShapes.ts"

/** Statuses after which nothing changes an entry. */
export const isTerminal = (s: StoredStatus): boolean => s === "filled" || s === "expired" || s === "cancelled" || s === "refused"

/** An RSW modulus: registered (the instance's RswModulusVerified said its proof holds) or awaiting that check. */
export interface Modulus {
  readonly sender: string
  /** N, lowercase hex. */
  readonly n: string
  readonly offset: number
}

/** An RSW entry's puzzle, kept until it is opened or refused (the projection checks the solution against it). */
export interface Puzzle {
  readonly modulusId: string
  readonly t: number
  readonly seed: string
  readonly ciphertext: string
}

/** A sender's debt of expired commitments, as of a batch number. */
export interface Debt {
  readonly debt: number
  readonly since: number
}

/** The mempool state. */
export interface MempoolState {
  readonly entries: HashMap.HashMap<string, Entry>
  /** The open batch's number (= number of sealed batches). */
  readonly batch: number
  /** The open batch's entries by position. */
  readonly open: HashMap.HashMap<number, string>
  readonly openDigest: string
  readonly batches: HashMap.HashMap<number, Batch>
  /** Each sealed batch's entries by position (derived from the entries; not encoded). */
  readonly seats: HashMap.HashMap<number, HashMap.HashMap<number, string>>
  /** Ids of entries not in a terminal status, for sweeps and the pending query. */
  readonly live: HashMap.HashMap<string, true>
  readonly outcomes: HashMap.HashMap<string, MessageOutcome>
  readonly debts: HashMap.HashMap<string, Debt>
  /** Senders' score marks the mempool decides: refused reveals, commitments and RSW orders left unopened, failed modulus proofs. */
  readonly scores: Tally
  /** Registered RSW moduli by their registration's id. */
  readonly moduli: HashMap.HashMap<string, Modulus>
  /** Registrations whose modulus proof awaits the instance's check (RswModulusVerified), by id. */
  readonly pendingModuli: HashMap.HashMap<string, Modulus>
  /** Puzzles of RSW entries not yet opened, by entry id. */
  readonly puzzles: HashMap.HashMap<string, Puzzle>
  /** Matched ids in processing order. */
  readonly processing: HashMap.HashMap<number, string>
  readonly processedCount: number
  /**
   * Retention: the keys of entries that reached a terminal status (`e:<id>`) and of outcomes
   * recorded (`o:<id>`), by the batch open when that happened. Once that batch was sealed at
   * least `retentionMs` before a later seal's `sealedAt` (the instance's time, in the log),
   * that later seal drops them from memory (`evicted`).
   */
  readonly retiring: HashMap.HashMap<number, HashMap.HashMap<string, true>>
  /**
   * What retention dropped since the projection last drained it (oldest first), for the
   * runner to keep on disk. Not part of the encoding or the digest.
   */
  readonly evicted: ReadonlyArray<Evicted>
}

/** An entry or outcome retention dropped from memory, as it was last. */
export type Evicted =
  | { readonly kind: "entry"; readonly entry: Entry }
  | { readonly kind: "outcome"; readonly id: string; readonly outcome: MessageOutcome }

/** The parameters of the mempool's rules (fixed for a deployment's log: changing them changes replay). */
export interface MempoolRules {
  /** A sender whose expired-commitment debt reaches this has new commitments and time-locked orders refused. */
  readonly maxExpiryDebt: number
  /** One unit of debt is forgiven per this many sealed batches. */
  readonly debtDecayBatches: number
  /** What an RSW puzzle and modulus must be: modulus size, squarings range, plaintext size. */
  readonly rsw: RswLimits
  /** Most RSW moduli one sender may register or have awaiting their check (each check costs the instance ~1 s of a worker thread at 2,048 bits). */
  readonly maxModuliPerSender: number
  /** Most registrations awaiting the instance's check at once, all senders together: more are refused (no debt; resubmit later). */
  readonly maxPendingModuli: number
  /**
   * Retention: how long, in the instance's seal times, a settled, expired, cancelled or refused
   * entry and a recorded outcome stay in memory before a seal drops them (they stay on disk).
   */
  readonly retentionMs: number
}

/** The default retention: 30 seconds (what leaves memory is still served from disk). */
export const DEFAULT_RETENTION_MS = 30_000

/** Default rule parameters. */
export const defaultRules = {
  maxExpiryDebt: 4,
  debtDecayBatches: 10,
  rsw: defaultLimits,
  maxModuliPerSender: 2,
  maxPendingModuli: 16,
  retentionMs: DEFAULT_RETENTION_MS
} as const

/** The digest chain's start: 32 zero bytes. */
export const EMPTY_DIGEST = "00".repeat(32)

/** The next link of a batch's id chain: SHA-256(previous ‖ id). */
export const chainDigest = (previous: string, id: string): string =>
  bytesToHex(sha256(concatBytes(hexToBytes(previous), hexToBytes(id))))

/** The empty mempool. */
export const initialMempool: MempoolState = {
  entries: HashMap.empty(),
  batch: 0,
  open: HashMap.empty(),
  openDigest: EMPTY_DIGEST,
  batches: HashMap.empty(),
  seats: HashMap.empty(),
  live: HashMap.empty(),
  outcomes: HashMap.empty(),
  debts: HashMap.empty(),
  scores: emptyTally,
  moduli: HashMap.empty(),
  pendingModuli: HashMap.empty(),
  puzzles: HashMap.empty(),
  processing: HashMap.empty(),
  processedCount: 0,
  retiring: HashMap.empty(),
  evicted: []
}

/** The mempool message types (the projection skips every other record). */
const MEMPOOL_TYPES = [
  "UserOrder",
  "UserOrderCancellation",
  "OrderCommitment",
  "OrderReveal",
  "TimelockedOrder",
  "RswModulusRegistration",
  "RswModulusVerified",
  "BatchSealed",
  "CommitmentExpired",
  "OrderExpired",
  "BatchDecrypted",
  "OrdersMatched",
  "OrderFilled",
  "MatchRefused"
] as const satisfies ReadonlyArray<MessageType>
type MempoolType = (typeof MEMPOOL_TYPES)[number]

/** One record of the log, as the mempool sees it: header fields and the decoded payload. */
export type MempoolEvent = EventHeader & { readonly [T in MempoolType]: { readonly type: T; readonly payload: PayloadOf<T> } }[MempoolType]

/** The header fields of a record the rules read. */
export interface EventHeader {
  readonly id: string
  readonly offset: number
  readonly lamport: number
  readonly sender: string
  readonly deps: ReadonlyArray<MessageId>
  readonly expiry: number | null
}

/** The mempool message types, as a set. */
export const mempoolTypes: ReadonlySet<string> = new Set(MEMPOOL_TYPES)

const get = <K, V>(m: HashMap.HashMap<K, V>, k: K): V | undefined => Option.getOrUndefined(HashMap.get(m, k))

/** An entry by id. */
export const entryOf = (state: MempoolState, id: string): Entry | undefined => get(state.entries, id)

/** A sealed batch by number. */
export const batchOf = (state: MempoolState, batch: number): Batch | undefined => get(state.batches, batch)

/** Is the entry's batch sealed (its position final and public)? */
export const isSealed = (state: MempoolState, e: Entry): boolean => e.batch < state.batch

/** The status a client sees: "sequenced" for a sealed entry whose content is not yet disclosed. */
export const statusOf = (state: MempoolState, e: Entry): Status => {
  if (e.status !== "committed") return e.status
  if (!isSealed(state, e)) return "committed"
  return e.mode === "plain" ? "revealed" : "sequenced"
}

/** The content a client may see: only once the entry's batch is sealed. */
export const visibleOrder = (state: MempoolState, e: Entry): UserOrder | null => (isSealed(state, e) ? e.order : null)

/** The puzzle of an RSW entry not yet opened. */
export const puzzleOf = (state: MempoolState, id: string): RswPuzzle | undefined => {
  const p = get(state.puzzles, id)
  const m = p === undefined ? undefined : get(state.moduli, p.modulusId)
  return p === undefined || m === undefined ? undefined : puzzleOfLock(m.n, p)
}

/** What is left of a debt once `batch` batches are sealed. */
export const debtAt = (d: Debt, rules: MempoolRules, batch: number): number =>
  Math.max(0, d.debt - Math.floor((batch - d.since) / rules.debtDecayBatches))

/** A sender's debt now, after decay. */
export const debtOf = (state: MempoolState, rules: MempoolRules, sender: string): number => {
  const d = get(state.debts, sender)
  return d === undefined ? 0 : debtAt(d, rules, state.batch)
}

/** The outcome a registration shows while its proof awaits the instance's check. */
export const PENDING_MODULUS_CHECK = "pending: awaiting the instance's check of the modulus proof (RswModulusVerified)"

/** What a decision does to one entry. */
export interface Transition {
  readonly id: string
  /** Its new status, recorded in its history with `reason`; null: it keeps its status (a cancelled or expired order's content is disclosed all the same). */
  readonly status: StoredStatus | null
  readonly reason?: string
  /** The content it discloses (a decryption). */
  readonly order?: UserOrder
}

/** The entry after a transition recorded at `offset`. */
export const transitioned = (entry: Entry, t: Transition, offset: number): Entry => {
  const disclosed = t.order === undefined ? entry : { ...entry, order: t.order }
  if (t.status === null) return disclosed
  const step = t.reason === undefined ? { status: t.status, offset } : { status: t.status, offset, reason: t.reason }
  return { ...disclosed, status: t.status, history: [...entry.history, step] }
}
