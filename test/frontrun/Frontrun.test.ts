/**
 * The adversarial simulation, small: the same code as `npm run bench:frontrun` (real server
 * over HTTP with the sealer, local beacon and worker decrypter; the searcher on every
 * channel; the pool executing sealed batches in processing order; the referee), with a few
 * victims per mode. Correctness assertions of the simulation, not timing: the attack works
 * on the baseline (a plain FIFO mempool) and never under commit-reveal or time-lock, although
 * the searcher raced its blind legs in ahead of every protected victim and did read every
 * protected order — after its seal.
 */
import { describe, expect, it } from "vitest"
import { defaultSimOptions, type ModeResult, runMode } from "../../bench/support/frontrunSim.ts"

const ATTEMPTS = 4
const options = {
  ...defaultSimOptions,
  attempts: ATTEMPTS,
  // Generous margins: the machine is shared, and these are not timing assertions.
  windowMs: 1500,
  victimDelayMs: [250, 350] as const
}

const summary = (r: ModeResult) => JSON.stringify({ ...r, observations: undefined })

describe("frontrun simulation", () => {
  it("baseline: the searcher sandwiches victims using their orders, read from the public broadcast before they are sequenced", async () => {
    const r = await runMode("baseline", options)
    expect(r.attempts, summary(r)).toBe(ATTEMPTS)
    expect(r.successes, summary(r)).toBeGreaterThan(0.9 * ATTEMPTS)
    expect(r.contentBeforeSeal, summary(r)).toBe(ATTEMPTS)
    expect(r.informedAttempts, summary(r)).toBe(ATTEMPTS)
    expect(r.blindAttempts).toBe(0)
    expect(BigInt(r.pnl.informed) > 0n, summary(r)).toBe(true)
    expect(r.victimsExecuted, summary(r)).toBe(ATTEMPTS)
    expect(r.fair, summary(r)).toBe(true)
    // It read every channel, not only the broadcast.
    for (const channel of ["gossip", "log stream", "log lines", "GET /v1/messages", "GET /metrics"]) {
      expect(r.observations[channel] ?? 0, channel).toBeGreaterThan(0)
    }
  }, 180_000)

  for (const mode of ["commitReveal", "timelock"] as const) {
    it(`${mode}: no success; the searcher raced in ahead of every victim, but read no order before its seal`, async () => {
      const r = await runMode(mode, options)
      expect(r.attempts, summary(r)).toBe(ATTEMPTS)
      expect(r.successes, summary(r)).toBe(0)
      expect(r.contentBeforeSeal, summary(r)).toBe(0)
      expect(r.informedAttempts, summary(r)).toBe(0)
      // It did try: a blind front leg went out for every victim...
      expect(r.blindAttempts, summary(r)).toBe(ATTEMPTS)
      // ...and it could read every victim's order, once the order's position was final.
      expect(r.contentChannels["never"], summary(r)).toBeUndefined()
      expect(r.contentAfterSealMs, summary(r)).not.toBeNull()
      expect(r.fair, summary(r)).toBe(true)
      for (const channel of ["gossip", "log stream", "order status stream", "log lines", "GET /v1/mempool/orders/{id}", "GET /metrics"]) {
        expect(r.observations[channel] ?? 0, channel).toBeGreaterThan(0)
      }
    }, 180_000)
  }

  it("timelock with a faulty client locking to a round already out: the searcher reads the order from the public beacon before the seal, and the mempool refuses the order, so there is no victim to sandwich", async () => {
    const r = await runMode("timelock", { ...options, attempts: 2, lockTo: "roundAlreadyOut" })
    expect(r.contentBeforeSeal, summary(r)).toBe(2)
    expect(r.contentChannels, summary(r)).toEqual({ "public beacon": 2 })
    expect(r.informedAttempts, summary(r)).toBe(2)
    expect(r.victimsExecuted, summary(r)).toBe(0)
    expect(r.successes, summary(r)).toBe(0)
    expect(r.failures, summary(r)).toEqual({ "the victim did not execute (refused)": 2 })
  }, 180_000)
})
