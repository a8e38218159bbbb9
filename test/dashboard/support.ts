/**
 * The dashboard in a real browser: Debian's Chromium (/usr/bin/chromium, which .ci/run
 * installs) driven by playwright-core, no browser download. Pages fail their test on any
 * console error or uncaught exception; screenshots go to test-artifacts/dashboard/ (ignored
 * by git).
 */
import { existsSync, mkdirSync } from "node:fs"
import { join } from "node:path"
import { type Browser, chromium, type Page } from "playwright-core"
import { root } from "../cli/support/cli.ts"

/** Where Debian installs Chromium. */
export const CHROMIUM = "/usr/bin/chromium"

/** Is Chromium there? (The tests skip, saying so, when it is not.) */
export const haveChromium = existsSync(CHROMIUM)

if (!haveChromium) console.warn(`dashboard tests skipped: no Chromium at ${CHROMIUM} (apt-get install chromium; .ci/run installs it)`)

/** Where screenshots are written. */
export const ARTIFACTS = join(root, "test-artifacts", "dashboard")

/** Launch headless Chromium. */
export const launch = (): Promise<Browser> =>
  chromium.launch({
    executablePath: CHROMIUM,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
  })

/** A page whose console errors and uncaught exceptions are collected. */
export const openPage = async (browser: Browser, url: string, viewport = { width: 1280, height: 800 }): Promise<{ page: Page; errors: Array<string> }> => {
  const page = await browser.newPage({ viewport })
  const errors: Array<string> = []
  page.on("console", (m) => {
    if (m.type() === "error") errors.push(`console: ${m.text()}`)
  })
  page.on("pageerror", (e) => errors.push(`page error: ${e.message}`))
  await page.goto(url)
  return { page, errors }
}

/** Write a screenshot of the page to the artifacts folder. */
export const screenshot = async (page: Page, name: string): Promise<string> => {
  mkdirSync(ARTIFACTS, { recursive: true })
  const path = join(ARTIFACTS, `${name}.png`)
  await page.screenshot({ path, fullPage: true })
  return path
}
