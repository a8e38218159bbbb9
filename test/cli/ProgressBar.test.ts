// The replay progress bar's text, and that it stays silent off a terminal.
import { describe, expect, it } from "vitest"
import { formatRate, progressOn, renderProgress } from "../../src/cli/ProgressBar.ts"

describe("ProgressBar", () => {
  it("renders offset/end, percent and rate", () => {
    expect(renderProgress(250, 1000, 500, 20)).toBe("[#####---------------] 250/1000 25.0% 500 records/s")
    expect(renderProgress(1000, 1000, 2000, 10)).toBe("[##########] 1000/1000 100.0% 500 records/s")
    expect(renderProgress(0, 0, 0, 4)).toBe("[####] 0/0 100.0% 0 records/s")
  })

  it("abbreviates rates", () => {
    expect([formatRate(950.4), formatRate(12_345), formatRate(4_560_000)]).toEqual(["950", "12.3k", "4.56M"])
  })

  it("writes nothing to a stream that is not a terminal, and redraws then clears one that is", () => {
    const written: Array<string> = []
    const fake = (isTTY: boolean) => ({ isTTY, columns: 80, write: (s: string) => written.push(s) }) as unknown as NodeJS.WriteStream
    const piped = progressOn(fake(false))
    piped.update(1, 2)
    piped.update(2, 2)
    piped.done()
    expect(written).toEqual([])

    const tty = progressOn(fake(true), 0)
    tty.update(1, 2)
    tty.update(2, 2)
    tty.done()
    expect(written).toHaveLength(3)
    expect(written[0]).toMatch(/^\r\[#{15}-{15}\] 1\/2 50\.0% \d+(?:\.\d+[kM])? records\/s\x1b\[K$/)
    expect(written[1]).toMatch(/^\r\[#{30}\] 2\/2 100\.0% /)
    expect(written[2]).toBe("\r\x1b[K")
  })
})
