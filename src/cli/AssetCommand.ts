/**
 * `causeway asset resolve --source CHAIN --target CHAIN --asset ASSET [--provider P] [--url URL] [--json]`:
 * ask a running server what an asset named on the source chain is and how the target names
 * it (GET /v1/assets/resolve; the rules are src/domain/assets/AssetResolver.ts's), over the
 * registry its log holds.
 *
 * `causeway asset ibc-denom PATH [--json]`: the ICS-20 denom of a full denom path, its base
 * and trace. Computed here with the code the server runs (GET /v1/assets/ibc-denom answers
 * the same): a denom is never looked up, so no server is needed.
 *
 * Exit codes, as `chain`: 0 done; 1 the server said no (its status, tag and reason on stderr:
 * a bad chain or asset 400, an unknown asset or no route 404, an ambiguous one 409); 2 bad
 * flags, or a denom path that cannot be one; 3 the server cannot be reached.
 */
import { Console, Effect, Option } from "effect"
import { Argument, Command, Flag } from "effect/cli"
import { type ResolvedAssetView, ResolvedAssetView as ResolvedAssetSchema } from "../adapters/http/AssetsApi.ts"
import { denomPathProblem } from "../domain/assets/AssetMessages.ts"
import { ibcDenom, parseIbcDenomPath } from "../domain/ibc/IbcDenom.ts"
import { UsageError } from "./CliErrors.ts"
import { urlFlag } from "./Flags.ts"
import * as ServerClient from "./ServerClient.ts"

const jsonFlag = Flag.Boolean("json").pipe(Flag.withDescription("Print the answer as JSON"), Flag.withDefault(false))

const nonEmpty = (name: string) => (value: string) => value === "" ? Effect.fail(new UsageError({ message: `--${name} must not be empty` })) : Effect.succeed(value)

const hopText = (h: ResolvedAssetView["path"][number]): string => ("channel" in h ? `${h.port}/${h.channel}` : `${h.port}/${h.client} (IBC v2 client)`)

/** A resolution, for people. */
const describeResolved = (r: ResolvedAssetView): string =>
  [
    `${r.asset} on ${r.source} is ${r.caip19}`,
    `  on ${r.target}: ${r.localDenomOrAddress} (${r.provider})`,
    `  path: ${r.path.length === 0 ? "-" : r.path.map(hopText).join(" <- ")}`
  ].join("\n")

const resolveCommand = Command.make(
  "resolve",
  {
    source: Flag.String("source").pipe(Flag.withDescription("The CAIP-2 chain the asset is named on, e.g. eip155:1, cosmos:cosmoshub-4")),
    target: Flag.String("target").pipe(Flag.withDescription("The CAIP-2 chain to name it on")),
    asset: Flag.String("asset").pipe(
      Flag.withDescription("A denom or address on the source, an ibc/HASH denom, or a full ICS-20 path port/channel/…/base (its trace on the target)")
    ),
    provider: Flag.String("provider").pipe(Flag.withDescription("Only the target's names this provider makes (native, ibc, axelar, …)"), Flag.optional),
    url: urlFlag,
    json: jsonFlag
  },
  Effect.fn("causeway.asset.resolve")(function*(flags) {
    const base = yield* ServerClient.serverBase(flags.url)
    const source = yield* nonEmpty("source")(flags.source)
    const target = yield* nonEmpty("target")(flags.target)
    const asset = yield* nonEmpty("asset")(flags.asset)
    const query = new URLSearchParams({ source, target, asset, ...(Option.isSome(flags.provider) ? { provider: flags.provider.value } : {}) })
    const resolved = yield* ServerClient.getJson(base, `/v1/assets/resolve?${query.toString()}`, ResolvedAssetSchema, `resolving ${asset} from ${source} to ${target}`)
    yield* Console.log(flags.json ? JSON.stringify(resolved) : describeResolved(resolved))
  })
).pipe(Command.withDescription("Resolve an asset named on one chain onto another, over a server's asset registry."))

const ibcDenomCommand = Command.make(
  "ibc-denom",
  {
    path: Argument.String("path").pipe(Argument.withDescription("A full ICS-20 denom path: port/channel/…/base (hops: channel-N or IBC v2 client ids)")),
    json: jsonFlag
  },
  Effect.fn("causeway.asset.ibc-denom")(function*({ path, json }) {
    const problem = denomPathProblem(path)
    if (problem !== undefined) return yield* new UsageError({ message: `${JSON.stringify(path.slice(0, 100))} is not a denom path: ${problem}` })
    const { base, trace } = parseIbcDenomPath(path)
    const denom = ibcDenom(path)
    if (json) return yield* Console.log(JSON.stringify({ path, ibcDenom: denom, base, trace }))
    yield* Console.log([
      denom,
      `  base:  ${base}`,
      `  trace: ${trace.length === 0 ? "- (no hop: the denom is the path itself)" : trace.map((h) => `${h.portId}/${h.channelId}`).join(" <- ")}`
    ].join("\n"))
  })
).pipe(Command.withDescription("Compute the ICS-20 denom (ibc/ + SHA-256) of a full denom path, with its base and trace; no server needed."))

/** The asset command (its subcommands). */
export const assetCommand = Command.make("asset").pipe(
  Command.withDescription("Cross-chain assets: resolve an asset onto another chain, compute an IBC denom."),
  Command.withSubcommands([resolveCommand, ibcDenomCommand])
)
