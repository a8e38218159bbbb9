/**
 * `causeway token ...`: the API token file a server reads with `--api-tokens FILE`
 * (docs/security.md).
 *
 *   token create --name N [--scope S]... [--budget-per-second N --budget-burst N] [--api-tokens FILE]
 *                a new token: its hash added to the file (created 0600), the token printed once
 *                on stdout; with a budget, its POST /v1/messages are counted against it rather
 *                than against the client's address (a relayer); a scope, a budget or both
 *   token list [--api-tokens FILE]                                       names, scopes, budgets
 *   token remove --name N [--api-tokens FILE]                            drop a token
 *
 * A running server reads the file at start: restart it to apply a change. Exit codes: 0 done;
 * 1 the file cannot be read or written; 2 bad flags.
 */
import { randomBytes } from "node:crypto"
import { Config, Console, Effect, FileSystem, Option, Result } from "effect"
import { Command, Flag } from "effect/cli"
import { hashToken, MAX_TOKENS, parseTokenFile, SCOPES, type TokenBudget, type TokenFile, tokenText } from "../domain/auth/ApiTokens.ts"
import { CommandFailed, UsageError } from "./CliErrors.ts"

const fileFlag = Flag.String("api-tokens").pipe(
  Flag.withDescription("The token file (env API_TOKENS_FILE)"),
  Flag.withFallbackConfig(Config.String("API_TOKENS_FILE")),
  Flag.optional
)

const fileOf = (flag: Option.Option<string>): Effect.Effect<string, UsageError> =>
  Option.match(flag, {
    onNone: () => Effect.fail(new UsageError({ message: "name the token file: --api-tokens FILE (or API_TOKENS_FILE); a server without one uses the admin token in DATA_DIR/api-token" })),
    onSome: Effect.succeed
  })

/** The token file's entries; none when it does not exist yet. */
const readFile = Effect.fn("causeway.token.read")(function*(path: string) {
  const fs = yield* FileSystem.FileSystem
  const exists = yield* fs.exists(path).pipe(Effect.mapError((e) => new CommandFailed({ message: `cannot read ${path}: ${e.message}` })))
  if (!exists) return { tokens: [] } satisfies TokenFile
  const text = yield* fs.readFileString(path).pipe(Effect.mapError((e) => new CommandFailed({ message: `cannot read ${path}: ${e.message}` })))
  const parsed = parseTokenFile(text)
  if (Result.isFailure(parsed)) return yield* new CommandFailed({ message: `${path} is not a token file: ${parsed.failure.reason}` })
  return parsed.success
})

/** Write the file whole, mode 0600, by a temporary file renamed into place. */
const writeFile = Effect.fn("causeway.token.write")(function*(path: string, file: TokenFile) {
  const fs = yield* FileSystem.FileSystem
  const tmp = `${path}.tmp-${process.pid}`
  const failed = (e: { readonly message: string }) => new CommandFailed({ message: `cannot write ${path}: ${e.message}` })
  yield* fs.writeFileString(tmp, `${JSON.stringify(file, null, 2)}\n`, { mode: 0o600 }).pipe(Effect.mapError(failed))
  yield* fs.chmod(tmp, 0o600).pipe(Effect.mapError(failed))
  yield* fs.rename(tmp, path).pipe(Effect.mapError(failed))
})

const create = Command.make(
  "create",
  {
    name: Flag.String("name").pipe(Flag.withDescription("The token's name (letters, digits, . _ -; at most 64)")),
    scope: Flag.Literals("scope", SCOPES).pipe(Flag.withDescription(`A scope: ${SCOPES.join(", ")} (admin: all); repeat for more; none for a token that only carries a budget`), Flag.atLeast(0)),
    budgetPerSecond: Flag.Int("budget-per-second").pipe(
      Flag.withDescription("The token's own budget for POST /v1/messages, messages per second (with --budget-burst); without one, the client's address budget applies"),
      Flag.optional
    ),
    budgetBurst: Flag.Int("budget-burst").pipe(Flag.withDescription("The token's own budget: messages at once (with --budget-per-second)"), Flag.optional),
    file: fileFlag
  },
  Effect.fn("causeway.token.create")(function*({ name, scope, budgetPerSecond, budgetBurst, file }) {
    const path = yield* fileOf(file)
    if (!/^[A-Za-z0-9._-]{1,64}$/u.test(name)) return yield* new UsageError({ message: `--name ${JSON.stringify(name)}: use 1 to 64 letters, digits, dots, underscores or dashes` })
    if (Option.isSome(budgetPerSecond) !== Option.isSome(budgetBurst)) return yield* new UsageError({ message: "give --budget-per-second and --budget-burst together" })
    const budget: TokenBudget | undefined = Option.isSome(budgetPerSecond) && Option.isSome(budgetBurst)
      ? { perSecond: budgetPerSecond.value, burst: budgetBurst.value }
      : undefined
    if (budget !== undefined && ![budget.perSecond, budget.burst].every((n) => Number.isInteger(n) && n >= 1 && n <= 1_000_000_000)) {
      return yield* new UsageError({ message: "--budget-per-second and --budget-burst are whole numbers in 1..1000000000" })
    }
    if (scope.length === 0 && budget === undefined) return yield* new UsageError({ message: "give a token at least one --scope, or a budget (--budget-per-second, --budget-burst)" })
    const current = yield* readFile(path)
    if (current.tokens.some((t) => t.name === name)) return yield* new CommandFailed({ message: `${path} already has a token named ${JSON.stringify(name)}; remove it first` })
    if (current.tokens.length >= MAX_TOKENS) return yield* new CommandFailed({ message: `${path} holds ${MAX_TOKENS} tokens, the most a server reads` })
    const token = tokenText(new Uint8Array(randomBytes(32)))
    const entry = { name, sha256: hashToken(token), scopes: [...new Set(scope)], ...(budget === undefined ? {} : { budget }) }
    yield* writeFile(path, { tokens: [...current.tokens, entry] })
    yield* Console.log(token)
  })
).pipe(Command.withDescription("Create a token: its hash is added to the file, the token is printed once (restart the server to apply)."))

const list = Command.make(
  "list",
  { file: fileFlag },
  Effect.fn("causeway.token.list")(function*({ file }) {
    const path = yield* fileOf(file)
    for (const t of (yield* readFile(path)).tokens) {
      const budget = t.budget === undefined ? "" : `  budget ${t.budget.perSecond}/s burst ${t.budget.burst}`
      yield* Console.log(`${t.name}  ${t.scopes.length === 0 ? "-" : t.scopes.join(",")}${budget}`)
    }
  })
).pipe(Command.withDescription("List the file's tokens: names, scopes and budgets (the tokens themselves are not kept)."))

const remove = Command.make(
  "remove",
  { name: Flag.String("name").pipe(Flag.withDescription("The token's name")), file: fileFlag },
  Effect.fn("causeway.token.remove")(function*({ name, file }) {
    const path = yield* fileOf(file)
    const current = yield* readFile(path)
    if (!current.tokens.some((t) => t.name === name)) return yield* new CommandFailed({ message: `${path} has no token named ${JSON.stringify(name)}` })
    yield* writeFile(path, { tokens: current.tokens.filter((t) => t.name !== name) })
  })
).pipe(Command.withDescription("Remove a token from the file (restart the server to apply)."))

/** The token command. */
export const tokenCommand = Command.make("token").pipe(
  Command.withDescription("API tokens for a server's --api-tokens file: create, list and remove."),
  Command.withSubcommands([create, list, remove])
)
