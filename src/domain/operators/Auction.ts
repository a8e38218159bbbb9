/**
 * The sealed-bid MEV auction of each batch. Pure rules over persistent state; the operators
 * projection drives them from the log (docs/operators.md):
 *
 * - A bid for batch B is an AuctionBidCommitment (hash of the bid and a salt) in the log
 *   before the instance's BatchSealed for B, while B is the open batch (the one after the
 *   last sealed); one bid per bidder per batch.
 * - The seal of B closes its auction; reveals are taken from then until the next seal, which
 *   settles it: the highest revealed amount wins, equal amounts go to the bid committed first
 *   in the log; bids not revealed by then are forfeited. A reveal before the close is refused
 *   (the bidder may reveal again after it).
 *
 * The result is a function of the log alone (two seals, the commitments and the reveals
 * between them), so nobody needs to publish it: every replica and every replay computes the
 * same winner.
 */
import { HashMap, HashSet, Option } from "effect"
import { saltedCommitment } from "./Commitments.ts"

/** Where a bid is in its life. */
export type BidStatus = "committed" | "revealed" | "forfeited"

/** One sealed bid. */
export interface Bid {
  /** The AuctionBidCommitment's id. */
  readonly id: string
  readonly bidder: string
  readonly batch: number
  /** Its log offset: the tie-break between equal amounts. */
  readonly offset: number
  readonly commitment: string
  readonly status: BidStatus
  /** The revealed amount (decimal), once revealed. */
  readonly amount: string | null
  readonly revealId: string | null
}

/** Where an auction is in its life. */
export type AuctionPhase = "open" | "revealing" | "settled"

/** The auction of one batch. */
export interface Auction {
  readonly batch: number
  readonly phase: AuctionPhase
  /** Bid ids by bidder (one bid per bidder). */
  readonly bids: HashMap.HashMap<string, string>
  /** The seal that closed it (the batch's own BatchSealed). */
  readonly closedBy: string | null
  /** The seal that settled it (the next BatchSealed). */
  readonly settledBy: string | null
  /** The winning bid's id, once settled (null when no bid was revealed). */
  readonly winner: string | null
}

/** Every auction and bid. */
export interface AuctionsState {
  readonly auctions: HashMap.HashMap<number, Auction>
  readonly bids: HashMap.HashMap<string, Bid>
  /** Batches whose auctions take bids. */
  readonly open: HashSet.HashSet<number>
  /** Batches whose auctions are closed and take reveals. */
  readonly revealing: HashSet.HashSet<number>
}

/** No auctions. */
export const emptyAuctions: AuctionsState = {
  auctions: HashMap.empty(),
  bids: HashMap.empty(),
  open: HashSet.empty(),
  revealing: HashSet.empty()
}

/** A step's new state and, if the message was refused, why. */
export interface AuctionStep {
  readonly state: AuctionsState
  readonly refused: string | null
}

const DOMAIN = new TextEncoder().encode("causeway/v1/auction-bid\0")

/**
 * The commitment to a bid: SHA-256("causeway/v1/auction-bid\0" ‖ JCS({amount, batch,
 * bidder}) ‖ salt bytes), as hex, the amount a decimal string. The bidder's key is inside so
 * nobody can copy another bidder's commitment and reveal it as their own.
 */
export const bidCommitment = (bidder: string, batch: number, amount: bigint, salt: string): string => {
  return saltedCommitment(DOMAIN, { amount: amount.toString(), batch, bidder }, salt)
}

const newAuction = (batch: number): Auction => ({ batch, phase: "open", bids: HashMap.empty(), closedBy: null, settledBy: null, winner: null })

/** A sealed bid for the open batch (`openBatch`), or a refusal. */
export const commitBid = (
  state: AuctionsState,
  input: { readonly id: string; readonly bidder: string; readonly offset: number; readonly batch: number; readonly commitment: string },
  openBatch: number
): AuctionStep => {
  if (input.batch < openBatch) return { state, refused: `batch ${input.batch} is sealed; bids are taken for batch ${openBatch} until its seal` }
  if (input.batch > openBatch) return { state, refused: `batch ${input.batch} is not open; bids are taken for batch ${openBatch} until its seal` }
  const auction = Option.getOrElse(HashMap.get(state.auctions, input.batch), () => newAuction(input.batch))
  const earlier = HashMap.get(auction.bids, input.bidder)
  if (Option.isSome(earlier)) return { state, refused: `${input.bidder} already bid for batch ${input.batch} (${earlier.value}); one bid per bidder per batch` }
  const bid: Bid = { ...input, status: "committed", amount: null, revealId: null }
  return {
    state: {
      ...state,
      auctions: HashMap.set(state.auctions, input.batch, { ...auction, bids: HashMap.set(auction.bids, input.bidder, input.id) }),
      bids: HashMap.set(state.bids, input.id, bid),
      open: HashSet.add(state.open, input.batch)
    },
    refused: null
  }
}

/** A reveal of a closed auction's bid by its bidder, or a refusal. */
export const revealBid = (
  state: AuctionsState,
  input: { readonly revealId: string; readonly bidder: string; readonly commitmentId: string; readonly amount: bigint; readonly salt: string }
): AuctionStep => {
  const refuse = (reason: string): AuctionStep => ({ state, refused: reason })
  const found = HashMap.get(state.bids, input.commitmentId)
  if (Option.isNone(found)) return refuse(`no bid ${input.commitmentId}`)
  const bid = found.value
  if (bid.bidder !== input.bidder) return refuse(`bid ${bid.id} was made by another sender`)
  if (bid.status === "revealed") return refuse(`bid ${bid.id} is already revealed by ${bid.revealId}`)
  if (bid.status === "forfeited") return refuse(`the auction of batch ${bid.batch} is settled; bid ${bid.id} was forfeited unrevealed`)
  if (!HashSet.has(state.revealing, bid.batch)) return refuse(`the auction of batch ${bid.batch} is still open; reveal after batch ${bid.batch} is sealed`)
  if (bidCommitment(input.bidder, bid.batch, input.amount, input.salt) !== bid.commitment) {
    return refuse(`the amount and salt do not hash to the commitment of bid ${bid.id}`)
  }
  return {
    state: { ...state, bids: HashMap.set(state.bids, bid.id, { ...bid, status: "revealed", amount: input.amount.toString(), revealId: input.revealId }) },
    refused: null
  }
}

/** Does bid a beat bid b: a higher amount, or an equal one committed earlier in the log. */
const beats = (a: Bid, b: Bid): boolean => {
  const x = BigInt(a.amount ?? "0")
  const y = BigInt(b.amount ?? "0")
  return x > y || (x === y && a.offset < b.offset)
}

/**
 * The instance sealed `batch` (seal record `sealId`): auctions taking reveals settle, then
 * every open auction up to this batch closes.
 */
export const sealAuctions = (state: AuctionsState, seal: { readonly batch: number; readonly sealId: string }): AuctionsState => {
  let auctions = state.auctions
  let bids = state.bids
  let revealing = HashSet.empty<number>()
  for (const batch of state.revealing) {
    const auction = Option.getOrThrow(HashMap.get(auctions, batch))
    let winner: Bid | null = null
    for (const id of HashMap.values(auction.bids)) {
      const bid = Option.getOrThrow(HashMap.get(bids, id))
      if (bid.status === "committed") bids = HashMap.set(bids, id, { ...bid, status: "forfeited" })
      else if (bid.status === "revealed" && (winner === null || beats(bid, winner))) winner = bid
    }
    auctions = HashMap.set(auctions, batch, { ...auction, phase: "settled", settledBy: seal.sealId, winner: winner?.id ?? null })
  }
  let open = state.open
  for (const batch of state.open) {
    if (batch > seal.batch) continue
    const auction = Option.getOrThrow(HashMap.get(auctions, batch))
    auctions = HashMap.set(auctions, batch, { ...auction, phase: "revealing", closedBy: seal.sealId })
    open = HashSet.remove(open, batch)
    revealing = HashSet.add(revealing, batch)
  }
  return { auctions, bids, open, revealing }
}
