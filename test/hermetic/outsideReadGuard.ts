/**
 * The outside-read guard of the test run: while it is installed, node:fs refuses to read a path
 * that lies inside the repository's parent folder but outside the repository, such as a
 * sibling checkout or the folder where new vectors arrive. A suite that passes only because such a folder happens to sit
 * next to the clone fails here instead of on the next fresh clone.
 *
 * Paths are judged lexically, as given and resolved against the working directory. Allowed
 * besides the repository: the real path of the repository and of its node_modules (a worktree's
 * node_modules may be a symlink to another checkout's, and Node loads modules by real path),
 * the temporary folder when it lies inside the parent, and, when the parent is the home
 * folder, its dot-entries (tools' configuration, e.g. ~/.docker). Anything outside the parent
 * (/tmp, /usr, /proc) is not this guard's business. Probes (stat, exists, access) are refused
 * only inside a sibling, not on the parent or its direct entries, which tools walking up from
 * the repository look for (package.json, node_modules). When the parent is the file-system root
 * or the temporary folder itself, siblings cannot be told from the system or from temporary
 * files, and the guard is inactive; the static check (noSharedPaths.test.ts) still applies.
 *
 * Child processes are not covered: they have their own node:fs.
 */
import fs from "node:fs"
import { syncBuiltinESMExports } from "node:module"
import os from "node:os"
import path from "node:path"
import { fileURLToPath } from "node:url"

/** A content read (readFile, readdir, open, copy), or a probe of existence or metadata (stat, exists, access). */
export type ReadKind = "read" | "probe"

/** The installed guard. */
export interface OutsideReadGuard {
  readonly root: string
  readonly parent: string
  /** False when the parent is the file-system root or the temporary folder (see above). */
  readonly active: boolean
  /** Why reading (`read`) or probing (`probe`) `target` is refused, or undefined if it is allowed. */
  readonly refusal: (target: string, kind: ReadKind) => string | undefined
  /** The refusals since the last call, so a run can fail even where a caller swallowed the error. */
  readonly drainRefusals: () => ReadonlyArray<string>
}

const READS = ["readFile", "readdir", "open", "opendir", "copyFile", "cp", "readlink"] as const
const PROBES = ["stat", "lstat", "access", "exists"] as const

const installed = Symbol.for("causeway.outsideReadGuard")

const within = (target: string, dir: string): boolean => {
  const relative = path.relative(dir, target)
  return relative === "" || (relative !== ".." && !relative.startsWith(`..${path.sep}`) && !path.isAbsolute(relative))
}

const realOrSelf = (target: string): string => {
  try {
    return fs.realpathSync(target)
  } catch {
    return target
  }
}

// The path a node:fs call names, or undefined for a file descriptor or FileHandle.
const pathOf = (argument: unknown): string | undefined => {
  if (typeof argument === "string") return argument
  if (Buffer.isBuffer(argument)) return argument.toString()
  if (argument instanceof URL) return argument.protocol === "file:" ? fileURLToPath(argument) : undefined
  return undefined
}

/** The guard installed in this process, if any (the setup file installs it). */
export const installedOutsideReadGuard = (): OutsideReadGuard | undefined => (globalThis as { [installed]?: OutsideReadGuard })[installed]

/** Installs the guard for the repository at `repository` (once per process; later calls return the installed guard). */
export const installOutsideReadGuard = (repository: string): OutsideReadGuard => {
  const root = path.resolve(repository)
  const existing = installedOutsideReadGuard()
  if (existing !== undefined) {
    if (existing.root !== root) throw new Error(`the outside-read guard is already installed for ${existing.root}`)
    return existing
  }
  for (const marker of ["package.json", "vitest.config.ts"]) {
    if (!fs.existsSync(path.join(root, marker))) throw new Error(`outside-read guard: ${root} is not the repository root (no ${marker})`)
  }
  const parent = path.dirname(root)
  const temp = path.resolve(os.tmpdir())
  const active = parent !== path.parse(parent).root && parent !== temp && realOrSelf(parent) !== realOrSelf(temp)
  const allowed = [realOrSelf(root), realOrSelf(path.join(root, "node_modules")), temp, realOrSelf(temp)].filter(
    (dir) => dir !== parent && within(dir, parent)
  )
  const home = path.resolve(os.homedir())

  const refusal = (target: string, kind: ReadKind): string | undefined => {
    const absolute = path.resolve(target)
    if (!active || !within(absolute, parent) || within(absolute, root)) return undefined
    if (allowed.some((dir) => within(absolute, dir))) return undefined
    const [first = "", ...rest] = path.relative(parent, absolute).split(path.sep)
    if (kind === "probe" && rest.length === 0) return undefined
    if (parent === home && first.startsWith(".")) return undefined
    return `${absolute} is outside the repository ${root} but inside its parent folder: tests must not read there ` +
      "(copy third-party files into the repository, as test/vectors holds the vectors; rule in test/hermetic/outsideReadGuard.ts)"
  }

  let refusals: Array<string> = []
  const refuse = (call: string, argument: unknown, kind: ReadKind): Error | undefined => {
    const target = pathOf(argument)
    const reason = target === undefined ? undefined : refusal(target, kind)
    if (reason === undefined) return undefined
    const message = `${call}(${JSON.stringify(target)}) refused: ${reason}`
    refusals.push(message)
    return new Error(message)
  }

  type Fn = (this: unknown, ...args: Array<unknown>) => unknown
  const replace = (owner: Record<string, unknown>, name: string, call: string, make: (original: Fn) => Fn): void => {
    const original = owner[name]
    if (typeof original !== "function") return
    const wrapped = make(original as Fn)
    // Keep what hangs off the original (util.promisify.custom on fs.exists, for one).
    for (const key of Reflect.ownKeys(original)) {
      if (key === "length" || key === "name" || key === "prototype") continue
      const descriptor = Reflect.getOwnPropertyDescriptor(original, key)
      if (descriptor !== undefined) Reflect.defineProperty(wrapped, key, descriptor)
    }
    Object.defineProperty(wrapped, "name", { value: call.split(".").pop() })
    owner[name] = wrapped
  }
  const throwing = (call: string, kind: ReadKind) => (original: Fn): Fn =>
    function (this: unknown, ...args) {
      const refused = refuse(call, args[0], kind)
      if (refused !== undefined) throw refused
      return original.apply(this, args)
    }
  const rejecting = (call: string, kind: ReadKind) => (original: Fn): Fn =>
    function (this: unknown, ...args) {
      const refused = refuse(call, args[0], kind)
      if (refused !== undefined) return Promise.reject(refused)
      return original.apply(this, args)
    }

  const sync = fs as unknown as Record<string, unknown>
  const promises = fs.promises as unknown as Record<string, unknown>
  for (const [names, kind] of [[READS, "read"], [PROBES, "probe"]] as const) {
    for (const name of names) {
      // Callback forms throw at the call, as node:fs does for a bad argument.
      replace(sync, name, `fs.${name}`, throwing(`fs.${name}`, kind))
      replace(sync, `${name}Sync`, `fs.${name}Sync`, throwing(`fs.${name}Sync`, kind))
      replace(promises, name, `fs.promises.${name}`, rejecting(`fs.promises.${name}`, kind))
    }
  }
  replace(sync, "createReadStream", "fs.createReadStream", throwing("fs.createReadStream", "read"))
  // Named imports (`import { readFileSync } from "node:fs"`, "node:fs/promises") see the wrappers.
  syncBuiltinESMExports()

  const guard: OutsideReadGuard = {
    root,
    parent,
    active,
    refusal,
    drainRefusals: () => {
      const drained = refusals
      refusals = []
      return drained
    }
  }
  Reflect.set(globalThis, installed, guard)
  return guard
}
