/**
 * `causeway chain prove --chain C --key K [--height H] [--url URL] [--json]`: ask a running
 * server to prove a state key of an observed chain (POST /v1/chains/{chain}/proofs). The
 * server checks the proof against the verified header its log holds and publishes it as a
 * LightClientProof; the command prints the proof, the header and the message's receipt (JSON
 * with --json, a short summary otherwise).
 *
 * `causeway chain list [--url URL] [--json]`: the observed chains (GET /v1/chains).
 *
 * Exit codes, as `submit`: 0 done; 1 the server said no (its status, tag and reason on
 * stderr: an unknown chain 404, a bad key 400, a chain RPC whose answer does not verify 502,
 * one that does not answer 503); 2 bad flags; 3 the server cannot be reached.
 */
import { Console, Effect, Option, Schema } from "effect"
import { Command, Flag } from "effect/cli"
import { ChainSummary, PublishedProofView } from "../adapters/http/ChainsApi.ts"
import { UsageError } from "./CliErrors.ts"
import * as ServerClient from "./ServerClient.ts"

const urlFlag = Flag.String("url").pipe(
  Flag.withDescription(`Server address (default ${ServerClient.DEFAULT_URL})`),
  Flag.withDefault(ServerClient.DEFAULT_URL)
)

const jsonFlag = Flag.Boolean("json").pipe(Flag.withDescription("Print the server's answer as JSON"), Flag.withDefault(false))

/** The base URL of --url, or a usage error. */
const serverBase = (url: string): Effect.Effect<string, UsageError> => {
  const base = ServerClient.baseUrl(url)
  return /^https?:\/\/[^/]/.test(base)
    ? Effect.succeed(base)
    : Effect.fail(new UsageError({ message: `--url must be an http(s) URL, got ${JSON.stringify(url)}` }))
}

const short = (hex: string): string => (hex.length > 20 ? `${hex.slice(0, 10)}…${hex.slice(-8)}` : hex)

/** The summary of a published proof, for people. */
const describeProof = (p: typeof PublishedProofView.Type): string =>
  [
    `proved ${p.proof.kind} key ${short(p.proof.key)} on ${p.proof.chain} at height ${p.proof.height}`,
    `  value:  ${p.proof.value === "" ? "(absent: a proven absence)" : short(p.proof.value)}`,
    `  header: ${p.header.hash} (state root ${short(p.header.stateRoot)})`,
    `  log:    LightClientProof ${p.receipt.id} at offset ${p.receipt.offset} (lamport ${p.receipt.lamport})`
  ].join("\n")

const point = (p: { readonly height: number; readonly hash: string } | null): string => (p === null ? "-" : `${p.height}`)

const proveCommand = Command.make(
  "prove",
  {
    chain: Flag.String("chain").pipe(Flag.withDescription("The chain's name, as the server observes it (e.g. its --evm-chain-id)")),
    key: Flag.String("key").pipe(
      Flag.withDescription("State key: EVM `address` or `address/slot`; Cosmos `<store>/<hex key>`; or the proven hex form")
    ),
    height: Flag.Int("height").pipe(
      Flag.withDescription("The state's height (default: the latest verified header the server's log holds)"),
      Flag.filter((n) => n >= 0 && Number.isSafeInteger(n), (n) => `--height must be a non-negative integer, got ${n}`),
      Flag.optional
    ),
    url: urlFlag,
    json: jsonFlag
  },
  Effect.fn("causeway.chain.prove")(function*(flags) {
    const base = yield* serverBase(flags.url)
    if (flags.chain === "") return yield* new UsageError({ message: "--chain must not be empty" })
    if (flags.key === "") return yield* new UsageError({ message: "--key must not be empty" })
    const body = { key: flags.key, ...(Option.isSome(flags.height) ? { height: flags.height.value } : {}) }
    const published = yield* ServerClient.postJson(
      base,
      `/v1/chains/${encodeURIComponent(flags.chain)}/proofs`,
      body,
      PublishedProofView,
      `proving ${flags.key} on ${flags.chain}`
    )
    yield* Console.log(flags.json ? JSON.stringify(published) : describeProof(published))
  })
).pipe(Command.withDescription("Prove a state key of an observed chain on a server; the proof is published in its log as a LightClientProof."))

const listCommand = Command.make(
  "list",
  { url: urlFlag, json: jsonFlag },
  Effect.fn("causeway.chain.list")(function*(flags) {
    const base = yield* serverBase(flags.url)
    const chains = yield* ServerClient.getJson(base, "/v1/chains", Schema.Array(ChainSummary), "listing chains")
    if (flags.json) return yield* Console.log(JSON.stringify(chains))
    if (chains.length === 0) return yield* Console.log("no chains observed")
    for (const c of chains) {
      yield* Console.log(`${c.chain} (${c.kind}): latest ${point(c.latest)}, safe ${point(c.safe)}, finalized ${point(c.finalized)}, ${c.reorgCount} reorg(s)`)
    }
  })
).pipe(Command.withDescription("List the chains a server observes."))

/** The chain command (its subcommands). */
export const chainCommand = Command.make("chain").pipe(
  Command.withDescription("Observed chains: list them, prove a state key."),
  Command.withSubcommands([proveCommand, listCommand])
)
