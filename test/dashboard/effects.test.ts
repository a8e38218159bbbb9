/**
 * The dashboard's effects view in Chromium against a server following two anvils ("source"
 * and "target"), set up as test/effects/EffectsEvm.test.ts's cross-chain journey: a bridge
 * deposit on the source, its fill on the target. The deposit's journey is drawn as a graph —
 * one leg per chain, the fill depending on the deposit — each leg focusable by keyboard to
 * show its evidence; the deposit moves lanes (in flight, then settled) as the fill finalizes.
 * Screenshots go to test-artifacts/dashboard/.
 */
import { Effect, Layer } from "effect"
import { describe, expect, it } from "@effect/vitest"
import { coreLayer } from "../../src/main.ts"
import { type Anvil, anvil, blockNumber, EMITTER_CONTRACT, sendAndMine } from "../evm/support/Anvil.ts"
import { eventually, get, layer as serverLayer, request, TestServer } from "../http/support/server.ts"
import { haveChromium, launch, openPage, screenshot } from "./support.ts"

const postJson = (path: string, body: unknown) => request("POST", path, { body: JSON.stringify(body), headers: { "content-type": "application/json" } })
const emit = (node: Anvil, address: string, data: string) => Effect.promise(() => sendAndMine(node, { to: address, data: `0x${data}` }))

describe.skipIf(!haveChromium)("the dashboard's effects view, in Chromium", () => {
  it.live("draws a deposit's journey across two anvils as a graph of legs and dependencies, each leg's evidence by keyboard", () =>
    Effect.gen(function*() {
      const source = yield* anvil()
      const target = yield* anvil()
      const depositor = ((yield* Effect.promise(() => sendAndMine(source, { data: EMITTER_CONTRACT }))).contractAddress as string).toLowerCase()
      const filler = ((yield* Effect.promise(() => sendAndMine(target, { data: EMITTER_CONTRACT }))).contractAddress as string).toLowerCase()
      const chain = (id: string, node: Anvil) => ({ chainId: id, rpcUrls: [node.url], confirmations: 2, pollIntervalMs: 25 })
      const server = serverLayer({
        http: { dashboard: true },
        core: (config, runner) => coreLayer({ ...config, evm: chain("source", source), evmChains: [chain("target", target)] }, runner)
      })
      yield* Effect.gen(function*() {
        const { base } = yield* TestServer
        for (const [name, node] of [["source", source], ["target", target]] as const) {
          const height = yield* Effect.promise(() => blockNumber(node))
          yield* eventually(get(`/v1/chains/${name}`), (r) => r.json?.latest?.height === height, 10_000)
        }
        const watch = (name: string, address: string, role: "deposit" | "fill") =>
          postJson("/v1/effects/watches", { chain: name, kind: "evm-log", filter: { address: address.slice(2) }, correlate: { route: "bridge", role, id: { dataWord: 1 } } })
        expect((yield* watch("source", depositor, "deposit")).status).toBe(201)
        expect((yield* watch("target", filler, "fill")).status).toBe(201)
        const ID = "33".repeat(32)
        const deposit = yield* emit(source, depositor, `${"aa".repeat(32)}${ID}`)
        const depositId = `evm-log:source:${(deposit.blockHash as string).slice(2)}:0:0`
        const fill = yield* emit(target, filler, `${"bb".repeat(32)}${ID}`)
        const fillId = `evm-log:target:${(fill.blockHash as string).slice(2)}:0:0`
        const delivered = yield* eventually(get(`/v1/effects/${depositId}`), (r) => r.json?.effect?.status === "delivered", 15_000)
        const fillEvidence = (yield* get(`/v1/effects/${fillId}`)).json.effect.evidence

        const browser = yield* Effect.acquireRelease(Effect.promise(launch), (b) => Effect.promise(() => b.close()))
        const { page, errors } = yield* Effect.promise(() => openPage(browser, `${base}/#/effects/${encodeURIComponent(depositId)}`))
        yield* Effect.promise(async () => {
          // The lanes: the deposit (delivered) and its fill (included) are in flight.
          const inFlight = page.locator("[data-testid='lane-in flight']")
          await inFlight.getByText(depositId.slice(0, 40)).waitFor({ timeout: 10_000 })
          // The graph: a leg on each chain, the fill depending on the deposit.
          const graph = page.locator("[data-testid=journey-graph]")
          const depositLeg = graph.locator(`[data-testid=leg][data-key="${depositId}"]`)
          const fillLeg = graph.locator(`[data-testid=leg][data-key="${fillId}"]`)
          await depositLeg.waitFor({ timeout: 10_000 })
          await fillLeg.waitFor({ timeout: 10_000 })
          expect(await depositLeg.getAttribute("data-chain")).toBe("source")
          expect(await depositLeg.getAttribute("data-label")).toBe("deposit")
          expect(await depositLeg.getAttribute("data-status")).toBe("delivered")
          expect(await fillLeg.getAttribute("data-chain")).toBe("target")
          expect(await fillLeg.getAttribute("data-label")).toBe("fill")
          expect(await fillLeg.getAttribute("data-status")).toBe("included")
          expect(await graph.locator("[data-testid=dependency]").count()).toBe(1)
          expect(await graph.locator(`[data-testid=dependency][data-from="${depositId}"][data-to="${fillId}"]`).count()).toBe(1)
          // The fill's leg is right of the deposit's (it depends on it), in its own chain's lane.
          const [d, f] = await Promise.all([depositLeg.boundingBox(), fillLeg.boundingBox()])
          expect(f!.x).toBeGreaterThan(d!.x + d!.width - 1)
          expect(f!.y).not.toBe(d!.y)

          // By keyboard: Tab reaches the legs; Enter shows the focused leg's evidence.
          await page.locator("[data-testid=journey] h4").click()
          for (let i = 0; i < 10 && (await page.evaluate("document.activeElement?.dataset?.key")) !== fillId; i++) await page.keyboard.press("Tab")
          expect(await page.evaluate("document.activeElement?.dataset?.key")).toBe(fillId)
          await page.keyboard.press("Enter")
          const evidence = page.locator(`[data-testid=leg-evidence][data-leg="${fillId}"]`)
          await evidence.waitFor()
          expect(await evidence.locator("[data-testid=evidence-kind]").textContent()).toBe("evm-receipt")
          expect(await evidence.textContent()).toContain(fillEvidence.message.slice(0, 24))
          expect(await evidence.textContent()).toContain(`header ${fillEvidence.header.height}`)
          // The deposit's evidence is its fill's receipt proof, naming the fill.
          await depositLeg.click()
          const depositEvidence = page.locator(`[data-testid=leg-evidence][data-leg="${depositId}"]`)
          await depositEvidence.waitFor()
          expect(await depositEvidence.textContent()).toContain(delivered.json.effect.evidence.message.slice(0, 24))
          expect(await depositEvidence.textContent()).toContain(fillId.slice(0, 40))
          await screenshot(page, "effects-journey")
        })

        // The fill final on the target: the deposit is settled, and the page follows.
        yield* Effect.promise(() => target.rpc("anvil_mine", ["0x3"]))
        yield* eventually(get(`/v1/effects/${depositId}`), (r) => r.json.effect.status === "settled", 15_000)
        yield* Effect.promise(async () => {
          await page.locator(`[data-testid=journey-graph] [data-testid=leg][data-key="${depositId}"][data-status=settled]`).waitFor({ timeout: 10_000 })
          await page.locator("[data-testid=lane-settled]").getByText(depositId.slice(0, 40)).waitFor({ timeout: 10_000 })
          // At a phone's width the graph scales down: nothing wider than the screen.
          await page.setViewportSize({ width: 390, height: 844 })
          await screenshot(page, "effects-journey-phone")
          const wide = await page.evaluate<string>(`[...document.querySelectorAll("body *")].filter((e) => e.getBoundingClientRect().right > 391).map((e) => e.tagName + "." + e.getAttribute("class") + "#" + e.getAttribute("data-testid")).slice(0, 8).join(" ")`)
          expect(await page.evaluate<number>("document.documentElement.scrollWidth"), wide).toBeLessThanOrEqual(390)
        })
        expect(errors).toStrictEqual([])
      }).pipe(Effect.provide(Layer.fresh(server)))
    }), 90_000)
})
