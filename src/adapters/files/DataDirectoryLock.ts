/**
 * One server per data directory: `serve` holds `serve.lock` in it while it runs. Two servers
 * on one directory would each fold and snapshot their own view of the same files (and, on the
 * embedded log, append between each other's projections), so the second one is refused
 * before it opens anything.
 *
 * The lock is a file created exclusively (O_CREAT|O_EXCL, mode 0600) holding who holds it:
 * the pid, the host, and, where /proc tells them, the process's start time (clock ticks
 * since boot) and the boot id. A lock file that exists is judged:
 * - held on another host: refused, never taken over (its pid means nothing here);
 * - its pid is running (`kill(pid, 0)` succeeds or says EPERM) and, when both start times
 *   are known, is still the same process: refused, naming the pid;
 * - otherwise stale (the pid is gone, or was reused by another process since, or the
 *   machine restarted), or unreadable and not written for STALE_UNREADABLE_MS: taken over.
 * Taking over happens under a second file, `serve.lock.takeover`, created exclusively: its
 * holder checks that the lock file is still the one judged stale (same inode), deletes it, and
 * then creates a fresh lock exclusively like any start. Only the mutex's holder ever deletes a
 * lock file it did not create, and a lock file only appears where none is, so two servers
 * taking over at once cannot both succeed. A mutex left by a start that died in that instant
 * is moved away once STALE_TAKEOVER_MS old.
 *
 * Released when the scope closes (graceful shutdown, or a start that fails later on): the
 * file is deleted if it is still this holder's own. Readers beside a server (`replay`,
 * `log tail`) take no lock.
 */
import { randomBytes } from "node:crypto"
import {
  closeSync,
  constants,
  fchmodSync,
  fstatSync,
  fsyncSync,
  linkSync,
  lstatSync,
  openSync,
  readFileSync,
  renameSync,
  unlinkSync,
  writeSync
} from "node:fs"
import { hostname } from "node:os"
import { join } from "node:path"
import { Data, Effect, Layer, Result, Schema } from "effect"
import { PositiveInt } from "../../domain/Primitives.ts"
import { DataDirectoryError } from "./DataDirectory.ts"

/** The lock file's name in the data directory. */
export const LOCK_FILE = "serve.lock"

/** An unreadable lock file (a holder that died while writing it) is stale once this old, ms. */
export const STALE_UNREADABLE_MS = 5_000

/** Tries before giving up when the lock keeps changing under this start. */
const MAX_ATTEMPTS = 50
const RETRY_MS = 50

/** What a lock file says about its holder. */
export const LockHolder = Schema.Struct({
  pid: PositiveInt,
  host: Schema.String,
  startedAt: Schema.String,
  /** Field 22 of /proc/<pid>/stat (start time in clock ticks since boot), when known. */
  procStart: Schema.optional(Schema.String),
  /** /proc/sys/kernel/random/boot_id, when known. */
  bootId: Schema.optional(Schema.String)
})
export type LockHolder = typeof LockHolder.Type
const decodeHolder = Schema.decodeUnknownResult(Schema.fromJsonString(LockHolder))

/** Another server holds the data directory (or a holder that cannot be judged from here). */
export class DataDirectoryLocked extends Data.TaggedError("DataDirectoryLocked")<{
  readonly dir: string
  readonly path: string
  readonly holder: LockHolder
  /** Why the holder counts as alive. */
  readonly reason: string
}> {
  override get message() {
    const h = this.holder
    return `data directory ${this.dir} is in use by another causeway server: pid ${h.pid} (${this.reason}, since ${h.startedAt}) holds its lock ${this.path}. ` +
      "Stop that server first, or give this one another --data-dir"
  }
}

/** The lock this process holds: the file and its identity, to delete it only if it is still ours. */
export interface HeldLock {
  readonly path: string
  readonly dev: number
  readonly ino: number
  /** Why a stale lock was taken over, if one was. */
  readonly tookOver: string | undefined
}

const errnoOf = (e: unknown): string | undefined => (e as NodeJS.ErrnoException | undefined)?.code

const readText = (path: string): string | undefined => {
  try {
    return readFileSync(path, "utf8").trim()
  } catch {
    return undefined
  }
}

/** Start time of `pid` in clock ticks since boot (field 22 of /proc/<pid>/stat), if /proc tells it. */
export const processStart = (pid: number): string | undefined => {
  const stat = readText(`/proc/${pid}/stat`)
  if (stat === undefined) return undefined
  // Field 2 (the command) is in parentheses and may hold spaces and parentheses itself.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
  return fields[19]
}

const bootId = (): string | undefined => readText("/proc/sys/kernel/random/boot_id")

/** This process as a lock holder. */
const self = (): LockHolder => {
  const procStart = processStart(process.pid)
  const boot = bootId()
  return {
    pid: process.pid,
    host: hostname(),
    startedAt: new Date().toISOString(),
    ...(procStart === undefined ? {} : { procStart }),
    ...(boot === undefined ? {} : { bootId: boot })
  }
}

/** Whether a process `pid` exists (EPERM: it does, owned by another user). */
const running = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
    return true
  } catch (e) {
    return errnoOf(e) !== "ESRCH"
  }
}

/** A lock file's holder judged: alive (why), or stale (why). */
export type Verdict = { readonly _tag: "Held"; readonly reason: string } | { readonly _tag: "Stale"; readonly reason: string }

/** Judge a holder from this process (`me`): its host, boot, pid and the pid's start time. */
export const judge = (holder: LockHolder, me: LockHolder): Verdict => {
  if (holder.host !== me.host) {
    return { _tag: "Held", reason: `on host ${holder.host}, not this one (${me.host}): a lock taken on another host is never taken over; if no server runs there, delete the lock file` }
  }
  if (holder.bootId !== undefined && me.bootId !== undefined && holder.bootId !== me.bootId) {
    return { _tag: "Stale", reason: `the machine has restarted since pid ${holder.pid} took it` }
  }
  if (!running(holder.pid)) return { _tag: "Stale", reason: `pid ${holder.pid} is not running` }
  const now = processStart(holder.pid)
  if (holder.procStart !== undefined && now !== undefined && now !== holder.procStart) {
    return { _tag: "Stale", reason: `pid ${holder.pid} is now another process (started at tick ${now}, the holder at ${holder.procStart})` }
  }
  return { _tag: "Held", reason: holder.pid === me.pid ? "this very process" : "running on this host" }
}

/** Create the lock file exclusively with `text`: its identity, or undefined when it exists. */
const create = (path: string, text: string): { readonly dev: number; readonly ino: number } | undefined => {
  let fd: number
  try {
    fd = openSync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600)
  } catch (e) {
    if (errnoOf(e) === "EEXIST") return undefined
    throw e
  }
  try {
    fchmodSync(fd, 0o600) // whatever the umask
    writeSync(fd, text)
    fsyncSync(fd)
    const { dev, ino } = fstatSync(fd)
    return { dev, ino }
  } catch (e) {
    unlinkSync(path)
    throw e
  } finally {
    closeSync(fd)
  }
}

/** The lock file as found: its identity, age and holder (undefined if it does not parse); undefined if it is gone. */
interface Found {
  readonly dev: number
  readonly ino: number
  /** The inode's last status change, in ns: a file made in a freed inode (same dev and ino) has another. */
  readonly ctimeNs: bigint
  /** What it says, as read. */
  readonly text: string
  readonly ageMs: number
  readonly holder: LockHolder | undefined
}

/**
 * Is `now` still the file `found` was? Not by inode alone: a lock file another start created
 * after the stale one was deleted can get the freed inode number back (two servers both held
 * one directory in a CI run that way), but not its status-change time and content too.
 */
const sameFile = (now: Found, found: Found): boolean =>
  now.dev === found.dev && now.ino === found.ino && now.ctimeNs === found.ctimeNs && now.text === found.text

const read = (path: string): Found | undefined => {
  let fd: number
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW)
  } catch (e) {
    if (errnoOf(e) === "ENOENT") return undefined
    throw e
  }
  try {
    const { dev, ino, mtimeMs, ctimeNs } = fstatSync(fd, { bigint: true })
    const text = readFileSync(fd, "utf8")
    const decoded = decodeHolder(text)
    return { dev: Number(dev), ino: Number(ino), ctimeNs, text, ageMs: Date.now() - Number(mtimeMs), holder: Result.isSuccess(decoded) ? decoded.success : undefined }
  } finally {
    closeSync(fd)
  }
}

/** What taking over a stale lock came to. */
type TakeOver =
  | { readonly _tag: "Removed" }
  | { readonly _tag: "Changed" }
  | { readonly _tag: "Busy" }

/** A takeover mutex left by a start that died while taking over is removed once this old, ms. */
export const STALE_TAKEOVER_MS = 10_000

/**
 * Delete the stale lock `found`, if the file at `path` is still that one, under the takeover
 * mutex `path.takeover` (created exclusively): only its holder deletes a lock file, and it
 * checks the file's identity while no one else can replace it (a lock file only ever appears
 * where none is, by O_EXCL), so two starts taking over at once cannot both succeed. "Busy":
 * another start holds the mutex; try again.
 */
const takeOver = (path: string, found: Found, text: string): TakeOver => {
  const mutex = `${path}.takeover`
  const held = create(mutex, text)
  if (held === undefined) {
    // A mutex left by a start that died mid-takeover: move it away, checking it is the one judged old.
    const old = read(mutex)
    if (old !== undefined && old.ageMs >= STALE_TAKEOVER_MS) {
      const grave = `${mutex}.stale-${process.pid}-${randomBytes(6).toString("hex")}`
      try {
        renameSync(mutex, grave)
        const moved = lstatSync(grave)
        if (moved.dev === old.dev && moved.ino === old.ino) unlinkSync(grave)
        else {
          try {
            linkSync(grave, mutex)
          } catch {
            // A fresh mutex is there already: ours moved aside is simply dropped.
          }
          unlinkSync(grave)
        }
      } catch (e) {
        if (errnoOf(e) !== "ENOENT") throw e
      }
    }
    return { _tag: "Busy" }
  }
  try {
    const now = read(path)
    if (now === undefined || !sameFile(now, found)) return { _tag: "Changed" }
    unlinkSync(path)
    return { _tag: "Removed" }
  } finally {
    const mine = read(mutex)
    if (mine !== undefined && mine.dev === held.dev && mine.ino === held.ino) unlinkSync(mutex)
  }
}

/** Delete the lock file if it is still `held` (the same file, still naming this process); false when it was removed or changed meanwhile. */
const release = (held: HeldLock): boolean => {
  const now = read(held.path)
  if (now === undefined || now.dev !== held.dev || now.ino !== held.ino || now.holder?.pid !== process.pid) return false
  unlinkSync(held.path)
  return true
}

const ioError = (path: string) => (e: unknown) => new DataDirectoryError({ path, reason: `lock file: ${e instanceof Error ? e.message : String(e)}` })

/** Take the lock of the data directory `dir` (which exists), or fail saying who holds it. */
export const acquire = Effect.fn("DataDirectoryLock.acquire")(function*(dir: string) {
  const path = join(dir, LOCK_FILE)
  const me = self()
  const text = `${JSON.stringify(me)}\n`
  const io = ioError(path)
  let tookOver: string | undefined
  let last = "the lock file kept changing"
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    const created = yield* Effect.try({ try: () => create(path, text), catch: io })
    if (created !== undefined) return { path, ...created, tookOver } satisfies HeldLock
    const found = yield* Effect.try({ try: () => read(path), catch: io })
    if (found === undefined) continue // released meanwhile
    let stale: string
    if (found.holder === undefined) {
      if (found.ageMs < STALE_UNREADABLE_MS) {
        // Another start is between creating and writing it.
        last = "the lock file is being written by another start"
        yield* Effect.sleep(RETRY_MS)
        continue
      }
      stale = `it does not say who holds it and was last written ${Math.round(found.ageMs / 1000)} s ago`
    } else {
      const verdict = judge(found.holder, me)
      if (verdict._tag === "Held") return yield* new DataDirectoryLocked({ dir, path, holder: found.holder, reason: verdict.reason })
      stale = verdict.reason
    }
    const outcome = yield* Effect.try({ try: () => takeOver(path, found, text), catch: io })
    if (outcome._tag === "Busy") {
      last = "another start is taking over the stale lock"
      yield* Effect.sleep(RETRY_MS)
      continue
    }
    if (outcome._tag === "Removed") {
      tookOver = stale
      yield* Effect.logWarning(`data directory: took over the stale lock ${path}: ${stale}`)
    }
  }
  return yield* new DataDirectoryError({ path, reason: `could not take the lock after ${MAX_ATTEMPTS} tries: ${last}` })
})

/** The lock of `dir` for the scope: released (deleted if still this holder's) when it closes. */
export const hold = (dir: string) =>
  Effect.acquireRelease(acquire(dir), (held) =>
    Effect.try({ try: () => release(held), catch: ioError(held.path) }).pipe(
      Effect.flatMap((released) => released ? Effect.void : Effect.logWarning(`data directory: the lock ${held.path} was removed or replaced while this server ran; left as it is`)),
      Effect.catch((e) => Effect.logWarning(`data directory: could not release the lock: ${e.message}`))
    ))

/** The lock of the data directory `dir`, held while the layer is. */
export const layer = (dir: string): Layer.Layer<never, DataDirectoryError | DataDirectoryLocked> => Layer.effectDiscard(hold(dir))
