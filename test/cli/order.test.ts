// `causeway order …` and `submit --wait` end to end: real `causeway serve` children (one with
// a 500 ms batch window, one whose batch is never sealed during the test), real key files, and
// every answer checked back through the HTTP API. Flows run concurrently, each with its own
// keys (a sender's nonces must rise, so one key's messages must not race).
import { existsSync, readFileSync, statSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { Schema } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { idOf } from "../../src/domain/Envelope.ts"
import type { KeyFile } from "../../src/domain/Keys.ts"
import { UserOrder } from "../../src/domain/mempool/MempoolMessages.ts"
import { commitmentOf } from "../../src/domain/mempool/OrderBytes.ts"
import { envelope, testKey } from "../support/fixtures.ts"
import { cleanup, cli, eventually, getJson, lines, type Server, start, startServer, tempDir, waitForLine } from "./support/cli.ts"

afterAll(cleanup)

const order = {
  chain: "eip155:1",
  market: "WETH/USDC",
  side: "sell",
  amountIn: "1000000000000000000",
  minAmountOut: "2900000000",
  limitPrice: "2900000000000000000000"
} as const

const orderFlags = (o: Record<string, string> = order) => [
  "--chain", o["chain"] as string,
  "--market", o["market"] as string,
  "--side", o["side"] as string,
  "--amount-in", o["amountIn"] as string,
  "--min-amount-out", o["minAmountOut"] as string,
  "--limit-price", o["limitPrice"] as string
]

const json = (stdout: string): Array<any> => lines(stdout).map((l) => JSON.parse(l))

describe("causeway order", () => {
  let dir: string
  let fast: Server
  let slow: Server
  const keys = new Map<string, { key: KeyFile; path: string }>()

  /** A key file of its own for each flow. */
  const keyOf = (name: string) => {
    const known = keys.get(name)
    if (known !== undefined) return known
    const key = testKey(`order-cli-${name}`)
    const path = join(dir, `${name}.json`)
    writeFileSync(path, JSON.stringify(key), { mode: 0o600 })
    const entry = { key, path }
    keys.set(name, entry)
    return entry
  }

  /** Log records per sender, as the log index counts them. */
  const sentBy = async (server: Server, publicKey: string): Promise<number> =>
    (await getJson(`${server.url}/v1/projections/log-index`)).body.state.bySender[publicKey]?.count ?? 0

  beforeAll(async () => {
    dir = tempDir()
    ;[fast, slow] = await Promise.all([
      startServer(join(dir, "fast"), { args: ["--port", "0", "--data-dir", join(dir, "fast"), "--batch-window-ms", "500"] }),
      startServer(join(dir, "slow"), { args: ["--port", "0", "--data-dir", join(dir, "slow"), "--batch-window-ms", "3600000"] })
    ])
  }, 60_000)

  afterAll(async () => {
    await Promise.all([fast?.stop(), slow?.stop()])
  })

  describe.concurrent("flows", () => {
    it("place --wait prints the receipt then the order's view; receipt --verify (and a wrong --instance-key); status of an unknown id", async () => {
      const { key, path } = keyOf("place")
      const placed = await cli(["order", "place", "--key", path, ...orderFlags(), "--url", fast.url, "--wait"])
      expect(placed.stderr).toBe("")
      expect(placed.code).toBe(0)
      const [receipt, view, ...rest] = json(placed.stdout)
      expect(rest).toEqual([])
      expect(receipt).toEqual({ id: expect.stringMatching(/^[0-9a-f]{64}$/), offset: expect.any(Number), lamport: 1 })
      expect(view).toMatchObject({ kind: "order", id: receipt.id, mode: "plain", sender: key.publicKey, offset: receipt.offset })
      expect(["committed", "revealed"]).toContain(view.status)
      // The envelope in the log is the order as given.
      expect((await getJson(`${fast.url}/v1/messages/${receipt.id}`)).body.envelope).toMatchObject({ type: "UserOrder", payload: order, expiry: null })

      const instance = (await getJson(`${fast.url}/v1/instance`)).body
      const unknown = "cd".repeat(32)
      const [verified, wrongKey, missing] = await Promise.all([
        cli(["order", "receipt", receipt.id, "--verify", "--url", fast.url]),
        cli(["order", "receipt", receipt.id, "--verify", "--instance-key", key.publicKey, "--url", fast.url]),
        // The server from the environment.
        cli(["order", "status", unknown], { env: { CAUSEWAY_URL: fast.url } })
      ])
      expect(verified.stderr).toBe("")
      expect(verified.code).toBe(0)
      const [signed, verdict] = json(verified.stdout)
      expect(signed).toMatchObject({ v: 1, orderId: receipt.id, offset: receipt.offset, instance: instance.publicKey })
      expect(verdict).toMatchObject({ verified: true, orderId: receipt.id, instance: instance.publicKey })

      expect(wrongKey.code).toBe(1)
      expect(wrongKey.stderr).toContain(`causeway: the receipt does not verify: signed by ${instance.publicKey}, not by ${key.publicKey}`)

      expect(missing.code).toBe(1)
      expect(missing.stdout).toBe("")
      expect(missing.stderr).toContain(`causeway: no such order/message in the mempool: ${unknown}`)
    }, 60_000)

    it("a zero amount is a usage error (exit 2) before anything is signed, sent or written", async () => {
      const { key, path } = keyOf("zero")
      const saltDir = join(dir, "zero-salts")
      const runs = await Promise.all([
        cli(["order", "place", "--key", path, ...orderFlags({ ...order, amountIn: "0" }), "--url", fast.url, "--wait"]),
        cli(["order", "commit", "--key", path, ...orderFlags({ ...order, limitPrice: "0" }), "--url", fast.url, "--salt-dir", saltDir])
      ])
      for (const run of runs) {
        expect(run.code).toBe(2)
        expect(run.stdout).toBe("")
      }
      expect(runs[0]?.stderr).toContain("causeway: --amount-in must be a positive integer in base units (decimal digits with no sign, leading zero or decimal point, at most 78), got \"0\"")
      expect(runs[1]?.stderr).toContain("causeway: --limit-price must be a positive integer")
      expect(existsSync(saltDir)).toBe(false)
      expect(await sentBy(fast, key.publicKey)).toBe(0)
    }, 60_000)

    it("commit writes its salt file (0600) before sending; reveal before the seal exits 1 and sends nothing", async () => {
      const { key, path } = keyOf("early")
      const cwd = tempDir()
      const committed = await cli(["order", "commit", "--key", path, ...orderFlags(), "--url", slow.url], { cwd })
      expect(committed.stderr).toBe("")
      expect(committed.code).toBe(0)
      const [receipt] = json(committed.stdout)
      // The default salt directory, under the current directory.
      const saltDir = join(cwd, ".causeway", "commitments")
      const saltPath = join(saltDir, `${receipt.id}.json`)
      expect(statSync(saltPath).mode & 0o777).toBe(0o600)
      expect(statSync(saltDir).mode & 0o777).toBe(0o700)
      const salt = JSON.parse(readFileSync(saltPath, "utf8"))
      expect(salt).toEqual({ commitmentId: receipt.id, sender: key.publicKey, order, salt: expect.stringMatching(/^[0-9a-f]{64}$/), url: slow.url })
      // The commitment in the log is the hash of that order and salt, and nothing else.
      const logged = (await getJson(`${slow.url}/v1/messages/${receipt.id}`)).body.envelope
      expect(logged).toMatchObject({ type: "OrderCommitment", payload: { commitment: commitmentOf(Schema.decodeUnknownSync(UserOrder)(order), salt.salt) } })

      // No --url: the server the salt file records.
      const early = await cli(["order", "reveal", "--key", path, "--commitment", receipt.id], { cwd })
      expect(early.code).toBe(1)
      expect(early.stdout).toBe("")
      expect(early.stderr).toContain(`causeway: commitment ${receipt.id} is not sealed yet, reveal after batch 0's seal`)
      const index = (await getJson(`${slow.url}/v1/projections/log-index`)).body.state
      expect(index.byType["OrderReveal"]).toBeUndefined()
      expect(index.bySender[key.publicKey].count).toBe(1)
      expect(existsSync(saltPath)).toBe(true)
    }, 60_000)

    it("commit --reveal --wait: commitment, seal, reveal; the order ends revealed and the salt file is gone", async () => {
      const { key, path } = keyOf("commit-reveal")
      const saltDir = join(dir, "commit-reveal-salts")
      const run = await cli(["order", "commit", "--key", path, ...orderFlags(), "--url", fast.url, "--salt-dir", saltDir, "--reveal", "--wait"])
      expect(run.stderr).toBe("")
      expect(run.code).toBe(0)
      const [commitReceipt, committed, revealReceipt, verdict, revealed, ...rest] = json(run.stdout)
      expect(rest).toEqual([])
      expect(committed).toMatchObject({ kind: "order", id: commitReceipt.id, mode: "commit", sender: key.publicKey, order: null })
      expect(verdict).toEqual({ kind: "message", id: revealReceipt.id, type: "OrderReveal", offset: revealReceipt.offset, accepted: true, reason: null, target: commitReceipt.id })
      expect(revealed).toMatchObject({ kind: "order", id: commitReceipt.id, status: "revealed", order, sealId: expect.stringMatching(/^[0-9a-f]{64}$/) })
      // The reveal names the seal among its deps and comes after it.
      const reveal = (await getJson(`${fast.url}/v1/messages/${revealReceipt.id}`)).body
      expect(reveal.deps).toEqual([revealed.sealId])
      expect(reveal.envelope.payload).toMatchObject({ commitmentId: commitReceipt.id, order })
      expect(existsSync(join(saltDir, `${commitReceipt.id}.json`))).toBe(false)
    }, 60_000)

    it("reveal with a tampered salt file: the server's 409 reason, exit 1, the salt file kept", async () => {
      const { path } = keyOf("tampered")
      const saltDir = join(dir, "tampered-salts")
      const committed = await cli(["order", "commit", "--key", path, ...orderFlags(), "--url", fast.url, "--salt-dir", saltDir, "--wait"])
      expect(committed.code).toBe(0)
      const [receipt, view] = json(committed.stdout)
      expect(view).toMatchObject({ kind: "order", id: receipt.id, mode: "commit" })
      await eventually(() => getJson(`${fast.url}/v1/mempool/orders/${receipt.id}`), (r) => r.body.sealId !== null, 20_000)

      const saltPath = join(saltDir, `${receipt.id}.json`)
      const salt = JSON.parse(readFileSync(saltPath, "utf8"))
      const flipped = `${salt.salt.slice(0, -1)}${salt.salt.endsWith("0") ? "1" : "0"}`
      writeFileSync(saltPath, JSON.stringify({ ...salt, salt: flipped }))
      const run = await cli(["order", "reveal", "--key", path, "--commitment", receipt.id, "--salt-dir", saltDir, "--url", fast.url, "--wait"])
      expect(run.code).toBe(1)
      expect(run.stdout).toBe("")
      expect(run.stderr).toContain("causeway: rejected (409 SealedContent: reveal refused before it was logged: order and salt do not match the commitment)")
      expect(existsSync(saltPath)).toBe(true)
      expect((await getJson(`${fast.url}/v1/mempool/orders/${receipt.id}`)).body.status).toBe("sequenced")
    }, 60_000)

    it("lock --wait, watch until revealed, then cancel --wait ends the watch with cancelled", async () => {
      const { key, path } = keyOf("lock")
      const locked = await cli(["order", "lock", "--key", path, ...orderFlags(), "--url", fast.url, "--wait"])
      expect(locked.stderr).toBe("")
      expect(locked.code).toBe(0)
      const [receipt, lock, view, ...rest] = json(locked.stdout)
      expect(rest).toEqual([])
      expect(lock).toEqual({ round: expect.any(Number), opensAt: expect.any(Number), opensAtIso: new Date(lock.opensAt).toISOString() })
      expect(lock.opensAt).toBeGreaterThan(Date.now() - 1_000)
      expect(view).toMatchObject({ kind: "order", id: receipt.id, mode: "tlock", round: lock.round, sender: key.publicKey, order: null })
      const logged = (await getJson(`${fast.url}/v1/messages/${receipt.id}`)).body.envelope
      expect(logged).toMatchObject({ type: "TimelockedOrder", payload: { scheme: "tlock", round: lock.round } })
      expect(JSON.stringify(logged)).not.toContain(order.limitPrice)

      const watch = start(["order", "watch", receipt.id, "--url", fast.url])
      await waitForLine(watch.child, watch.stdout, (l) => l.includes("\"status\":\"revealed\""), 25_000)
      const cancelled = await cli(["order", "cancel", "--key", path, "--order", receipt.id, "--url", fast.url, "--wait"])
      expect(cancelled.stderr).toBe("")
      expect(cancelled.code).toBe(0)
      const [cancelReceipt, outcome] = json(cancelled.stdout)
      expect(outcome).toEqual({ kind: "message", id: cancelReceipt.id, type: "UserOrderCancellation", offset: cancelReceipt.offset, accepted: true, reason: null, target: receipt.id })

      const watched = await watch.exited
      expect(watched.stderr).toBe("")
      expect(watched.code).toBe(0)
      const statuses = json(watched.stdout).map((v) => v.status)
      expect(statuses).toContain("revealed")
      expect(statuses.at(-1)).toBe("cancelled")
      expect(json(watched.stdout).find((v) => v.status === "revealed").order).toEqual(order)
    }, 60_000)

    it("submit --wait: exit 1 with the mempool's reason when it refuses the message; exit 0 for one it does not fold, once folded", async () => {
      const owner = keyOf("submit-owner")
      const other = keyOf("submit-other")
      const health = keyOf("submit-health")
      const placed = envelope(owner.key, { type: "UserOrder", payload: order, nonce: 1 })
      const posted = await fetch(`${fast.url}/v1/messages`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(placed) })
      expect(posted.status).toBe(201)
      const cancel = JSON.stringify({ orderId: idOf(placed) })
      const [refused, unfolded] = await Promise.all([
        cli(["submit", "--key", other.path, "--type", "UserOrderCancellation", "--payload", cancel, "--url", fast.url, "--wait"]),
        cli(["submit", "--key", health.path, "--type", "NetworkHealth", "--payload", JSON.stringify({ component: "cli", status: "ok", latencyMs: 1 }), "--url", fast.url, "--wait"])
      ])
      expect(refused.code).toBe(1)
      const [refusedReceipt, refusedView] = json(refused.stdout)
      expect(refusedView).toMatchObject({ kind: "message", id: refusedReceipt.id, accepted: false, reason: "only the order's sender may cancel it" })
      expect(refused.stderr).toContain(`causeway: the mempool refused ${refusedReceipt.id}: only the order's sender may cancel it`)

      // A type the mempool does not fold: done once every projection has folded it.
      expect(unfolded.stderr).toBe("")
      expect(unfolded.code).toBe(0)
      const [healthReceipt, ...more] = json(unfolded.stdout)
      expect(more).toEqual([])
      const projections = (await getJson(`${fast.url}/v1/projections`)).body as Array<{ offset: number }>
      for (const p of projections) expect(p.offset).toBeGreaterThan(healthReceipt.offset)
    }, 60_000)
  })
})
