/**
 * `causeway submit`: build an envelope, sign it with a key file and POST it to a server;
 * the receipt goes to stdout as JSON.
 *
 * Defaults: deps are sorted ascending and deduplicated (the protocol requires it); the
 * Lamport time is 1 + the highest Lamport time of the deps (read from the server), or 1
 * without deps; the nonce is the current Unix time in microseconds, so successive submits
 * from one key carry increasing nonces without any local state (two submits from one key
 * within the same microsecond would collide: pass --nonce to control it exactly).
 *
 * Exit codes: 0 accepted; 1 rejected (the server's reason on stderr) or a dependency is not
 * in the log; 2 bad flags, an unreadable or invalid key file, a payload that is not JSON;
 * 3 the server cannot be reached.
 */
import { Console, Effect, FileSystem, Option, Schema } from "effect"
import { Command, Flag } from "effect/cli"
import { PROTOCOL_VERSION, fromHex, toHex } from "../domain/Envelope.ts"
import { KeyFile, publicKeyOf, signEnvelope } from "../domain/Keys.ts"
import { MessageId } from "../domain/Primitives.ts"
import { CommandFailed, UsageError, describe } from "./CliErrors.ts"
import * as ServerClient from "./ServerClient.ts"

const decodeKeyFile = Schema.decodeUnknownEffect(Schema.fromJsonString(KeyFile))
const isMessageId = Schema.is(MessageId)

const oneLine = (s: string): string => s.replace(/\s*\n\s*/g, " ")

/** Read and check a key file: JSON of the KeyFile schema whose public key is its secret key's. */
export const readKeyFile = (path: string) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const text = yield* fs.readFileString(path).pipe(
      Effect.mapError((e) => new UsageError({ message: `cannot read key file ${path}: ${e.message}` }))
    )
    const key = yield* decodeKeyFile(text).pipe(
      Effect.mapError((e) => new UsageError({ message: `${path} is not a key file: ${oneLine(e.message)}` }))
    )
    const derived = toHex(publicKeyOf(key.scheme, fromHex(key.secretKey)))
    if (derived !== key.publicKey) {
      return yield* new UsageError({ message: `${path}: publicKey does not belong to secretKey` })
    }
    return key
  })

/** "id,id,..." as sorted, distinct message ids. */
export const parseDeps = (text: string): Effect.Effect<ReadonlyArray<MessageId>, UsageError> =>
  Effect.suspend(() => {
    const ids = text.split(",").map((s) => s.trim()).filter((s) => s !== "")
    const bad = ids.find((id) => !isMessageId(id))
    if (bad !== undefined) return Effect.fail(new UsageError({ message: `--deps: ${JSON.stringify(bad)} is not a message id (64 lowercase hex digits)` }))
    return Effect.succeed([...new Set(ids)].sort() as Array<MessageId>)
  })

const parsePayload = (text: string): Effect.Effect<unknown, UsageError> =>
  Effect.try({
    try: () => JSON.parse(text) as unknown,
    catch: (cause) => new UsageError({ message: `--payload is not valid JSON: ${describe(cause)}` })
  })

/** Now as Unix microseconds: the default nonce. */
const microsNow = (): number => Math.floor((performance.timeOrigin + performance.now()) * 1000)

const nonNegative = (n: number): boolean => n >= 0 && Number.isSafeInteger(n)

/** The submit command. */
export const submitCommand = Command.make(
  "submit",
  {
    key: Flag.String("key").pipe(Flag.withDescription("Key file (from `causeway keygen`) to sign with")),
    type: Flag.String("type").pipe(Flag.withDescription("Message type, e.g. NetworkHealth")),
    payload: Flag.String("payload").pipe(Flag.withDescription("The payload as JSON")),
    deps: Flag.String("deps").pipe(
      Flag.withDescription("Comma-separated ids of messages this one depends on (sorted for you)"),
      Flag.optional
    ),
    url: Flag.String("url").pipe(
      Flag.withDescription(`Server address (default ${ServerClient.DEFAULT_URL})`),
      Flag.withDefault(ServerClient.DEFAULT_URL)
    ),
    nonce: Flag.Int("nonce").pipe(
      Flag.withDescription("Sender nonce, above every earlier one of this key (default: Unix time in microseconds)"),
      Flag.filter(nonNegative, (n) => `--nonce must be a non-negative integer, got ${n}`),
      Flag.optional
    ),
    lamport: Flag.Int("lamport").pipe(
      Flag.withDescription("Lamport time (default: 1 + the highest Lamport time of the deps, or 1)"),
      Flag.filter((n) => n >= 1 && Number.isSafeInteger(n), (n) => `--lamport must be a positive integer, got ${n}`),
      Flag.optional
    ),
    expiry: Flag.Int("expiry").pipe(
      Flag.withDescription("Expiry as Unix time in milliseconds (default: none)"),
      Flag.filter(nonNegative, (n) => `--expiry must be a non-negative integer, got ${n}`),
      Flag.optional
    )
  },
  Effect.fn("causeway.submit")(function*(flags) {
    const key = yield* readKeyFile(flags.key)
    const payload = yield* parsePayload(flags.payload)
    const deps = Option.isSome(flags.deps) ? yield* parseDeps(flags.deps.value) : []
    const base = ServerClient.baseUrl(flags.url)
    if (!/^https?:\/\/[^/]/.test(base)) return yield* new UsageError({ message: `--url must be an http(s) URL, got ${JSON.stringify(flags.url)}` })

    const lamport = Option.isSome(flags.lamport)
      ? flags.lamport.value
      : 1 + (yield* Effect.forEach(deps, (id) =>
        ServerClient.getRecord(base, id).pipe(
          Effect.flatMap(Option.match({
            onNone: () => Effect.fail(new CommandFailed({ message: `dependency ${id} is not in the log at ${base} (pass --lamport to submit anyway)` })),
            onSome: (r) => Effect.succeed(r.lamport)
          }))
        ), { concurrency: 8 })).reduce((a, b) => Math.max(a, b), 0)

    const envelope = yield* Effect.try({
      try: () =>
        signEnvelope(key, {
          v: PROTOCOL_VERSION,
          flags: 0,
          type: flags.type,
          nonce: Option.getOrElse(flags.nonce, microsNow),
          lamport,
          deps,
          expiry: Option.getOrNull(flags.expiry),
          payload
        }),
      catch: (cause) => new UsageError({ message: `the envelope cannot be encoded: ${describe(cause)}` })
    })
    const receipt = yield* ServerClient.submit(base, envelope)
    yield* Console.log(JSON.stringify({ id: receipt.id, offset: receipt.offset, lamport: receipt.lamport }))
  })
).pipe(Command.withDescription("Sign a message with a key file and submit it to a server; prints the receipt as JSON."))
