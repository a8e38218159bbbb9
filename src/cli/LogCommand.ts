/**
 * `causeway log tail [--data-dir DIR | --url URL] [--from N] [--follow] [--limit N]`: print
 * log records as JSON lines `{"offset","id","lamport","type","sender"}`, in offset order.
 *
 * With --data-dir (the default source, env DATA_DIR, default ./data) the log is read from
 * SQLite directly, beside a running server if there is one: the embedded log, or the local
 * index of a server on Kafka (src/cli/DataDir.ts); --follow then polls for records other
 * processes append. With --url the records come from the server's event stream
 * (GET /v1/stream); --follow keeps the stream open and reconnects from the last offset seen
 * if the connection drops. Without --follow, tail stops at the log's end as of its start
 * (read from /metrics over HTTP). --limit stops after that many records.
 */
import { Config, Console, Duration, Effect, Option, Stream } from "effect"
import { Command, Flag } from "effect/cli"
import { defaultServeConfig } from "../Config.ts"
import type { CausalLogService, LogRecord } from "../ports/CausalLog.ts"
import { CommandFailed, ServerUnreachable, UsageError } from "./CliErrors.ts"
import { openLog } from "./DataDir.ts"
import * as ServerClient from "./ServerClient.ts"
import { runsUntilStopped } from "./Signals.ts"

/** The fields tail prints of a record. */
export interface TailLine {
  readonly offset: number
  readonly id: string
  readonly lamport: number
  readonly type: string
  readonly sender: string
}

const lineOf = (r: TailLine): string =>
  JSON.stringify({ offset: r.offset, id: r.id, lamport: r.lamport, type: r.type, sender: r.sender })

const PAGE = 1024
const POLL = Duration.millis(200)
const RECONNECT = Duration.seconds(1)

/** Records [from, end) of a local log, then (following) every record appended after, polled. */
const fromLog = (log: CausalLogService, from: number, follow: boolean): Stream.Stream<LogRecord, CommandFailed> =>
  Stream.unwrap(
    Effect.map(log.endOffset, (end) =>
      Stream.paginate(from, (cursor: number) =>
        Effect.gen(function*() {
          // The adapter's own end offset moves only with its own appends: another process's
          // records are found by reading past it.
          const to = follow ? cursor + PAGE : Math.min(end, cursor + PAGE)
          const records = cursor < to ? yield* log.read(cursor, to) : []
          const next = cursor + records.length
          if (records.length === 0 && follow) yield* Effect.sleep(POLL)
          const more = follow || (records.length > 0 && next < end)
          return [records, more ? Option.some(next) : Option.none()] as const
        })
      )
    )
  ).pipe(Stream.mapError((e) => new CommandFailed({ message: `reading the log failed: ${e.operation}: ${String(e.cause)}` })))

/** Consecutive failed reconnections after which following gives up. */
const MAX_RECONNECTS = 60

/**
 * Records from a server's event stream. Following, a dropped or closed connection is reopened
 * from the next offset (the stream's event ids are offsets) every second, up to
 * MAX_RECONNECTS times in a row; a server that cannot be reached at the start fails at once.
 */
const fromServer = (base: string, from: number, follow: boolean): Stream.Stream<TailLine, CommandFailed | ServerUnreachable> => {
  if (!follow) {
    return Stream.unwrap(
      Effect.map(ServerClient.endOffset(base), (end) =>
        from >= end ? Stream.empty : ServerClient.stream(base, from).pipe(Stream.takeUntil((r) => r.offset >= end - 1))
      )
    )
  }
  const session = (next: number, failures: number, everOpened: boolean): Stream.Stream<TailLine, CommandFailed | ServerUnreachable> =>
    Stream.suspend(() => {
      let cursor = next
      let opened = false
      return ServerClient.stream(base, cursor, () => {
        opened = true
      }).pipe(
        Stream.tap((r) => Effect.sync(() => void (cursor = r.offset + 1))),
        Stream.concat(Stream.fail(new ServerUnreachable({ message: `${base} closed the event stream` }))),
        Stream.catch((e) => {
          const failed = opened ? 0 : failures + 1
          // Never connected at all, or gave up reconnecting, or a failure reconnecting cannot cure.
          if (!(everOpened || opened) || failed > MAX_RECONNECTS || e._tag !== "ServerUnreachable") return Stream.fail(e)
          return Stream.fromEffectDrain(Effect.sleep(RECONNECT)).pipe(Stream.concat(session(cursor, failed, true)))
        })
      )
    })
  return session(from, 0, false)
}

const tailCommand = Command.make(
  "tail",
  {
    dataDir: Flag.String("data-dir").pipe(
      Flag.withDescription(`Read this data directory's log (env DATA_DIR, default ./${defaultServeConfig.dataDir}; the default source)`),
      Flag.optional
    ),
    url: Flag.String("url").pipe(Flag.withDescription("Read a server's event stream instead, e.g. http://127.0.0.1:8080"), Flag.optional),
    from: Flag.Int("from").pipe(
      Flag.withDescription("First offset to print (default 0)"),
      Flag.withDefault(0),
      Flag.filter((n) => n >= 0, (n) => `--from must be a non-negative integer, got ${n}`)
    ),
    follow: Flag.Boolean("follow").pipe(Flag.withAlias("f"), Flag.withDescription("Keep printing records as they are appended"), Flag.withDefault(false)),
    limit: Flag.Int("limit").pipe(
      Flag.withDescription("Stop after this many records"),
      Flag.filter((n) => n >= 1, (n) => `--limit must be a positive integer, got ${n}`),
      Flag.optional
    )
  },
  Effect.fn("causeway.log.tail")(function*(flags) {
    if (Option.isSome(flags.dataDir) && Option.isSome(flags.url)) {
      return yield* new UsageError({ message: "--data-dir and --url are alternatives: give one" })
    }
    if (flags.follow) yield* runsUntilStopped
    const limited = <A, E>(s: Stream.Stream<A, E>) => Option.match(flags.limit, { onNone: () => s, onSome: (n) => Stream.take(s, n) })
    const print = Stream.runForEach((r: TailLine) => Console.log(lineOf(r)))
    if (Option.isSome(flags.url)) {
      const base = ServerClient.baseUrl(flags.url.value)
      if (!/^https?:\/\/[^/]/.test(base)) return yield* new UsageError({ message: `--url must be an http(s) URL, got ${JSON.stringify(flags.url.value)}` })
      return yield* print(limited(fromServer(base, flags.from, flags.follow)))
    }
    const dataDir = Option.isSome(flags.dataDir)
      ? flags.dataDir.value
      : yield* Config.String("DATA_DIR").pipe(Config.withDefault(defaultServeConfig.dataDir), Effect.orElseSucceed(() => defaultServeConfig.dataDir))
    const log = yield* openLog(dataDir, "read the server's own log instead with --url")
    yield* print(limited(fromLog(log, flags.from, flags.follow)))
  }, Effect.scoped)
).pipe(Command.withDescription("Print log records as JSON lines, from a data directory or a server's event stream."))

/** The log command (its subcommands). */
export const logCommand = Command.make("log").pipe(
  Command.withDescription("Read the causal log."),
  Command.withSubcommands([tailCommand])
)
