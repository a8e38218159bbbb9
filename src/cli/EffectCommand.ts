/**
 * `causeway effect ...`: the effect tracker of a running server (docs/effects.md).
 *
 *   effect show ID [--json]                  an effect, the evidence of its status, its journey and history
 *                                            (ID may be an alias: a bridge message id, a transaction hash)
 *   effect list [--kind K] [--chain C] [--status S] [--tx HASH]   tracked effects (EVM logs, IBC packets), oldest first
 *   effect watch --chain C [--address A] [--topic T]... [--from-height N]
 *                [--correlate ROUTE:deposit|fill|refund:topic=N|word=N [--deadline topic=N|word=N]]
 *                [--transaction-hashes]                   start tracking EVM logs (EffectWatchAdded)
 *   effect unwatch ID                        stop a watch (EffectWatchRemoved)
 *   effect watches                           the active watches
 *
 * Exit codes, as `chain`: 0 done; 1 the server said no (its status, tag and reason on stderr);
 * 2 bad flags; 3 the server cannot be reached.
 */
import { Console, Effect, Option, Schema } from "effect"
import { Argument, Command, Flag } from "effect/cli"
import { EffectLogReceipt, EffectView } from "../adapters/http/EffectsApi.ts"
import { type AnyEffectView, AnyEffectView as AnyEffectViewSchema, EffectStatus, EffectWatch, EffectWatchView, type IbcPacketView, type TrackedEffect } from "../domain/effects/EffectShapes.ts"
import { UsageError } from "./CliErrors.ts"
import { urlFlag } from "./Flags.ts"
import * as ServerClient from "./ServerClient.ts"

const jsonFlag = Flag.Boolean("json").pipe(Flag.withDescription("Print the answer as JSON"), Flag.withDefault(false))

/** An effect of any kind, for people. */
export const describeEffect = (e: AnyEffectView): string => (e.kind === "evm-log" ? describeEvmEffect(e) : describePacket(e))

const endOf = (end: IbcPacketView["source"]): string => ("port" in end ? `${end.chain} ${end.port}/${end.channel}` : `${end.chain} client ${end.clientId}`)

/** An IBC packet, for people. */
const describePacket = (e: IbcPacketView): string => {
  const lines = [
    `${e.id}`,
    `  ${e.status} (${e.finality})${e.stuck === null ? "" : `  [stuck for ${Math.round(e.stuck.forMs / 1000)} s]`}${e.dependencyRetracted ? "  [a packet it depends on was retracted]" : ""}`,
    `  sequence ${e.sequence} from ${endOf(e.source)} to ${e.destination === null ? "-" : endOf(e.destination)}`,
    `  commitment ${e.commitment}${e.acknowledgement === null ? "" : `, acknowledgement ${e.acknowledgement}`}`,
    `  evidence: ${e.evidence.kind} in message ${e.evidence.message} (header ${e.evidence.header.height} ${e.evidence.header.hash}${e.evidence.chain === undefined ? "" : ` of ${e.evidence.chain}`})`
  ]
  for (const l of e.journey) lines.push(`  leg: ${l.leg} on ${l.chain} at ${l.height} (message ${l.message})`)
  if (e.causalDependencies.length > 0) lines.push(`  depends on: ${e.causalDependencies.join(", ")}`)
  if (e.causalDependents.length > 0) lines.push(`  dependents: ${e.causalDependents.join(", ")}`)
  lines.push("  history:")
  for (const m of e.history) lines.push(`    lamport ${m.lamport}: ${m.status} (${m.finality}) by ${m.evidence.kind} ${m.evidence.message}`)
  return lines.join("\n")
}

/** An EVM effect, for people. */
const describeEvmEffect = (e: TrackedEffect): string => {
  const o = e.origin
  const lines = [
    `${e.id}`,
    `  ${e.status} (${e.finality})${e.dependencyRetracted ? "  [an effect it depends on was retracted]" : ""}`,
    `  at ${o.chain} block ${o.height} 0x${o.blockHash}, transaction ${o.transactionIndex}${o.transactionHash === undefined ? "" : ` (${o.transactionHash})`}, log ${o.logIndex}`,
    `  log: ${e.log.address} topics ${e.log.topics.join(" ") || "-"} data ${e.log.data.length > 74 ? `${e.log.data.slice(0, 74)}…` : e.log.data}`,
    `  evidence: ${e.evidence.kind} in message ${e.evidence.message} (header ${e.evidence.header.height} 0x${e.evidence.header.hash}${e.evidence.chain === undefined ? "" : ` of ${e.evidence.chain}`})`
  ]
  if (e.aliases.length > 0) lines.push(`  aliases: ${e.aliases.join(", ")}`)
  if (e.deadline !== undefined) lines.push(`  deadline: Unix second ${e.deadline.time}${e.deadline.passed.map((p) => `; passed on ${p.chain} at ${p.height} (time ${p.time}, message ${p.message})`).join("")}`)
  for (const j of e.journeys) lines.push(`  journey: ${j.role} ${j.effect}`)
  lines.push("  history:")
  for (const m of e.history) lines.push(`    lamport ${m.lamport}: ${m.status} (${m.finality}) by ${m.evidence.kind} ${m.evidence.message}`)
  return lines.join("\n")
}

const show = Command.make(
  "show",
  {
    id: Argument.String("id").pipe(
      Argument.withDescription("The effect's id, e.g. evm-log:CHAIN:BLOCKHASH:TX:LOG or ibc-packet:CHAIN:PORT:CHANNEL:SEQ, or an alias: a bridge's ROUTE:0xID, a transaction hash 0x… (its first matched log; `effect list --tx` lists them all)")
    ),
    url: urlFlag,
    json: jsonFlag
  },
  Effect.fn("causeway.effect.show")(function*({ id, url, json }) {
    const base = yield* ServerClient.serverBase(url)
    const answer = yield* ServerClient.getJson(base, `/v1/effects/${encodeURIComponent(id)}`, EffectView, `effect ${id}`)
    yield* Console.log(json ? JSON.stringify(answer.effect) : describeEffect(answer.effect))
  })
).pipe(Command.withDescription("Show an effect: its status, the evidence that set it, its journey and history."))

const EffectList = Schema.Struct({ effects: Schema.Array(AnyEffectViewSchema), offset: Schema.Finite })

const list = Command.make(
  "list",
  {
    kind: Flag.Literals("kind", ["evm-log", "ibc-packet"]).pipe(Flag.withDescription("Only effects of this kind"), Flag.optional),
    chain: Flag.String("chain").pipe(Flag.withDescription("Only effects on this chain (a packet matches either end)"), Flag.optional),
    status: Flag.Literals("status", EffectStatus.literals).pipe(Flag.withDescription("Only effects in this status"), Flag.optional),
    tx: Flag.String("tx").pipe(Flag.withDescription("Only the effects of this transaction (its hash, 0x…), proven by its transaction proof"), Flag.optional),
    url: urlFlag,
    json: jsonFlag
  },
  Effect.fn("causeway.effect.list")(function*(flags) {
    const base = yield* ServerClient.serverBase(flags.url)
    const query = new URLSearchParams({
      ...(Option.isSome(flags.kind) ? { kind: flags.kind.value } : {}),
      ...(Option.isSome(flags.chain) ? { chain: flags.chain.value } : {}),
      ...(Option.isSome(flags.status) ? { status: flags.status.value } : {}),
      ...(Option.isSome(flags.tx) ? { tx: flags.tx.value } : {}),
      limit: "1000"
    })
    const answer = yield* ServerClient.getJson(base, `/v1/effects?${query.toString()}`, EffectList, "the effects")
    if (flags.json) return yield* Console.log(JSON.stringify(answer.effects))
    for (const e of answer.effects) yield* Console.log(`${e.id}  ${e.status} (${e.finality})`)
  })
).pipe(Command.withDescription("List tracked effects, oldest first."))

const HEX_ADDRESS = /^(?:0x)?([0-9a-fA-F]{40})$/u
const HEX_TOPIC = /^(?:0x)?([0-9a-fA-F]{64})$/u
const CORRELATE = /^([\x21-\x39\x3b-\x7e]{1,64}):(deposit|fill|refund):(topic=([1-3])|word=([0-9]{1,4}))$/u
const LOG_WORD = /^(?:topic=([1-3])|word=([0-9]{1,4}))$/u

const WatchCreated = Schema.Struct({ watch: EffectWatch, receipt: EffectLogReceipt })

const watch = Command.make(
  "watch",
  {
    chain: Flag.String("chain").pipe(Flag.withDescription("The chain, as the server names it (GET /v1/chains)")),
    address: Flag.String("address").pipe(Flag.withDescription("Only logs this contract emits (20-byte hex)"), Flag.optional),
    topic: Flag.String("topic").pipe(
      Flag.withDescription("Topic i (in order; `any` matches every value), 32-byte hex; repeat for topics 0..3"),
      Flag.between(0, 4)
    ),
    fromHeight: Flag.Int("from-height").pipe(Flag.withDescription("The first block scanned (default: the latest verified one); blocks below the scan position are back-filled"), Flag.optional),
    correlate: Flag.String("correlate").pipe(
      Flag.withDescription("ROUTE:deposit|fill|refund:topic=N|word=N — the id tying a bridge deposit to its fills and refunds, in topic N (1-3) or data word N"),
      Flag.optional
    ),
    deadline: Flag.String("deadline").pipe(
      Flag.withDescription("topic=N|word=N — with --correlate ROUTE:deposit:…, where the deposit log carries its deadline (uint256 Unix seconds): past it on every fill chain with no fill, the deposit expires"),
      Flag.optional
    ),
    transactionHashes: Flag.Boolean("transaction-hashes").pipe(
      Flag.withDescription("Prove each matched log's transaction hash, an alias of its effect (costs a transactions-trie rebuild per block with a match)"),
      Flag.withDefault(false)
    ),
    url: urlFlag,
    json: jsonFlag
  },
  Effect.fn("causeway.effect.watch")(function*(flags) {
    const base = yield* ServerClient.serverBase(flags.url)
    let address: string | undefined
    if (Option.isSome(flags.address)) {
      const m = HEX_ADDRESS.exec(flags.address.value)
      if (m === null) return yield* new UsageError({ message: `--address ${JSON.stringify(flags.address.value)} is not a 20-byte hex address` })
      address = (m[1] as string).toLowerCase()
    }
    const topics: Array<string | null> = []
    for (const t of flags.topic) {
      if (t === "any") {
        topics.push(null)
        continue
      }
      const m = HEX_TOPIC.exec(t)
      if (m === null) return yield* new UsageError({ message: `--topic ${JSON.stringify(t)} is neither 32-byte hex nor "any"` })
      topics.push((m[1] as string).toLowerCase())
    }
    if (Option.isSome(flags.fromHeight) && flags.fromHeight.value < 0) return yield* new UsageError({ message: "--from-height must not be negative" })
    let correlate: unknown
    if (Option.isSome(flags.correlate)) {
      const m = CORRELATE.exec(flags.correlate.value)
      if (m === null) return yield* new UsageError({ message: `--correlate ${JSON.stringify(flags.correlate.value)} is not ROUTE:deposit|fill|refund:topic=1..3|word=N` })
      let deadline: unknown
      if (Option.isSome(flags.deadline)) {
        const d = LOG_WORD.exec(flags.deadline.value)
        if (d === null) return yield* new UsageError({ message: `--deadline ${JSON.stringify(flags.deadline.value)} is not topic=1..3|word=N` })
        if (m[2] !== "deposit") return yield* new UsageError({ message: "--deadline is a deposit's: use it with --correlate ROUTE:deposit:…" })
        deadline = d[1] !== undefined ? { topic: Number(d[1]) } : { dataWord: Number(d[2]) }
      }
      correlate = { route: m[1], role: m[2], id: m[4] !== undefined ? { topic: Number(m[4]) } : { dataWord: Number(m[5]) }, ...(deadline === undefined ? {} : { deadline }) }
    } else if (Option.isSome(flags.deadline)) {
      return yield* new UsageError({ message: "--deadline needs --correlate ROUTE:deposit:…" })
    }
    const body = {
      chain: flags.chain,
      kind: "evm-log",
      filter: { ...(address === undefined ? {} : { address }), ...(topics.length === 0 ? {} : { topics }) },
      ...(Option.isSome(flags.fromHeight) ? { fromHeight: flags.fromHeight.value } : {}),
      ...(correlate === undefined ? {} : { correlate }),
      ...(flags.transactionHashes ? { transactionHashes: true } : {})
    }
    const created = yield* ServerClient.postJson(base, "/v1/effects/watches", body, WatchCreated, `watching ${flags.chain}`, 201)
    yield* Console.log(flags.json ? JSON.stringify(created) : `watch ${created.watch.id} on ${created.watch.chain} (EffectWatchAdded at offset ${created.receipt.offset})`)
  })
).pipe(Command.withDescription("Start tracking EVM logs by emitter and topics: an EffectWatchAdded decision in the log."))

const WatchRemoved = Schema.Struct({ id: Schema.String, receipt: EffectLogReceipt })

const unwatch = Command.make(
  "unwatch",
  { id: Argument.String("id").pipe(Argument.withDescription("The watch's id (its EffectWatchAdded message id)")), url: urlFlag },
  Effect.fn("causeway.effect.unwatch")(function*({ id, url }) {
    const base = yield* ServerClient.serverBase(url)
    if (!/^[0-9a-f]{64}$/u.test(id)) return yield* new UsageError({ message: `${JSON.stringify(id.slice(0, 80))} is not a watch id (64 lowercase hex digits)` })
    const removed = yield* ServerClient.deleteJson(base, `/v1/effects/watches?id=${id}`, WatchRemoved, `removing watch ${id}`)
    yield* Console.log(`watch ${removed.id} removed (EffectWatchRemoved at offset ${removed.receipt.offset})`)
  })
).pipe(Command.withDescription("Stop a watch: an EffectWatchRemoved decision in the log."))

const Watches = Schema.Struct({ watches: Schema.Array(EffectWatchView) })

const watches = Command.make(
  "watches",
  { url: urlFlag, json: jsonFlag },
  Effect.fn("causeway.effect.watches")(function*({ url, json }) {
    const base = yield* ServerClient.serverBase(url)
    const answer = yield* ServerClient.getJson(base, "/v1/effects/watches", Watches, "the effect watches")
    if (json) return yield* Console.log(JSON.stringify(answer.watches))
    for (const w of answer.watches) {
      const backfill = w.backfill === null ? "" : ` back-filling ${w.backfill.next} down to ${w.backfill.until}`
      yield* Console.log(`${w.id}  ${w.chain} ${w.kind} ${JSON.stringify(w.filter)}${backfill}`)
    }
  })
).pipe(Command.withDescription("List the active effect watches."))

/** The effect command (its subcommands). */
export const effectCommand = Command.make("effect").pipe(
  Command.withDescription("Cross-chain effects: show and list tracked effects, add and remove watches."),
  Command.withSubcommands([show, list, watch, unwatch, watches])
)
