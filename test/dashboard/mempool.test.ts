/**
 * The dashboard served by `causeway serve` (what `npm start` runs) with a 3 s batch window,
 * in headless Chromium: the page and its assets (content types, CSP, no console error), the
 * views switched by keyboard, an order submitted through the API shown in the open batch and
 * then in its sealed batch, and the browser's receipt check passing a real receipt and
 * failing a tampered one, and the cluster view's charts drawn from the server's recent
 * samples. Screenshots of each view go to test-artifacts/dashboard/.
 */
import { existsSync, statSync } from "node:fs"
import { join } from "node:path"
import type { Browser, Page } from "playwright-core"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { idOf } from "../../src/domain/Envelope.ts"
import { cleanup, type Server, startServer, tempDir } from "../cli/support/cli.ts"
import { envelope, testKey } from "../support/fixtures.ts"
import { order } from "../mempool/support.ts"
import { haveChromium, launch, openPage, screenshot } from "./support.ts"

const alice = testKey("dashboard-alice")

/** Wait until `holds` (polled every 100 ms), or fail after `ms`. */
const until = async (holds: () => Promise<boolean>, ms: number): Promise<void> => {
  const deadline = Date.now() + ms
  while (!(await holds())) {
    if (Date.now() > deadline) throw new Error(`not within ${ms} ms`)
    await new Promise((r) => setTimeout(r, 100))
  }
}

describe.skipIf(!haveChromium)("the dashboard, in Chromium", () => {
  let server: Server
  let browser: Browser
  const pages: Array<{ page: Page; errors: Array<string> }> = []

  beforeAll(async () => {
    const dataDir = join(tempDir(), "data")
    server = await startServer(dataDir, { args: ["--port", "0", "--data-dir", dataDir, "--batch-window-ms", "3000"] })
    browser = await launch()
  })

  afterAll(async () => {
    await browser?.close()
    await server?.stop("SIGTERM")
    cleanup()
  })

  const open = async (path: string, viewport?: { width: number; height: number }) => {
    const p = await openPage(browser, `${server.url}${path}`, viewport)
    pages.push(p)
    return p
  }

  it("serves the page, its script and style sheet with their types and a CSP, without a token", async () => {
    for (const [path, type] of [["/", "text/html"], ["/dashboard.js", "text/javascript"], ["/dashboard.css", "text/css"]] as const) {
      const r = await fetch(`${server.url}${path}`)
      expect(r.status, path).toBe(200)
      expect(r.headers.get("content-type"), path).toContain(type)
      expect(r.headers.get("content-security-policy"), path).toContain("script-src 'self'")
      expect(r.headers.get("content-security-policy"), path).not.toContain("unsafe-inline")
      expect((await r.text()).length, path).toBeGreaterThan(100)
    }
    const html = await (await fetch(`${server.url}/`)).text()
    // No inline script: the only script is the bundle.
    expect(html.match(/<script\b[^>]*>/g)).toStrictEqual(["<script type=\"module\" src=\"/dashboard.js\">"])
  })

  it("loads with no console error and switches views by keyboard (1-4, arrows); a screenshot of each view", async () => {
    const { page, errors } = await open("/")
    await page.locator("[data-testid=open-batch]").waitFor()
    await page.locator("[data-testid=live].on").waitFor()
    expect(await page.locator("[role=tab][aria-selected=true]").textContent()).toContain("Mempool")
    await screenshot(page, "mempool")

    await page.keyboard.press("2")
    await page.locator("[data-view=chains]").waitFor()
    expect(await page.locator("[role=tab][aria-selected=true]").textContent()).toContain("Chains")
    await page.getByText("observes no chain").waitFor()
    await screenshot(page, "chains-none")

    // The focused tab moves with the arrow keys (WAI-ARIA tabs).
    await page.keyboard.press("ArrowRight")
    await page.locator("[data-view=effects]").waitFor()
    expect(await page.evaluate("document.activeElement?.id")).toBe("tab-effects")
    await page.getByText("No effect tracked").waitFor()
    await screenshot(page, "effects")

    await page.keyboard.press("ArrowRight")
    await page.locator("[data-view=cluster]").waitFor()
    await page.locator("[data-testid=member]").first().waitFor()
    await screenshot(page, "cluster")

    await page.keyboard.press("Home")
    await page.locator("[data-view=mempool]").waitFor()
    expect(errors).toStrictEqual([])
  })

  it("shows an order submitted through the API in the open batch within 2 s, then in its sealed batch", async () => {
    const { page, errors } = await open("/#/mempool")
    await page.locator("[data-testid=open-batch]").waitFor()
    const batch = Number(await page.locator("[data-testid=open-batch]").getAttribute("data-batch"))

    const e = envelope(alice, { type: "UserOrder", payload: order(7), nonce: 1, lamport: 1 })
    const id = idOf(e)
    const r = await fetch(`${server.url}/v1/messages`, { method: "POST", body: JSON.stringify(e), headers: { "content-type": "application/json" } })
    expect(r.status, await r.text()).toBe(201)
    // The bound: in the open batch within 2 s of the API's answer.
    await page.locator(`[data-testid=open-batch] [data-id="${id}"]`).waitFor({ timeout: 2000 })
    await screenshot(page, "mempool-open-batch")
    // Its content is not on the page before the seal.
    expect(await page.content()).not.toContain(order(7).amountIn)

    // The seal (3 s window): the order leaves the open batch and its batch is on the timeline.
    const sealed = page.locator(`[data-testid=sealed-${batch}]`)
    await sealed.waitFor({ timeout: 15_000 })
    expect(await page.locator(`[data-testid=open-batch] [data-id="${id}"]`).count()).toBe(0)
    // By keyboard: focus the batch and press Enter to list its positions.
    await sealed.focus()
    await page.keyboard.press("Enter")
    await page.locator(`[data-testid=batch-detail][data-batch="${batch}"] [data-id="${id}"]`).waitFor({ timeout: 10_000 })
    await screenshot(page, "mempool-sealed")
    expect(errors).toStrictEqual([])
  })

  it("checks a real receipt in the browser (valid) and a tampered one (invalid)", async () => {
    const e = envelope(alice, { type: "UserOrder", payload: order(9), nonce: 2, lamport: 2 })
    const id = idOf(e)
    const r = await fetch(`${server.url}/v1/messages`, { method: "POST", body: JSON.stringify(e), headers: { "content-type": "application/json" } })
    expect(r.status).toBe(201)

    const { page, errors } = await open(`/#/mempool/${id}`)
    await page.locator(`[data-testid=order-view]`).waitFor()
    const input = page.locator("[data-testid=receipt-input]")
    // Polled from here: the page's CSP forbids the string evaluation waitForFunction polls with
    // (it passed only when the receipt was there at the first look).
    await until(async () => (await input.inputValue()).includes("signature"), 10_000)
    const receipt = JSON.parse(await input.inputValue())
    expect(receipt).toMatchObject({ orderId: id })

    await page.locator("[data-testid=check-receipt]").click()
    const verdict = page.locator("[data-testid=receipt-verdict]")
    await verdict.waitFor()
    expect(await verdict.getAttribute("data-ok")).toBe("true")
    expect(await verdict.textContent()).toMatch(/^valid: signed by /)
    await screenshot(page, "receipt-valid")

    // One field changed, the signature kept: the check fails.
    await input.fill(JSON.stringify({ ...receipt, position: receipt.position + 1 }, null, 2))
    await page.locator("[data-testid=check-receipt]").click()
    await verdict.waitFor()
    expect(await verdict.getAttribute("data-ok")).toBe("false")
    expect(await verdict.textContent()).toContain("the signature does not verify")
    await screenshot(page, "receipt-tampered")

    // Signed by a key the instance does not publish: refused before the signature.
    await input.fill(JSON.stringify({ ...receipt, instance: "ab".repeat(32) }, null, 2))
    await page.locator("[data-testid=check-receipt]").click()
    expect(await verdict.textContent()).toMatch(/^invalid: signed by abab/)
    expect(errors).toStrictEqual([])
  })

  it("the cluster view charts the server's recent samples at once, and adds each new one live", async () => {
    // The server samples every 5 s from its start: by now (after the tests above) it holds some.
    const held = async () => ((await (await fetch(`${server.url}/v1/metrics/recent`)).json()) as { samples: Array<unknown> }).samples.length
    await until(async () => (await held()) >= 1, 10_000)
    const before = await held()
    expect(before).toBeGreaterThanOrEqual(1)
    const { page, errors } = await open("/#/cluster")
    const charts = page.locator("[data-testid=charts]")
    // The history the server holds, as soon as the view opens (no /metrics read, no waiting for scrapes).
    // (Polled from here: the page's CSP forbids the string evaluation waitForFunction polls with.)
    const samplesShown = async () => Number(await charts.getAttribute("data-samples"))
    await until(async () => (await samplesShown()) >= before, 5000)
    const accepted = charts.locator("figure.spark").first()
    expect(await accepted.locator("figcaption").textContent()).toMatch(/^accepted .*msg\/s$/)
    expect(Number(await accepted.getAttribute("data-points"))).toBeGreaterThanOrEqual(before)
    expect(await accepted.locator(".dot").count()).toBe(1)
    // The next sample arrives over /v1/metrics/events and is drawn.
    const shown = await samplesShown()
    await until(async () => (await samplesShown()) > shown, 12_000)
    // The two orders accepted above are in the samples the chart draws (once a sample after the second was taken).
    const acceptedInSamples = async () => {
      const { samples } = (await (await fetch(`${server.url}/v1/metrics/recent`)).json()) as { samples: Array<{ acceptedPerSecond: number; intervalMs: number }> }
      return Math.round(samples.reduce((n, x) => n + (x.acceptedPerSecond * x.intervalMs) / 1000, 0))
    }
    await until(async () => (await acceptedInSamples()) >= 2, 12_000)
    expect(await page.locator("[data-testid=charts] .spark path.line").count()).toBeGreaterThanOrEqual(1)
    await screenshot(page, "cluster-charts")
    expect(errors).toStrictEqual([])
  })

  it("is usable at a phone's width", async () => {
    const { page, errors } = await open("/", { width: 390, height: 844 })
    await page.locator("[data-testid=open-batch]").waitFor()
    // Nothing wider than the screen.
    expect(await page.evaluate<number>("document.documentElement.scrollWidth")).toBeLessThanOrEqual(390)
    const path = await screenshot(page, "mempool-phone")
    expect(existsSync(path) && statSync(path).size > 1000).toBe(true)
    expect(errors).toStrictEqual([])
  })
})
