/**
 * `causeway submit`: build an envelope, sign it with a key file and POST it to a server;
 * the receipt goes to stdout as JSON. With --wait, then wait for the server to fold it: the
 * mempool's verdict on a message the mempool folds (printed as a second JSON line; exit 1
 * when the mempool refused it), else until every projection has folded it.
 *
 * Defaults: deps are sorted ascending and deduplicated (the protocol requires it); the
 * Lamport time is 1 + the highest Lamport time of the deps (read from the server), or 1
 * without deps; the nonce is the current Unix time in microseconds, so successive submits
 * from one key carry increasing nonces without any local state (two submits from one key
 * within the same microsecond would collide: pass --nonce to control it exactly).
 *
 * Exit codes: 0 accepted; 1 rejected (the server's reason on stderr), a dependency is not
 * in the log, or with --wait refused by the mempool or no verdict in time; 2 bad flags, an
 * unreadable or invalid key file, a payload that is not JSON; 3 the server cannot be reached.
 */
import { Console, Effect, FileSystem, Option, Schema } from "effect"
import { Command, Flag } from "effect/cli"
import { type Envelope, PROTOCOL_VERSION, fromHex, toHex } from "../domain/Envelope.ts"
import { KeyFile, publicKeyOf, signEnvelope } from "../domain/Keys.ts"
import { MessageId } from "../domain/Primitives.ts"
import { CommandFailed, ServerUnreachable, UsageError, describe } from "./CliErrors.ts"
import { expiryFlag, urlFlag, waitTimeoutFlag } from "./Flags.ts"
import * as ServerClient from "./ServerClient.ts"
import * as Verdict from "./Verdict.ts"

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

/** "id,id,..." as distinct message ids, in the order given (`flag` names them in errors). */
export const parseIds = (text: string, flag: string): Effect.Effect<ReadonlyArray<MessageId>, UsageError> =>
  Effect.suspend(() => {
    const ids = text.split(",").map((s) => s.trim()).filter((s) => s !== "")
    const bad = ids.find((id) => !isMessageId(id))
    if (bad !== undefined) return Effect.fail(new UsageError({ message: `${flag}: ${JSON.stringify(bad)} is not a message id (64 lowercase hex digits)` }))
    return Effect.succeed([...new Set(ids)] as Array<MessageId>)
  })

/** "id,id,..." as sorted, distinct message ids. */
export const parseDeps = (text: string): Effect.Effect<ReadonlyArray<MessageId>, UsageError> =>
  Effect.map(parseIds(text, "--deps"), (ids) => [...ids].sort())

const parsePayload = (text: string): Effect.Effect<unknown, UsageError> =>
  Effect.try({
    try: () => JSON.parse(text) as unknown,
    catch: (cause) => new UsageError({ message: `--payload is not valid JSON: ${describe(cause)}` })
  })

/** Now as Unix microseconds: the default nonce. */
export const microsNow = (): number => Math.floor((performance.timeOrigin + performance.now()) * 1000)

const nonNegative = (n: number): boolean => n >= 0 && Number.isSafeInteger(n)

/**
 * 1 + the highest Lamport time of `deps` as the server's log holds them, or 1 without deps;
 * CommandFailed with `missing(id)` for a dependency the log does not hold.
 */
export const lamportAfter = (
  base: string,
  deps: ReadonlyArray<MessageId>,
  missing: (id: MessageId) => string
): Effect.Effect<number, CommandFailed | ServerUnreachable> =>
  Effect.map(
    Effect.forEach(deps, (id) =>
      ServerClient.getRecord(base, id).pipe(
        Effect.flatMap(Option.match({
          onNone: () => Effect.fail(new CommandFailed({ message: missing(id) })),
          onSome: (r) => Effect.succeed(r.lamport)
        }))
      ), { concurrency: 8 }),
    (lamports) => 1 + lamports.reduce((a, b) => Math.max(a, b), 0)
  )

/** What a sender chooses of an envelope (the protocol version and flags are this build's). */
export interface MessageFields {
  readonly type: string
  readonly payload: unknown
  readonly deps: ReadonlyArray<MessageId>
  readonly lamport: number
  readonly nonce: number
  readonly expiry: number | null
}

/** Sign an envelope with a key; a payload JCS cannot encode is a usage error. */
export const signMessage = (key: KeyFile, fields: MessageFields): Effect.Effect<Envelope, UsageError> =>
  Effect.try({
    try: () => signEnvelope(key, { v: PROTOCOL_VERSION, flags: 0, ...fields }),
    catch: (cause) => new UsageError({ message: `the envelope cannot be encoded: ${describe(cause)}` })
  })

/** The receipt line every sending command prints first. */
export const printReceipt = (receipt: { readonly id: string; readonly offset: number; readonly lamport: number }) =>
  Console.log(JSON.stringify({ id: receipt.id, offset: receipt.offset, lamport: receipt.lamport }))

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
    url: urlFlag,
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
    expiry: expiryFlag("Expiry as Unix time in milliseconds (default: none)"),
    wait: Flag.Boolean("wait").pipe(
      Flag.withDescription(
        "Then wait until the server has folded the message: for a type the mempool folds (orders, commitments, reveals, cancellations, decisions), its verdict, printed as a second JSON line (exit 1 if the mempool refused it); for any other type, until every projection has folded it (GET /v1/projections)"
      ),
      Flag.withDefault(false)
    ),
    waitTimeout: waitTimeoutFlag
  },
  Effect.fn("causeway.submit")(function*(flags) {
    const key = yield* readKeyFile(flags.key)
    const payload = yield* parsePayload(flags.payload)
    const deps = Option.isSome(flags.deps) ? yield* parseDeps(flags.deps.value) : []
    const base = yield* ServerClient.serverBase(flags.url)
    const lamport = Option.isSome(flags.lamport)
      ? flags.lamport.value
      : yield* lamportAfter(base, deps, (id) => `dependency ${id} is not in the log at ${base} (pass --lamport to submit anyway)`)
    const envelope = yield* signMessage(key, {
      type: flags.type,
      payload,
      deps,
      lamport,
      nonce: Option.getOrElse(flags.nonce, microsNow),
      expiry: Option.getOrNull(flags.expiry)
    })
    const receipt = yield* ServerClient.submit(base, envelope)
    yield* printReceipt(receipt)
    if (flags.wait) yield* Verdict.report(base, receipt, flags.waitTimeout)
  })
).pipe(Command.withDescription("Sign a message with a key file and submit it to a server; prints the receipt as JSON (with --wait, then the mempool's verdict)."))
