/**
 * `causeway order …`: a user's whole order lifecycle against a server's mempool
 * (docs/mempool.md), signed with a key file like `submit`:
 *
 *   place   --key FILE ORDER [--expiry MS] [--bundle ID,ID]   a plain order (UserOrder)
 *   commit  --key FILE ORDER [--salt-dir DIR] [--reveal]      commit-reveal, step 1 (OrderCommitment)
 *   reveal  --key FILE --commitment ID [--salt-dir DIR]       step 2, after the seal (OrderReveal)
 *   lock    --key FILE ORDER (--round N | --in SECONDS)       time-locked to a beacon round (TimelockedOrder, tlock)
 *   cancel  --key FILE --order ID                             UserOrderCancellation
 *   status  ID | receipt ID [--verify] | watch ID             what became of it
 *
 * ORDER = --chain CAIP2 --market BASE/QUOTE --side buy|sell --amount-in N --min-amount-out N
 * --limit-price N, amounts in integer base units, checked before anything is signed. Every
 * command takes --url (env CAUSEWAY_URL); the sending ones take --wait (the mempool's verdict:
 * exit 1 if it refused the message) and --wait-timeout.
 *
 * Output: JSON lines on stdout, the receipt `{id, offset, lamport}` first. Exit codes as
 * `submit`: 0 done; 1 refused (by the server or, with --wait, the mempool; the reason on
 * stderr), not found, not sealed yet, no verdict in time; 2 bad flags, key or salt file;
 * 3 the server cannot be reached.
 */
import { randomBytes } from "node:crypto"
import { Clock, Config, Console, Effect, Option, Result, Schema, Stream } from "effect"
import { Argument, Command, Flag } from "effect/cli"
import { BeaconInfo, InstanceView } from "../adapters/http/InstanceApi.ts"
import { type Envelope, idOf } from "../domain/Envelope.ts"
import type { KeyFile } from "../domain/Keys.ts"
import { type Bytes32, UserOrder } from "../domain/mempool/MempoolMessages.ts"
import { commitmentOf, orderBytes } from "../domain/mempool/OrderBytes.ts"
import { MessageId } from "../domain/Primitives.ts"
import { ChainInfo, chainInfoFromJson, checkChainHash, roundAt, timeOfRound } from "../domain/timelock/ChainInfo.ts"
import { encryptToRound } from "../domain/timelock/Tlock.ts"
import { checkReceipt } from "../verify.ts"
import { CommandFailed, ServerUnreachable, UsageError, describe } from "./CliErrors.ts"
import { expiryFlag, urlEnv, urlFlag, waitTimeoutFlag } from "./Flags.ts"
import { DEFAULT_SALT_DIR, type SaltFile, readSaltFile, removeSaltFile, writeSaltFile } from "./SaltFile.ts"
import * as ServerClient from "./ServerClient.ts"
import { lamportAfter, microsNow, parseIds, printReceipt, readKeyFile, signMessage } from "./SubmitCommand.ts"
import * as Verdict from "./Verdict.ts"

// ---------------------------------------------------------------------------------------
// Flags
// ---------------------------------------------------------------------------------------

/** The flags that make an order (a UserOrder payload). */
const orderFlags = {
  chain: Flag.String("chain").pipe(Flag.withDescription("The chain the order executes on, as a CAIP-2 chain id: eip155:1, cosmos:cosmoshub-4")),
  market: Flag.String("market").pipe(Flag.withDescription("The pair as BASE/QUOTE, e.g. WETH/USDC")),
  side: Flag.Literals("side", ["buy", "sell"]).pipe(Flag.withDescription("buy: spend QUOTE for BASE; sell: spend BASE for QUOTE")),
  amountIn: Flag.String("amount-in").pipe(
    Flag.withDescription("What the order spends, in the spent asset's integer base units (wei, uatom, …), above 0")
  ),
  minAmountOut: Flag.String("min-amount-out").pipe(
    Flag.withDescription("The least it accepts for all of --amount-in, in the received asset's integer base units (0: no minimum)")
  ),
  limitPrice: Flag.String("limit-price").pipe(
    Flag.withDescription("The worst price, as base units received per 10^18 base units spent (18-decimal fixed point), above 0")
  )
}

const keyFlag = Flag.String("key").pipe(Flag.withDescription("Key file (from `causeway keygen`) to sign with"))

const waitFlag = (what: string) => Flag.Boolean("wait").pipe(Flag.withDescription(what), Flag.withDefault(false))

const orderExpiryFlag = expiryFlag("The order's expiry as Unix time in milliseconds (the envelope's; default: none)")

const saltDirFlag = Flag.String("salt-dir").pipe(
  Flag.withDescription(`Directory of the commitments' salt files, <commitment id>.json (default ${DEFAULT_SALT_DIR} under the current directory)`),
  Flag.withDefault(DEFAULT_SALT_DIR)
)

const idArgument = Argument.String("id").pipe(Argument.withDescription("The message id (64 lowercase hex digits) of an order, commitment, time-locked order, reveal or cancellation"))

// ---------------------------------------------------------------------------------------
// Checking the input, before anything is signed
// ---------------------------------------------------------------------------------------

const isMessageId = Schema.is(MessageId)

/** A message id given on the command line, or a usage error naming `name`. */
const messageId = (text: string, name: string): Effect.Effect<MessageId, UsageError> =>
  isMessageId(text) ? Effect.succeed(text) : Effect.fail(new UsageError({ message: `${name} must be a message id (64 lowercase hex digits), got ${JSON.stringify(text)}` }))

/** CAIP-2: namespace:reference. */
const caip2 = /^[-a-z0-9]{3,8}:[-_a-zA-Z0-9]{1,32}$/
const market = /^[\x21-\x2e\x30-\x7e]+\/[\x21-\x2e\x30-\x7e]+$/
const positive = /^[1-9][0-9]{0,77}$/
const nonNegative = /^(?:0|[1-9][0-9]{0,77})$/
const AMOUNT_FORM = "decimal digits with no sign, leading zero or decimal point, at most 78"

const decodeOrder = Schema.decodeUnknownResult(UserOrder)

/** What the order flags parse to. */
interface OrderFlags {
  readonly chain: string
  readonly market: string
  readonly side: "buy" | "sell"
  readonly amountIn: string
  readonly minAmountOut: string
  readonly limitPrice: string
}

/** The order the flags describe, every field checked (a usage error names the first bad flag). */
const parseOrder = (flags: OrderFlags, bundle: ReadonlyArray<MessageId> = []): Effect.Effect<UserOrder, UsageError> =>
  Effect.gen(function*() {
    const bad = (message: string) => new UsageError({ message })
    if (!caip2.test(flags.chain)) return yield* bad(`--chain must be a CAIP-2 chain id such as eip155:1 or cosmos:cosmoshub-4, got ${JSON.stringify(flags.chain)}`)
    if (!market.test(flags.market) || flags.market.length > 64) return yield* bad(`--market must be BASE/QUOTE (printable, no spaces, at most 64 characters), got ${JSON.stringify(flags.market)}`)
    if (!positive.test(flags.amountIn)) return yield* bad(`--amount-in must be a positive integer in base units (${AMOUNT_FORM}), got ${JSON.stringify(flags.amountIn)}`)
    if (!nonNegative.test(flags.minAmountOut)) return yield* bad(`--min-amount-out must be a non-negative integer in base units (${AMOUNT_FORM}), got ${JSON.stringify(flags.minAmountOut)}`)
    if (!positive.test(flags.limitPrice)) return yield* bad(`--limit-price must be a positive integer (base units received per 10^18 base units spent; ${AMOUNT_FORM}), got ${JSON.stringify(flags.limitPrice)}`)
    if (bundle.length > 16) return yield* bad(`--bundle names at most 16 orders, got ${bundle.length}`)
    const order = decodeOrder({
      chain: flags.chain,
      market: flags.market,
      side: flags.side,
      amountIn: flags.amountIn,
      minAmountOut: flags.minAmountOut,
      limitPrice: flags.limitPrice,
      ...(bundle.length === 0 ? {} : { bundle })
    })
    // The checks above are the schema's; this is what the server will decode.
    if (Result.isFailure(order)) return yield* bad(`the order is not valid: ${order.failure.message.replace(/\s*\n\s*/g, " ")}`)
    return order.success
  })

// ---------------------------------------------------------------------------------------
// Sending
// ---------------------------------------------------------------------------------------

/** Sign a message of `type` with no other choice than its deps and expiry (Lamport time after the deps, nonce = now in µs). */
const prepare = Effect.fn("causeway.order.prepare")(function*(
  base: string,
  key: KeyFile,
  type: string,
  payload: unknown,
  options: { readonly deps?: ReadonlyArray<MessageId>; readonly expiry?: Option.Option<number>; readonly missing?: (id: MessageId) => string } = {}
) {
  const deps = [...(options.deps ?? [])].sort()
  const lamport = yield* lamportAfter(base, deps, options.missing ?? ((id) => `dependency ${id} is not in the log at ${base}`))
  return yield* signMessage(key, {
    type,
    payload,
    deps,
    lamport,
    nonce: microsNow(),
    expiry: Option.getOrNull(options.expiry ?? Option.none())
  })
})

/** Submit a signed message and print its receipt. */
const deliver = (base: string, envelope: Envelope) =>
  Effect.tap(ServerClient.submit(base, envelope), printReceipt)

/** Print a value as one JSON line. */
const printJson = (value: unknown) => Console.log(JSON.stringify(value))

/** The view of `id`, or CommandFailed when the mempool does not know it. */
const viewOf = (base: string, id: string) =>
  Effect.flatMap(ServerClient.mempoolView(base, id), Option.match({
    onNone: () => Effect.fail(new CommandFailed({ message: ServerClient.notInMempool(id) })),
    onSome: Effect.succeed
  }))

/**
 * Reveal a commitment with its salt file: only once its batch is sealed (the server refuses
 * a reveal before, and nothing is sent then), naming the seal among the deps. The salt file is
 * deleted once the reveal is logged (without `wait`: the server checked it by the mempool's
 * own rule before logging it, and from then on the order and salt are public in the log) or,
 * with `wait`, once the mempool accepted it; it is kept if either refuses.
 */
const revealWith = Effect.fn("causeway.order.revealWith")(function*(
  base: string,
  key: KeyFile,
  saltDir: string,
  salt: SaltFile,
  wait: Option.Option<number>
) {
  const id = salt.commitmentId
  const view = yield* viewOf(base, id)
  if (view.kind === "message") {
    return yield* new CommandFailed({ message: `${id} holds no position in the mempool (${view.type}, ${view.accepted ? "accepted" : `refused: ${view.reason ?? "no reason given"}`})` })
  }
  if (view.mode !== "commit") return yield* new CommandFailed({ message: `${id} is a ${view.mode} order, not a commitment` })
  if (view.sealId === null) {
    return yield* new CommandFailed({
      message: `commitment ${id} is not sealed yet, reveal after batch ${view.batch}'s seal (nothing was sent: the server refuses a reveal before it)`
    })
  }
  const sealId = view.sealId as MessageId
  const envelope = yield* prepare(base, key, "OrderReveal", { commitmentId: id, order: salt.order, salt: salt.salt }, { deps: [sealId] })
  const receipt = yield* deliver(base, envelope)
  if (Option.isNone(wait)) return yield* removeSaltFile(saltDir, id)
  yield* Verdict.report(base, receipt, wait.value)
  yield* removeSaltFile(saltDir, id)
  yield* printJson(yield* viewOf(base, id))
})

// ---------------------------------------------------------------------------------------
// The commands
// ---------------------------------------------------------------------------------------

const WAIT_ORDER = "Then wait for the mempool's verdict: print the order's view (once it holds a position) as the next JSON line; exit 1 if the mempool refused it"

const placeCommand = Command.make(
  "place",
  {
    key: keyFlag,
    order: orderFlags,
    expiry: orderExpiryFlag,
    bundle: Flag.String("bundle").pipe(Flag.withDescription("Comma-separated ids of orders (at most 16) that must execute together with this one"), Flag.optional),
    url: urlFlag,
    wait: waitFlag(WAIT_ORDER),
    waitTimeout: waitTimeoutFlag
  },
  Effect.fn("causeway.order.place")(function*(flags) {
    const key = yield* readKeyFile(flags.key)
    const bundle = Option.isSome(flags.bundle) ? yield* parseIds(flags.bundle.value, "--bundle") : []
    const order = yield* parseOrder(flags.order, bundle)
    const base = yield* ServerClient.serverBase(flags.url)
    const receipt = yield* deliver(base, yield* prepare(base, key, "UserOrder", order, { expiry: flags.expiry }))
    if (flags.wait) yield* Verdict.report(base, receipt, flags.waitTimeout)
  })
).pipe(Command.withShortDescription("Place a plain order."), Command.withDescription("Place a plain order (UserOrder): visible in the log at once, its content served by the mempool once its batch is sealed. Prints the receipt as JSON."))

const commitCommand = Command.make(
  "commit",
  {
    key: keyFlag,
    order: orderFlags,
    expiry: orderExpiryFlag,
    saltDir: saltDirFlag,
    reveal: Flag.Boolean("reveal").pipe(
      Flag.withDescription("Then wait for the commitment's batch to be sealed and reveal it (as `order reveal --wait` does); implies --wait"),
      Flag.withDefault(false)
    ),
    url: urlFlag,
    wait: waitFlag("Then wait for the mempool's verdict on the commitment: print its view as the next JSON line; exit 1 if it refused it"),
    waitTimeout: waitTimeoutFlag
  },
  Effect.fn("causeway.order.commit")(function*(flags) {
    const key = yield* readKeyFile(flags.key)
    const order = yield* parseOrder(flags.order)
    const base = yield* ServerClient.serverBase(flags.url)
    const salt = randomBytes(32).toString("hex") as Bytes32
    const envelope = yield* prepare(base, key, "OrderCommitment", { commitment: commitmentOf(order, salt) }, { expiry: flags.expiry })
    const saltFile: SaltFile = { commitmentId: idOf(envelope), sender: key.publicKey, order, salt, url: base }
    // The salt is on disk before the commitment can be in the log: without it, it cannot be revealed.
    yield* writeSaltFile(flags.saltDir, saltFile)
    const receipt = yield* deliver(base, envelope)
    if (!flags.wait && !flags.reveal) return
    yield* Verdict.report(base, receipt, flags.waitTimeout)
    if (!flags.reveal) return
    const sealed = yield* Verdict.within(
      Verdict.awaitView(base, receipt.id, (v) => v.kind === "message" || v.sealId !== null || Verdict.isFinal(v)),
      flags.waitTimeout,
      `commitment ${receipt.id}'s batch was not sealed`
    )
    if (sealed.kind === "order" && sealed.sealId === null) {
      return yield* new CommandFailed({ message: `commitment ${receipt.id} is ${sealed.status}: nothing to reveal` })
    }
    yield* revealWith(base, key, flags.saltDir, saltFile, Option.some(flags.waitTimeout))
  })
).pipe(Command.withShortDescription("Commit to an order without disclosing it; keep its salt for the reveal."), Command.withDescription(
  "Commit to an order without disclosing it (OrderCommitment: SHA-256 of the order's canonical bytes and a random 32-byte salt). The salt is written first to <salt-dir>/<commitment id>.json (mode 0600; `order reveal` needs it). Prints the receipt as JSON."
))

const revealCommand = Command.make(
  "reveal",
  {
    key: keyFlag,
    commitment: Flag.String("commitment").pipe(Flag.withDescription("The commitment's id (the receipt's id from `order commit`)")),
    saltDir: saltDirFlag,
    url: Flag.String("url").pipe(
      Flag.withDescription(`Server address (env ${urlEnv}; default: the one the salt file records)`),
      Flag.withFallbackConfig(Config.String(urlEnv)),
      Flag.optional
    ),
    wait: waitFlag("Then wait for the mempool's verdict on the reveal and print it, then the commitment's view (revealed, with the order); exit 1 if it refused the reveal (the salt file is kept)"),
    waitTimeout: waitTimeoutFlag
  },
  Effect.fn("causeway.order.reveal")(function*(flags) {
    const key = yield* readKeyFile(flags.key)
    const id = yield* messageId(flags.commitment, "--commitment")
    const salt = yield* readSaltFile(flags.saltDir, id)
    const base = yield* ServerClient.serverBase(Option.getOrElse(flags.url, () => salt.url))
    yield* revealWith(base, key, flags.saltDir, salt, flags.wait ? Option.some(flags.waitTimeout) : Option.none())
  })
).pipe(Command.withShortDescription("Reveal a commitment after its batch's seal."), Command.withDescription(
  "Reveal a commitment once its batch is sealed (OrderReveal naming the seal among its deps), from its salt file, which is deleted once the reveal is logged (with --wait: once the mempool accepted it). Before the seal nothing is sent: exit 1. Prints the receipt as JSON."
))

/** The first round emitted at or after `unixMs`. */
const firstRoundFrom = (info: ChainInfo, unixMs: number): number => {
  const r = roundAt(info, unixMs)
  return Math.max(1, timeOfRound(info, r) >= unixMs ? r : r + 1)
}

/** The server's beacon as a checked ChainInfo: its hash is the one /v1/instance states and the recomputation of its fields. */
const serverBeacon = Effect.fn("causeway.order.serverBeacon")(function*(base: string) {
  const [instance, info] = yield* Effect.all([
    ServerClient.getJson(base, "/v1/instance", InstanceView, "reading the instance (GET /v1/instance)"),
    ServerClient.getJson(base, "/v1/beacon/info", BeaconInfo, "reading the beacon (GET /v1/beacon/info)")
  ], { concurrency: 2 })
  const stated = instance.mempool.beacon?.chainHash ?? null
  if (stated !== info.hash) {
    return yield* new CommandFailed({ message: `the beacon's chain hash ${info.hash} is not the one /v1/instance states (${stated ?? "no beacon"})` })
  }
  const chain = yield* Schema.decodeUnknownEffect(ChainInfo)(chainInfoFromJson(info)).pipe(Effect.mapError((e) => new CommandFailed({ message: `the beacon's chain information is not usable: ${e.message.replace(/\s*\n\s*/g, " ")}` })))
  const checked = checkChainHash(chain)
  if (Result.isFailure(checked)) {
    return yield* new CommandFailed({ message: `the beacon's ${checked.failure.reason} (stated ${checked.failure.stated}, computed ${checked.failure.computed})` })
  }
  return { chain, batchWindowMs: instance.mempool.batchWindowMs ?? 0 }
})

const lockCommand = Command.make(
  "lock",
  {
    key: keyFlag,
    order: orderFlags,
    round: Flag.Int("round").pipe(
      Flag.withDescription("Lock to this beacon round (not out yet)"),
      Flag.filter((n) => n >= 1 && Number.isSafeInteger(n), (n) => `--round must be a positive integer, got ${n}`),
      Flag.optional
    ),
    in: Flag.Int("in").pipe(
      Flag.withDescription("Lock to the first round out at least this many seconds from now (default: the server's batch window plus two rounds, so the order's batch is sealed before it opens)"),
      Flag.filter((n) => n >= 1 && n <= 31_536_000, (n) => `--in must be 1..31536000 seconds, got ${n}`),
      Flag.optional
    ),
    expiry: orderExpiryFlag,
    url: urlFlag,
    wait: waitFlag(WAIT_ORDER),
    waitTimeout: waitTimeoutFlag
  },
  Effect.fn("causeway.order.lock")(function*(flags) {
    const key = yield* readKeyFile(flags.key)
    const order = yield* parseOrder(flags.order)
    if (Option.isSome(flags.round) && Option.isSome(flags.in)) return yield* new UsageError({ message: "--round and --in are alternatives: give one" })
    const base = yield* ServerClient.serverBase(flags.url)
    const { chain, batchWindowMs } = yield* serverBeacon(base)
    const now = yield* Clock.currentTimeMillis
    const latest = roundAt(chain, now)
    const round = Option.isSome(flags.round)
      ? flags.round.value
      : firstRoundFrom(chain, now + Option.match(flags.in, { onNone: () => batchWindowMs + 2 * chain.period * 1000, onSome: (s) => s * 1000 }))
    if (round <= latest) {
      return yield* new UsageError({ message: `round ${round} is already out (the beacon is at round ${latest}): anyone could open the order at once; pick a later round` })
    }
    const ciphertext = yield* Effect.try({
      try: () => encryptToRound(chain, round, orderBytes(order)),
      catch: (cause) => new CommandFailed({ message: `cannot lock to the server's beacon: ${describe(cause)}` })
    })
    const receipt = yield* deliver(base, yield* prepare(base, key, "TimelockedOrder", { scheme: "tlock", round, ciphertext }, { expiry: flags.expiry }))
    const opensAt = timeOfRound(chain, round)
    yield* printJson({ round, opensAt, opensAtIso: new Date(opensAt).toISOString() })
    if (flags.wait) yield* Verdict.report(base, receipt, flags.waitTimeout)
  })
).pipe(Command.withShortDescription("Time-lock an order to a round of the server's beacon (tlock)."), Command.withDescription(
  "Time-lock an order to a round of the server's beacon (tlock, the chain checked against /v1/instance's hash and its own fields): TimelockedOrder, opened by the server once its batch is sealed and the round is out. Prints the receipt, then {round, opensAt (Unix ms), opensAtIso}, as JSON lines."
))

const cancelCommand = Command.make(
  "cancel",
  {
    key: keyFlag,
    order: Flag.String("order").pipe(Flag.withDescription("The id of the order, commitment or time-locked order to cancel (the key's own)")),
    url: urlFlag,
    wait: waitFlag("Then wait for the mempool's verdict on the cancellation and print it; exit 1 if it refused it"),
    waitTimeout: waitTimeoutFlag
  },
  Effect.fn("causeway.order.cancel")(function*(flags) {
    const key = yield* readKeyFile(flags.key)
    const orderId = yield* messageId(flags.order, "--order")
    const base = yield* ServerClient.serverBase(flags.url)
    const envelope = yield* prepare(base, key, "UserOrderCancellation", { orderId }, {
      deps: [orderId],
      missing: (id) => `order ${id} is not in the log at ${base}`
    })
    const receipt = yield* deliver(base, envelope)
    if (flags.wait) yield* Verdict.report(base, receipt, flags.waitTimeout)
  })
).pipe(Command.withShortDescription("Cancel one of the key's own orders."), Command.withDescription("Cancel an order of the key's own while committed or revealed (UserOrderCancellation, naming the order among its deps). Prints the receipt as JSON."))

const statusCommand = Command.make(
  "status",
  { id: idArgument, url: urlFlag },
  Effect.fn("causeway.order.status")(function*(flags) {
    const id = yield* messageId(flags.id, "ID")
    const base = yield* ServerClient.serverBase(flags.url)
    yield* printJson(yield* viewOf(base, id))
  })
).pipe(Command.withShortDescription("Print an order's or message's mempool status."), Command.withDescription(
  "Print a mempool message's view as JSON (GET /v1/mempool/orders/{id}): an order's {kind: \"order\", status, batch, position, sealId, order (once sealed and disclosed), history, …} or a message's {kind: \"message\", accepted, reason, target}; exit 1 if the mempool does not know it."
))

const hexKey = /^[0-9a-fA-F]{64}(?:[0-9a-fA-F]{2})?$/

const receiptCommand = Command.make(
  "receipt",
  {
    id: idArgument,
    verify: Flag.Boolean("verify").pipe(
      Flag.withDescription("Check the receipt's signature offline (causeway/verify's checkReceipt) against trusted keys; prints {\"verified\":true,…} or exits 1 with the reason"),
      Flag.withDefault(false)
    ),
    instanceKey: Flag.String("instance-key").pipe(
      Flag.withDescription("With --verify: the one instance key (hex) to trust (default: the cluster members GET /v1/instance lists)"),
      Flag.optional
    ),
    url: urlFlag
  },
  Effect.fn("causeway.order.receipt")(function*(flags) {
    const id = yield* messageId(flags.id, "ID")
    if (Option.isSome(flags.instanceKey) && !hexKey.test(flags.instanceKey.value)) {
      return yield* new UsageError({ message: `--instance-key must be a public key in hex (64 or 66 hex digits), got ${JSON.stringify(flags.instanceKey.value)}` })
    }
    if (Option.isSome(flags.instanceKey) && !flags.verify) return yield* new UsageError({ message: "--instance-key needs --verify" })
    const base = yield* ServerClient.serverBase(flags.url)
    const receipt = yield* ServerClient.getJson(base, `/v1/mempool/orders/${id}/receipt`, Schema.Unknown, `reading ${id}'s receipt`)
    yield* printJson(receipt)
    if (!flags.verify) return
    const trusted = Option.isSome(flags.instanceKey)
      ? [flags.instanceKey.value.toLowerCase()]
      : (yield* ServerClient.getJson(base, "/v1/instance", InstanceView, "reading the instance (GET /v1/instance)")).cluster.members
    const checked = checkReceipt(receipt, trusted)
    if (Result.isFailure(checked)) return yield* new CommandFailed({ message: `the receipt does not verify: ${checked.failure.reason}` })
    yield* printJson({ verified: true, orderId: checked.success.orderId, instance: checked.success.instance, trusted })
  })
).pipe(Command.withShortDescription("Print (and --verify) an order's signed ordering receipt."), Command.withDescription(
  "Print an order's instance-signed ordering receipt as JSON (GET /v1/mempool/orders/{id}/receipt: batch, position, Lamport time, log offset); with --verify, check it offline and print {\"verified\":true,…}."
))

const watchCommand = Command.make(
  "watch",
  { id: idArgument, url: urlFlag },
  Effect.fn("causeway.order.watch")(function*(flags) {
    const id = yield* messageId(flags.id, "ID")
    const base = yield* ServerClient.serverBase(flags.url)
    const last = yield* ServerClient.orderEvents(base, id).pipe(
      Stream.tap(printJson),
      Stream.takeUntil(Verdict.isFinal),
      Stream.runLast
    )
    if (Option.isNone(last) || !Verdict.isFinal(last.value)) {
      return yield* new ServerUnreachable({ message: `${base} ended ${id}'s status stream before a final status` })
    }
    const refusal = Verdict.refusalOf(last.value)
    if (refusal !== null) return yield* new CommandFailed({ message: `the mempool refused ${id}: ${refusal}` })
  })
).pipe(Command.withShortDescription("Follow an order's status until it is final."), Command.withDescription(
  "Follow a mempool message's status (GET /v1/mempool/orders/{id}/events), printing each view as a JSON line, until a final status: filled, expired or cancelled (exit 0) or refused (exit 1); a reveal's or cancellation's outcome ends it at once. Ctrl-C stops it (exit 130)."
))

/** The order command (its subcommands). */
export const orderCommand = Command.make("order").pipe(
  Command.withDescription(
    "A user's orders in a server's mempool: place, commit, reveal, time-lock (lock) and cancel them, signed with a key file; read their status, receipts and status changes (watch)."
  ),
  Command.withSubcommands([placeCommand, commitCommand, revealCommand, lockCommand, cancelCommand, statusCommand, receiptCommand, watchCommand])
)
