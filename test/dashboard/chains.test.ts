/**
 * The dashboard's chains view against `causeway serve` following a real anvil: the chain's
 * verified head and marks, the head anvil claims and the lag behind it, and a reorg made on anvil (anvil_reorg) drawn on its timeline with
 * its fork height and depth. A screenshot goes to test-artifacts/dashboard/.
 */
import { join } from "node:path"
import { Effect } from "effect"
import { afterAll, describe, expect, it } from "@effect/vitest"
import { cleanup, startServer, tempDir } from "../cli/support/cli.ts"
import { anvil } from "../evm/support/Anvil.ts"
import { haveChromium, launch, openPage, screenshot } from "./support.ts"

afterAll(cleanup)

describe.skipIf(!haveChromium)("the dashboard's chains view, in Chromium", () => {
  it.live("draws a reorg made on anvil on the chain's timeline", () =>
    Effect.gen(function*() {
      const node = yield* anvil()
      yield* Effect.promise(() => node.rpc("anvil_mine", ["0x4"]))
      const dataDir = join(tempDir(), "data")
      const server = yield* Effect.acquireRelease(
        Effect.promise(() => startServer(dataDir, { args: ["--port", "0", "--data-dir", dataDir, "--evm-rpc", node.url, "--evm-chain-id", "anvil", "--evm-confirmations", "1"] })),
        (s) => Effect.promise(() => s.stop("SIGTERM"))
      )
      const browser = yield* Effect.acquireRelease(Effect.promise(launch), (b) => Effect.promise(() => b.close()))
      const { page, errors } = yield* Effect.promise(() => openPage(browser, `${server.url}/#/chains`))
      yield* Effect.promise(async () => {
        const card = page.locator("[data-testid=chain-anvil]")
        await page.locator("[data-testid=chain-anvil][data-latest='4']").waitFor({ timeout: 20_000 })
        await page.locator("[data-testid=no-reorgs]").waitFor()
        expect(await card.getAttribute("data-reorgs")).toBe("0")
        // The head anvil claimed to the observer, and the verified head's lag behind it (none: it is verified).
        await page.locator("[data-testid=chain-anvil][data-rpc-head='4']").waitFor({ timeout: 20_000 })
        expect(await card.getAttribute("data-lag")).toBe("0")
        expect(await card.locator("[data-testid=lag]").textContent()).toMatch(/Lag behind the RPC's head: 0 blocks .*claimed 4 .*not verified/)

        await node.rpc("anvil_reorg", [1, []])
        await node.rpc("anvil_mine", ["0x1"])
        const reorg = page.locator("[data-testid=chain-anvil] [data-testid=reorg]")
        await reorg.waitFor({ timeout: 20_000 })
        expect(await reorg.getAttribute("data-fork")).toBe("3")
        expect(await reorg.getAttribute("data-depth")).toBe("1")
        expect(await card.getAttribute("data-reorgs")).toBe("1")
        await page.locator("[data-testid=chain-anvil][data-rpc-head='5']").waitFor({ timeout: 20_000 })
        await screenshot(page, "chains-reorg")
      })
      expect(errors).toStrictEqual([])
    }), 90_000)
})
