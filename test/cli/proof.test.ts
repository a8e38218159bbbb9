/**
 * `causeway proof show` against a real `causeway serve` child: a Groth16 proof from the
 * vectors, padded to 40 kB and sent in two shares by a registered operator, is verified by the
 * server's worker thread; `proof show` prints it (exit 0, JSON or a summary) and `--out`
 * writes its bytes; an unknown commitment exits 1 with the server's 404, a malformed one 2, no
 * server 3; and the server, with its verifier thread, stops cleanly on SIGTERM.
 */
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import { groth16Case, sharedProof } from "../proofs/support/proofCase.ts"
import { envelope, testKey } from "../support/fixtures.ts"
import { cleanup, cli, closedPort, startServer, tempDir } from "./support/cli.ts"

afterAll(cleanup)

const operator = testKey("cli-proof-operator")

describe("causeway proof", () => {
  it("shows a proof the server verified, writes its bytes; its refusals exit 1", async () => {
    const dataDir = tempDir()
    const server = await startServer(dataDir)
    try {
      const token = readFileSync(join(dataDir, "api-token"), "utf8").trim()
      const registered = await fetch(`${server.url}/v1/operators`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
        body: JSON.stringify({ operator: operator.publicKey })
      })
      expect(registered.status, await registered.clone().text()).toBe(201)
      const p = sharedProof(groth16Case("co-snarks/bn254-multiplier2"), 40_000)
      let nonce = 0
      const post = async (type: string, payload: unknown) => {
        nonce += 1
        const r = await fetch(`${server.url}/v1/messages`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(envelope(operator, { type, payload, nonce, lamport: nonce })) })
        const body = (await r.json()) as { readonly id: string }
        expect(r.status, JSON.stringify(body)).toBe(201)
        return body.id
      }
      await post("VerificationKeyRegistered", p.key)
      const ann = await post("ProofAnnouncement", p.announcement)
      for (const s of [...p.shares].reverse()) await post("ProofShare", { announcementId: ann, ...s })
      const commitment = p.announcement.commitment
      let status = ""
      for (let i = 0; i < 200 && status !== "verified"; i++) {
        await new Promise((r) => setTimeout(r, 50))
        const answer = (await (await fetch(`${server.url}/v1/proofs/${commitment}`)).json()) as { readonly announcements?: ReadonlyArray<{ readonly status: string }> }
        status = answer.announcements?.[0]?.status ?? ""
      }
      expect(status).toBe("verified")

      const out = join(dataDir, "proof.json")
      const [json, human, unknown] = await Promise.all([
        cli(["proof", "show", commitment, "--url", server.url, "--json", "--out", out]),
        cli(["proof", "show", commitment], { env: { CAUSEWAY_URL: server.url } }),
        cli(["proof", "show", "0".repeat(64), "--url", server.url])
      ])
      expect(json.code, json.stderr).toBe(0)
      expect(JSON.parse(json.stdout)).toMatchObject({ commitment, announcements: [{ announcementId: ann, status: "verified", shares: 2, received: 2 }] })
      expect(readFileSync(out).equals(Buffer.from(p.proof))).toBe(true)
      expect(human.code, human.stderr).toBe(0)
      expect(human.stdout).toContain(`proof ${commitment} (40000 bytes, verified)`)
      expect(human.stdout).toContain(`${ann}: verified`)
      expect(unknown.code).toBe(1)
      expect(unknown.stderr).toMatch(/404 ProofNotFound: nothing was announced/)
    } finally {
      const stopped = await server.stop("SIGTERM")
      expect(stopped.code).toBe(0)
    }
  }, 60_000)

  it("exits 3 when no server answers, 2 on a malformed commitment", async () => {
    const port = await closedPort()
    const [down, bad] = await Promise.all([
      cli(["proof", "show", "0".repeat(64), "--url", `http://127.0.0.1:${port}`]),
      cli(["proof", "show", "ABC", "--url", `http://127.0.0.1:${port}`])
    ])
    expect(down.code).toBe(3)
    expect(down.stderr).toMatch(/cannot reach the server/)
    expect(bad.code).toBe(2)
    expect(bad.stderr).toMatch(/is not a commitment/)
  })
})
