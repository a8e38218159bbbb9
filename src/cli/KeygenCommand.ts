/**
 * `causeway keygen --out FILE [--scheme ed25519|secp256k1]`: a fresh key pair written as a
 * KeyFile (JSON, mode 0600, never over an existing file); the public key goes to stdout.
 */
import { Console, Effect, FileSystem } from "effect"
import { Command, Flag } from "effect/cli"
import { generateKey } from "../domain/Keys.ts"
import { CommandFailed } from "./CliErrors.ts"

/** The keygen command. */
export const keygenCommand = Command.make(
  "keygen",
  {
    out: Flag.String("out").pipe(Flag.withDescription("Key file to create (refused if it exists); written with mode 0600")),
    scheme: Flag.Literals("scheme", ["ed25519", "secp256k1"]).pipe(
      Flag.withDescription("Signature scheme (default ed25519)"),
      Flag.withDefault("ed25519" as const)
    )
  },
  Effect.fn("causeway.keygen")(function*({ out, scheme }) {
    const fs = yield* FileSystem.FileSystem
    const key = generateKey(scheme)
    // "wx" creates the file or fails if it exists, atomically: no check-then-write race.
    yield* fs.writeFileString(out, `${JSON.stringify(key, null, 2)}\n`, { flag: "wx", mode: 0o600 }).pipe(
      Effect.mapError((e) =>
        new CommandFailed({
          message: e.reason._tag === "AlreadyExists" ? `${out} already exists; not overwriting it` : `cannot write ${out}: ${e.message}`
        })
      )
    )
    yield* fs.chmod(out, 0o600).pipe(Effect.mapError((e) => new CommandFailed({ message: `cannot restrict ${out} to mode 0600: ${e.message}` })))
    yield* Console.log(key.publicKey)
  })
).pipe(Command.withDescription("Generate a signing key pair and write it as a key file; prints the public key."))
