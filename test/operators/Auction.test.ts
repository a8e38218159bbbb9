/**
 * The sealed-bid MEV auction through the operators projection: bids for the open batch only,
 * one per bidder, reveals only between the batch's seal and the next, the highest revealed
 * amount wins with ties to the earlier commitment, unrevealed bids are forfeited.
 */
import { describe, expect, it } from "@effect/vitest"
import { bidCommitment } from "../../src/domain/operators/Auction.ts"
import type { KeyFile } from "../../src/domain/Keys.ts"
import type { LogRecord } from "../../src/ports/CausalLog.ts"
import { auctionOf, makeOperators, type OperatorsState, refusalOf } from "../../src/projections/Operators/Operators.ts"
import { testKey } from "../support/fixtures.ts"
import { handLog, salt } from "./support.ts"

const instance = testKey("instance")
const [alice, bob, carol, dave] = ["alice", "bob", "carol", "dave"].map((l) => testKey(l)) as [KeyFile, KeyFile, KeyFile, KeyFile]
const Operators = makeOperators({ instanceKey: instance.publicKey })
const fold = (records: ReadonlyArray<LogRecord>): OperatorsState => records.reduce(Operators.evolve, Operators.initialState)

const setup = () => {
  const log = handLog()
  let batch = 0
  const seal = () => log.append(instance, "BatchSealed", { batch: batch++, sealedAt: 1000 * batch, beaconRound: null })
  const bid = (key: KeyFile, forBatch: number, amount: bigint, label = key.publicKey) =>
    log.append(key, "AuctionBidCommitment", { batch: forBatch, commitment: bidCommitment(key.publicKey, forBatch, amount, salt(label)) })
  const reveal = (key: KeyFile, commitment: LogRecord, amount: bigint, label = key.publicKey) =>
    log.append(key, "AuctionBidReveal", { commitmentId: commitment.id, amount: amount.toString(), salt: salt(label) })
  return { ...log, seal, bid, reveal, state: () => fold(log.records) }
}

describe("MEV auction", () => {
  it("the highest revealed bid wins at the next seal; equal amounts go to the earlier commitment; unrevealed bids forfeit", () => {
    const { seal, bid, reveal, state } = setup()
    const a = bid(alice, 0, 700n)
    const b = bid(bob, 0, 900n)
    const c = bid(carol, 0, 900n)
    const d = bid(dave, 0, 5000n)
    expect(auctionOf(state(), 0)?.auction.phase).toBe("open")
    const close = seal()
    expect(auctionOf(state(), 0)?.auction).toMatchObject({ phase: "revealing", closedBy: close.id, winner: null })
    reveal(carol, c, 900n)
    reveal(alice, a, 700n)
    reveal(bob, b, 900n) // revealed after carol, but committed before her: bob wins the tie
    const settle = seal()
    const result = auctionOf(state(), 0)
    expect(result?.auction).toMatchObject({ phase: "settled", closedBy: close.id, settledBy: settle.id, winner: b.id })
    expect(result?.bids.map((x) => [x.id, x.status, x.amount])).toEqual([
      [a.id, "revealed", "700"],
      [b.id, "revealed", "900"],
      [c.id, "revealed", "900"],
      [d.id, "forfeited", null] // dave's 5000 never counted
    ])
  })

  it("compares amounts as integers beyond 2^53", () => {
    const { seal, bid, reveal, state } = setup()
    const big = (1n << 200n) + 1n
    const a = bid(alice, 0, big)
    const b = bid(bob, 0, 1n << 200n)
    seal()
    reveal(bob, b, 1n << 200n)
    reveal(alice, a, big)
    seal()
    expect(auctionOf(state(), 0)?.auction.winner).toBe(a.id)
  })

  it("takes bids for the open batch only, one per bidder", () => {
    const { seal, bid, state } = setup()
    seal() // batch 0 sealed: batch 1 is open
    const past = bid(alice, 0, 1n)
    const future = bid(alice, 2, 1n)
    const ok = bid(alice, 1, 1n)
    const second = bid(alice, 1, 2n, "second")
    const s = state()
    expect(refusalOf(s, past.id)?.reason).toMatch(/batch 0 is sealed; bids are taken for batch 1/)
    expect(refusalOf(s, future.id)?.reason).toMatch(/batch 2 is not open/)
    expect(refusalOf(s, ok.id)).toBeUndefined()
    expect(refusalOf(s, second.id)?.reason).toMatch(/already bid for batch 1/)
    expect(auctionOf(s, 1)?.bids.map((x) => x.id)).toEqual([ok.id])
    expect(auctionOf(s, 0)).toBeUndefined()
  })

  it("refuses reveals before the close (the bidder may reveal again after it), after the settlement, and that do not match", () => {
    const { seal, bid, reveal, append, state } = setup()
    const a = bid(alice, 0, 10n)
    const b = bid(bob, 0, 20n)
    const early = reveal(alice, a, 10n)
    seal()
    const wrongAmount = reveal(bob, b, 21n)
    const thief = append(carol, "AuctionBidReveal", { commitmentId: a.id, amount: "10", salt: salt(alice.publicKey) })
    const unknown = append(carol, "AuctionBidReveal", { commitmentId: early.id, amount: "10", salt: salt("x") })
    const again = reveal(alice, a, 10n)
    const twice = reveal(alice, a, 10n)
    seal()
    const late = reveal(bob, b, 20n)
    const s = state()
    expect(refusalOf(s, early.id)?.reason).toMatch(/still open; reveal after batch 0 is sealed/)
    expect(refusalOf(s, wrongAmount.id)?.reason).toMatch(/do not hash to the commitment/)
    expect(refusalOf(s, thief.id)?.reason).toMatch(/another sender/)
    expect(refusalOf(s, unknown.id)?.reason).toMatch(/no bid/)
    expect(refusalOf(s, again.id)).toBeUndefined()
    expect(refusalOf(s, twice.id)?.reason).toMatch(/already revealed/)
    expect(refusalOf(s, late.id)?.reason).toMatch(/settled; bid .* was forfeited/)
    expect(auctionOf(s, 0)?.auction.winner).toBe(a.id)
  })

  it("an auction with no revealed bid settles without a winner; batches without bids have no auction", () => {
    const { seal, bid, state } = setup()
    bid(alice, 0, 10n)
    seal()
    seal()
    seal()
    expect(auctionOf(state(), 0)?.auction).toMatchObject({ phase: "settled", winner: null })
    expect(auctionOf(state(), 1)).toBeUndefined()
  })

  it("a commitment binds the batch: a bid committed for one batch does not open as another's", () => {
    const { seal, append, state } = setup()
    seal()
    // Committed with batch 0's preimage while bidding for batch 1.
    const c = append(alice, "AuctionBidCommitment", { batch: 1, commitment: bidCommitment(alice.publicKey, 0, 5n, salt("a")) })
    seal()
    const r = append(alice, "AuctionBidReveal", { commitmentId: c.id, amount: "5", salt: salt("a") })
    expect(refusalOf(state(), r.id)?.reason).toMatch(/do not hash/)
  })
})
