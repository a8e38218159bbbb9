/**
 * `causeway proof show COMMITMENT [--url URL] [--json] [--out FILE]`: ask a running server for a
 * shared proof by its commitment (GET /v1/proofs/{commitment}, docs/proofs.md): each
 * announcement's status, key, public inputs, announcer and verdict; with --out, the proof's
 * bytes once verified, written to FILE.
 *
 * Exit codes, as `asset`: 0 done; 1 the server said no (its status, tag and reason on stderr:
 * a malformed commitment 400, nothing announced 404), or --out asked for a proof not verified
 * yet; 2 bad flags; 3 the server cannot be reached.
 */
import { writeFileSync } from "node:fs"
import { Console, Effect, Option } from "effect"
import { Argument, Command, Flag } from "effect/cli"
import { ProofAnswer } from "../adapters/http/ProofsApi.ts"
import { CommandFailed, UsageError } from "./CliErrors.ts"
import { urlFlag } from "./Flags.ts"
import * as ServerClient from "./ServerClient.ts"

const COMMITMENT = /^[0-9a-f]{64}$/u

/** A proof, for people. */
const describeProof = (p: typeof ProofAnswer.Type): string =>
  [
    `proof ${p.commitment}${p.proof === null ? "" : ` (${Buffer.from(p.proof, "base64").length} bytes, verified)`}`,
    ...p.announcements.flatMap((a) => [
      `  ${a.announcementId}: ${a.status}${a.verdict?.reason == null ? "" : ` (${a.verdict.reason})`}${a.rejection === null ? "" : ` (${a.rejection})`}`,
      `    computation ${a.computationId}, ${a.proofSystem} key ${a.vkId}`,
      `    public inputs [${a.publicInputs.join(", ")}], ${a.received} of ${a.shares} shares, ${a.bytes} bytes, announced by ${a.announcer}`,
      ...(a.verdict?.reusedFrom == null ? [] : [`    verdict of ${a.verdict.reusedFrom} (same claim, not verified again)`])
    ])
  ].join("\n")

const showCommand = Command.make(
  "show",
  {
    commitment: Argument.String("commitment").pipe(Argument.withDescription("The proof's commitment: the SHA-256 of its bytes, 64 lowercase hex digits")),
    out: Flag.String("out").pipe(Flag.withDescription("Write the proof's bytes to this file (once verified)"), Flag.optional),
    url: urlFlag,
    json: Flag.Boolean("json").pipe(Flag.withDescription("Print the answer as JSON"), Flag.withDefault(false))
  },
  Effect.fn("causeway.proof.show")(function*(flags) {
    if (!COMMITMENT.test(flags.commitment)) return yield* new UsageError({ message: `${JSON.stringify(flags.commitment.slice(0, 100))} is not a commitment (64 lowercase hex digits)` })
    const base = yield* ServerClient.serverBase(flags.url)
    const answer = yield* ServerClient.getJson(base, `/v1/proofs/${flags.commitment}`, ProofAnswer, `reading the proof ${flags.commitment}`)
    yield* Console.log(flags.json ? JSON.stringify(answer) : describeProof(answer))
    if (Option.isSome(flags.out)) {
      if (answer.proof === null) return yield* new CommandFailed({ message: `the proof ${flags.commitment} is not verified yet: nothing written to ${flags.out.value}` })
      const bytes = Buffer.from(answer.proof, "base64")
      const path = flags.out.value
      yield* Effect.try({
        try: () => writeFileSync(path, bytes),
        catch: (e) => new CommandFailed({ message: `writing the proof to ${path} failed: ${e instanceof Error ? e.message : String(e)}` })
      })
    }
  })
).pipe(Command.withDescription("Show a shared proof by its commitment: its announcements, key, public inputs and verdicts (GET /v1/proofs/{commitment})."))

/** The proof command (its subcommands). */
export const proofCommand = Command.make("proof").pipe(
  Command.withDescription("Shared zero-knowledge proofs: show one by its commitment."),
  Command.withSubcommands([showCommand])
)
