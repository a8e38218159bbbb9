/**
 * The deployment files (infra/docker-compose.yml, infra/Dockerfile) checked against the project
 * without a Docker engine (there is none here nor in CI):
 *
 * - the compose file, parsed as YAML (merge keys resolved, as Compose does): three causeway
 *   members built from the repository with infra/Dockerfile; every variable a member sets is
 *   one `serve` reads (src/cli/ServeCommand.ts `serveEnv`, or the SASL credential variables)
 *   and decodes; all share one log: KAFKA_BROKERS is the kafka service's PLAINTEXT advertised
 *   listener, the topic prefix is the same; each has its own data volume at DATA_DIR and its
 *   own host port; every published port is bound to 127.0.0.1; the kafka service runs KRaft
 *   (broker and controller, voters matching its node id and CONTROLLER listener);
 * - the Dockerfile, parsed into instructions: Node 24 images, ENTRYPOINT file exists, ENV
 *   names are read by serve, COPY sources exist and are not .dockerignored, EXPOSE = PORT, a
 *   non-root USER;
 * - the runtime stage for real: package.json, package-lock.json, src/ and web/ copied as its
 *   COPY instructions say into a temporary directory, the deps stage's `npm ci` RUN command
 *   (and the pruning after it) run there (the npm registry), then ENTRYPOINT + CMD started with
 *   the Dockerfile's ENV on Node 24: /healthz and /readyz answer 200, the dashboard (/ and its
 *   bundle, built by esbuild at start) answers 200, the HEALTHCHECK commands of both files
 *   exit 0, it writes nothing outside DATA_DIR, and SIGTERM ends it with 0. So the production
 *   dependency set (no devDependencies, no optional package but esbuild's binary for this
 *   platform) runs the service and its dashboard. The same copy is then started
 *   with a compose member's Kafka settings against the librdkafka mock cluster (when
 *   available; see test/kafka/support/TestBroker.ts) and must become ready.
 */
import { execFile, spawn } from "node:child_process"
import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync } from "node:fs"
import { dirname, isAbsolute, join, posix, relative, resolve } from "node:path"
import { Option, Redacted, Result } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { parse as parseYaml } from "yaml"
import { kafkaSaslEnv, kafkaSecurityPlan, logConfig, parseLogLevel, serveEnv } from "../../src/cli/ServeCommand.ts"
import { closedPort, eventually, getJson, root, tempDir, cleanup as cleanupTemps } from "../cli/support/cli.ts"
import { freshPrefix, startBroker } from "../kafka/support/TestBroker.ts"

afterAll(cleanupTemps)
const choice = await startBroker()

const infra = join(root, "infra")
const serveReads: ReadonlySet<string> = new Set([...Object.values(serveEnv), ...Object.values(kafkaSaslEnv)])

// ---------------------------------------------------------------------------------------------
// The compose file.

interface Service {
  readonly image?: string
  readonly hostname?: string
  readonly build?: { readonly context: string; readonly dockerfile: string }
  readonly environment?: Record<string, string | number | boolean>
  readonly ports?: ReadonlyArray<string>
  readonly volumes?: ReadonlyArray<string>
  readonly healthcheck?: { readonly test: ReadonlyArray<string> }
  readonly depends_on?: Record<string, { readonly condition: string }>
}

// Compose resolves YAML merge keys (`<<: *causeway`); so does the parser here.
const compose = parseYaml(readFileSync(join(infra, "docker-compose.yml"), "utf8"), { merge: true }) as {
  readonly services: Record<string, Service>
  readonly volumes?: Record<string, unknown>
}
const kafka = compose.services["kafka"] as Service
/** The causeway members: every service built from the repository. */
const members = Object.entries(compose.services).filter(([, s]) => s.build !== undefined)
const causeway = members[0]?.[1] as Service
/** A service's environment as strings (YAML may give numbers). */
const envOf = (s: Service): Record<string, string> => Object.fromEntries(Object.entries(s.environment ?? {}).map(([k, v]) => [k, String(v)]))
const kafkaEnv = envOf(kafka)
const causewayEnv = envOf(causeway)

/** "NAME://host:port,..." as name → {host, port}. */
const listeners = (text: string): Map<string, { readonly host: string; readonly port: number }> =>
  new Map(text.split(",").map((l) => {
    const m = /^([A-Z_]+):\/\/([^:]*):(\d+)$/.exec(l.trim())
    if (m === null) throw new Error(`not a listener: ${l}`)
    return [m[1] as string, { host: m[2] as string, port: Number(m[3]) }]
  }))

/** The container port of a "host:container" mapping. */
const containerPort = (mapping: string): number => Number(mapping.split(":").at(-1))

/** A "[ip:]host:container" mapping's parts. */
const published = (mapping: string) => {
  const parts = mapping.split(":")
  return { ip: parts.length === 3 ? parts[0] : undefined, host: Number(parts.at(-2)), container: Number(parts.at(-1)) }
}

/** Split a Docker command line's `NAME` exec-form array. */
const execForm = (value: string): ReadonlyArray<string> => {
  const parsed: unknown = JSON.parse(value)
  if (!Array.isArray(parsed) || !parsed.every((p) => typeof p === "string")) throw new Error(`not an exec-form array: ${value}`)
  return parsed
}

describe("infra/docker-compose.yml", () => {
  it("runs three causeway members, each built from the repository with infra/Dockerfile as one image", () => {
    expect(members.map(([name]) => name)).toStrictEqual(["causeway-1", "causeway-2", "causeway-3"])
    for (const [name, member] of members) {
      const build = member.build
      const context = resolve(infra, build?.context ?? "")
      expect(context, name).toBe(root)
      expect(existsSync(join(context, "package.json"))).toBe(true)
      expect(resolve(context, build?.dockerfile ?? ""), name).toBe(join(infra, "Dockerfile"))
      expect(member.image, name).toBe(causeway.image)
    }
  })

  it("each member sets only variables serve reads, with values serve accepts", () => {
    for (const [name, member] of members) {
      const env = envOf(member)
      const names = Object.keys(env)
      expect(names.length).toBeGreaterThan(0)
      expect(names.filter((n) => !serveReads.has(n)), name).toStrictEqual([])
      // The values decode as serve decodes them.
      const opt = (variable: string) => Option.fromUndefinedOr(env[variable])
      const security = {
        sslCa: opt(serveEnv["kafka-ssl-ca"]),
        sslCert: opt(serveEnv["kafka-ssl-cert"]),
        sslKey: opt(serveEnv["kafka-ssl-key"]),
        saslMechanism: opt(serveEnv["kafka-sasl-mechanism"]),
        saslCredentialsFile: opt(serveEnv["kafka-sasl-credentials-file"]),
        saslUsername: opt(kafkaSaslEnv.username),
        saslPassword: Option.map(opt(kafkaSaslEnv.password), Redacted.make)
      }
      const log = logConfig({
        log: opt(serveEnv.log),
        brokers: opt(serveEnv.brokers),
        topicPrefix: opt(serveEnv["topic-prefix"]),
        index: opt(serveEnv["kafka-index"]),
        disconnectGraceMs: Option.map(opt(serveEnv["kafka-disconnect-grace-ms"]), Number),
        security
      })
      expect(Result.isSuccess(log) ? log.success.kind : log.failure, name).toBe("kafka")
      expect(Result.isSuccess(kafkaSecurityPlan(security)), name).toBe(true)
      const port = Number(env[serveEnv.port])
      expect(Number.isInteger(port) && port > 0 && port < 65536).toBe(true)
      expect(Option.isSome(parseLogLevel(env[serveEnv["log-level"]] ?? "info"))).toBe(true)
      // Published on the port it listens on.
      expect((member.ports ?? []).map(containerPort), name).toContain(port)
    }
  })

  it("the members share one log: the same brokers and topic prefix; each has its own data volume and host port", () => {
    const envs = members.map(([, m]) => envOf(m))
    for (const variable of [serveEnv.log, serveEnv.brokers, serveEnv["topic-prefix"], serveEnv["kafka-index"]]) {
      expect(new Set(envs.map((e) => e[variable])).size, variable).toBe(1)
    }
    const volumes = members.map(([, m]) => (m.volumes ?? []).map((v) => v.split(":")[0]))
    expect(new Set(volumes.flat()).size).toBe(volumes.flat().length)
    const hostPorts = members.flatMap(([, m]) => (m.ports ?? []).map((p) => published(p).host))
    expect(new Set(hostPorts).size).toBe(hostPorts.length)
  })

  it("publishes every port on 127.0.0.1 only, the Kafka host listener too", () => {
    for (const [name, service] of Object.entries(compose.services)) {
      for (const mapping of service.ports ?? []) expect(published(mapping).ip, `${name} ${mapping}`).toBe("127.0.0.1")
    }
    const host = listeners(kafkaEnv["KAFKA_ADVERTISED_LISTENERS"] ?? "").get("HOST")
    expect(host).toBeDefined()
    // Advertised as the address it is published on, so host clients reach it.
    expect(host?.host).toBe("127.0.0.1")
    expect((kafka.ports ?? []).map(published)).toContainEqual({ ip: "127.0.0.1", host: host?.port, container: host?.port })
  })

  it("KAFKA_BROKERS is the kafka service's PLAINTEXT advertised listener, which it listens on", () => {
    const advertised = listeners(kafkaEnv["KAFKA_ADVERTISED_LISTENERS"] ?? "")
    const plaintext = advertised.get("PLAINTEXT")
    expect(plaintext).toBeDefined()
    for (const [name, member] of members) {
      expect(envOf(member)[serveEnv.brokers], name).toBe(`${plaintext?.host}:${plaintext?.port}`)
      expect(member.depends_on?.["kafka"]?.condition, name).toBe("service_healthy")
    }
    // The advertised host is the kafka service on the compose network.
    expect([kafka.hostname, "kafka"]).toContain(plaintext?.host)
    expect(compose.services[plaintext?.host ?? ""]).toBe(kafka)
    expect(listeners(kafkaEnv["KAFKA_LISTENERS"] ?? "").get("PLAINTEXT")?.port).toBe(plaintext?.port)
    // The host listener is published on its port.
    const host = advertised.get("HOST")
    if (host !== undefined) expect((kafka.ports ?? []).map(containerPort)).toContain(host.port)
  })

  it("runs Kafka in KRaft mode: broker and controller, one voter = its node id on its CONTROLLER listener", () => {
    expect(kafka.image).toMatch(/^apache\/kafka:\d/)
    expect(new Set((kafkaEnv["KAFKA_PROCESS_ROLES"] ?? "").split(",").map((r) => r.trim()))).toStrictEqual(new Set(["broker", "controller"]))
    const own = listeners(kafkaEnv["KAFKA_LISTENERS"] ?? "")
    const protocols = new Map((kafkaEnv["KAFKA_LISTENER_SECURITY_PROTOCOL_MAP"] ?? "").split(",").map((p) => p.split(":") as [string, string]))
    for (const name of own.keys()) expect(protocols.has(name)).toBe(true)
    const controllerName = kafkaEnv["KAFKA_CONTROLLER_LISTENER_NAMES"] ?? ""
    const controller = own.get(controllerName)
    expect(controller).toBeDefined()
    // A controller listener is not advertised to clients.
    expect(listeners(kafkaEnv["KAFKA_ADVERTISED_LISTENERS"] ?? "").has(controllerName)).toBe(false)
    expect(own.has(kafkaEnv["KAFKA_INTER_BROKER_LISTENER_NAME"] ?? "")).toBe(true)
    const voters = (kafkaEnv["KAFKA_CONTROLLER_QUORUM_VOTERS"] ?? "").split(",")
    expect(voters).toStrictEqual([`${kafkaEnv["KAFKA_NODE_ID"]}@${kafka.hostname ?? "kafka"}:${controller?.port}`])
    // One broker: replication factors of 1 (more would never be satisfied).
    for (const [k, v] of Object.entries(kafkaEnv)) if (/REPLICATION_FACTOR$/.test(k)) expect(v).toBe("1")
    // Its healthcheck asks a listener it has.
    const health = (kafka.healthcheck?.test ?? []).join(" ")
    const bootstrap = /--bootstrap-server\s+[^:\s]+:(\d+)/.exec(health)
    expect([...own.values()].map((l) => l.port)).toContain(Number(bootstrap?.[1]))
  })

  it("mounts each member's data volume at DATA_DIR (the root file system is read-only)", () => {
    for (const [name, member] of members) {
      const dataDir = envOf(member)[serveEnv["data-dir"]]
      expect(dataDir, name).toBeDefined()
      const mounts = (member.volumes ?? []).map((v) => v.split(":"))
      const data = mounts.find(([, target]) => target === dataDir)
      expect(data, name).toBeDefined()
      expect(Object.keys(compose.volumes ?? {})).toContain(data?.[0])
    }
  })
})

// ---------------------------------------------------------------------------------------------
// The Dockerfile.

interface Instruction {
  readonly keyword: string
  readonly args: string
}

/** The Dockerfile's instructions (comments dropped, continuation lines joined), per stage. */
const parseDockerfile = (text: string): ReadonlyArray<{ readonly name: string; readonly from: string; readonly instructions: ReadonlyArray<Instruction> }> => {
  const logical: Array<string> = []
  let pending = ""
  for (const raw of text.split("\n")) {
    const line = raw.trim()
    if (pending === "" && (line === "" || line.startsWith("#"))) continue
    if (line.startsWith("#")) continue
    if (line.endsWith("\\")) {
      pending += `${line.slice(0, -1)} `
      continue
    }
    logical.push(pending + line)
    pending = ""
  }
  if (pending !== "") logical.push(pending)
  const stages: Array<{ name: string; from: string; instructions: Array<Instruction> }> = []
  for (const line of logical) {
    const m = /^([A-Za-z]+)\s+(.*)$/.exec(line)
    if (m === null) throw new Error(`not an instruction: ${line}`)
    const keyword = (m[1] as string).toUpperCase()
    const args = (m[2] as string).trim()
    if (keyword === "FROM") {
      const f = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(args)
      stages.push({ from: f?.[1] ?? args, name: f?.[2] ?? String(stages.length), instructions: [] })
    } else {
      const stage = stages.at(-1)
      if (stage === undefined) throw new Error(`${keyword} before FROM`)
      stage.instructions.push({ keyword, args })
    }
  }
  return stages
}

/** `ENV A=1 B=2` as pairs (the values here have no spaces). */
const envPairs = (args: string): Array<[string, string]> =>
  args.split(/\s+/).filter((p) => p !== "").map((p) => {
    const i = p.indexOf("=")
    if (i < 1) throw new Error(`ENV in the legacy form: ${args}`)
    return [p.slice(0, i), p.slice(i + 1).replace(/^"(.*)"$/, "$1")]
  })

/** `COPY [--from=x] [--chown=..] src... dest`. */
const copyArgs = (args: string) => {
  const words = args.split(/\s+/)
  const options = words.filter((w) => w.startsWith("--"))
  const paths = words.filter((w) => !w.startsWith("--"))
  const from = options.find((o) => o.startsWith("--from="))?.slice("--from=".length)
  return { from, sources: paths.slice(0, -1), dest: paths.at(-1) as string }
}

const stages = parseDockerfile(readFileSync(join(infra, "Dockerfile"), "utf8"))
const runtime = stages.at(-1)!
const all = (keyword: string) => runtime.instructions.filter((i) => i.keyword === keyword)
const one = (keyword: string): string => {
  const found = all(keyword)
  if (found.length !== 1) throw new Error(`the runtime stage has ${found.length} ${keyword} instructions`)
  return (found[0] as Instruction).args
}
const imageEnv: Record<string, string> = Object.fromEntries(all("ENV").flatMap((i) => envPairs(i.args)))
const workdirOf = (stage: (typeof stages)[number]): string => stage.instructions.filter((i) => i.keyword === "WORKDIR").at(-1)?.args ?? "/"
const entrypoint = execForm(one("ENTRYPOINT"))
const cmd = execForm(one("CMD"))
/** The HEALTHCHECK's command (after `CMD`). */
const healthcheck = execForm(one("HEALTHCHECK").replace(/^.*?\bCMD\s+/, ""))
/** NODE_ENV is for npm and libraries, not a serve setting; every other ENV must be one serve reads. */
const runtimeOnly = new Set(["NODE_ENV"])

describe("infra/Dockerfile", () => {
  it("builds on Node 24 in stages, runs as a non-root user", () => {
    expect(stages.length).toBeGreaterThanOrEqual(2)
    for (const s of stages) expect(s.from).toMatch(/^node:24(?:[.-]|$)/)
    const user = one("USER")
    expect(user).not.toMatch(/^(root|0)(:|$)/)
  })

  it("its ENTRYPOINT is the CLI in the repository, its CMD is serve", () => {
    expect(entrypoint[0]).toBe("node")
    expect(entrypoint.length).toBe(2)
    expect(existsSync(join(root, entrypoint[1] as string))).toBe(true)
    expect(JSON.parse(readFileSync(join(root, "package.json"), "utf8")).bin.causeway).toBe(entrypoint[1])
    expect(cmd).toStrictEqual(["serve"])
  })

  it("sets only variables serve reads (and NODE_ENV); EXPOSE is PORT, VOLUME is DATA_DIR", () => {
    const names = Object.keys(imageEnv)
    expect(names).toContain(serveEnv.port)
    expect(names.filter((n) => !serveReads.has(n) && !runtimeOnly.has(n))).toStrictEqual([])
    expect(one("EXPOSE").split(/\s+/).map((p) => p.replace(/\/tcp$/, ""))).toStrictEqual([imageEnv[serveEnv.port]])
    expect(execForm(one("VOLUME"))).toStrictEqual([imageEnv[serveEnv["data-dir"]]])
    // The compose members agree with the image on the port and the data directory.
    for (const [name, member] of members) {
      expect(envOf(member)[serveEnv.port], name).toBe(imageEnv[serveEnv.port])
      expect(envOf(member)[serveEnv["data-dir"]], name).toBe(imageEnv[serveEnv["data-dir"]])
    }
  })

  it("copies sources that exist and that .dockerignore lets through, or an earlier stage's files", () => {
    const ignored = readFileSync(join(root, ".dockerignore"), "utf8").split("\n").map((l) => l.trim()).filter((l) => l !== "" && !l.startsWith("#"))
    for (const [i, stage] of stages.entries()) {
      for (const c of stage.instructions.filter((x) => x.keyword === "COPY").map((x) => copyArgs(x.args))) {
        if (c.from !== undefined) {
          const source = stages.slice(0, i).find((s) => s.name === c.from)
          expect(source, `COPY --from=${c.from}`).toBeDefined()
          for (const s of c.sources) expect(s.startsWith(`${workdirOf(source!)}/`) || isAbsolute(s)).toBe(true)
          continue
        }
        for (const s of c.sources) {
          expect(existsSync(join(root, s)), `COPY ${s}`).toBe(true)
          expect(ignored.filter((p) => p === s || p === `${s}/` || s.startsWith(`${p}/`)), `.dockerignore ${s}`).toStrictEqual([])
        }
      }
    }
  })
})

// ---------------------------------------------------------------------------------------------
// The runtime stage, for real.

const run = (command: string, args: ReadonlyArray<string>, options: { cwd: string; env: NodeJS.ProcessEnv; timeoutMs: number }) =>
  new Promise<{ code: number | null; stdout: string; stderr: string }>((done) => {
    execFile(command, [...args], { cwd: options.cwd, env: options.env, timeout: options.timeoutMs, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      done({ code: error === null ? 0 : typeof error.code === "number" ? error.code : null, stdout, stderr })
    })
  })

/** Every file under a directory (relative paths), for "wrote nothing there". */
const tree = (dir: string): Array<string> =>
  readdirSync(dir, { recursive: true, withFileTypes: true }).map((e) => relative(dir, join(e.parentPath, e.name))).sort()

/** The environment without any setting serve reads from the developer's shell. */
const cleanEnv = (): NodeJS.ProcessEnv => {
  const env = { ...process.env }
  for (const name of [...serveReads, "NODE_OPTIONS", "NODE_ENV"]) delete env[name]
  // npm and the CLI under the Node that runs the tests (24), as in the image.
  env["PATH"] = `${dirname(process.execPath)}:${env["PATH"] ?? ""}`
  return env
}

/** The build: each stage's WORKDIR is a directory under `base`; COPY and RUN as the Dockerfile says. */
const build = async (base: string): Promise<{ readonly app: string; readonly npmOutput: string }> => {
  const dirs = new Map<string, string>()
  let npmOutput = ""
  for (const stage of stages) {
    const dir = join(base, stage.name)
    mkdirSync(dir, { recursive: true })
    dirs.set(stage.name, dir)
    const workdir = workdirOf(stage)
    for (const { keyword, args } of stage.instructions) {
      if (keyword === "COPY") {
        const c = copyArgs(args)
        for (const s of c.sources) {
          const from = c.from === undefined
            ? join(root, s)
            : join(dirs.get(c.from)!, posix.relative(workdirOf(stages.find((x) => x.name === c.from)!), s))
          const to = c.dest.endsWith("/") ? join(dir, c.dest, posix.basename(s)) : join(dir, c.dest)
          cpSync(from, to, { recursive: true })
        }
      } else if (keyword === "RUN" && /^npm\s/.test(args)) {
        // The deps stage's install (and what follows it in the same RUN), exactly as written, by the shell as Docker runs it.
        const result = await run("/bin/sh", ["-c", args], { cwd: dir, env: cleanEnv(), timeoutMs: 240_000 })
        npmOutput += result.stdout + result.stderr
        if (result.code !== 0) throw new Error(`RUN ${args} failed (${result.code}):\n${npmOutput}`)
      } else if (keyword === "RUN") {
        // Only the data directory's creation, which the test does itself.
        expect(args).toMatch(/^mkdir -p \S+ && chown \S+ \S+$/)
      }
    }
    expect(workdir).toBe("/app")
  }
  return { app: dirs.get(runtime.name)!, npmOutput }
}

/** Start ENTRYPOINT + CMD in `app` with the image's ENV over `env`. */
const startImage = (app: string, env: Record<string, string>) => {
  const [, script] = entrypoint
  const child = spawn(process.execPath, [script as string, ...cmd], {
    cwd: app,
    env: { ...cleanEnv(), ...imageEnv, ...env },
    stdio: ["ignore", "pipe", "pipe"]
  })
  let output = ""
  child.stdout.setEncoding("utf8").on("data", (d: string) => (output += d))
  child.stderr.setEncoding("utf8").on("data", (d: string) => (output += d))
  const exited = new Promise<number | null>((r) => child.on("close", (code) => r(code)))
  const stop = async (): Promise<number | null> => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM")
    const timer = setTimeout(() => child.kill("SIGKILL"), 20_000)
    const code = await exited
    clearTimeout(timer)
    return code
  }
  return { child, output: () => output, exited, stop }
}

describe("infra/Dockerfile's runtime stage, simulated with the production dependencies", () => {
  let base = ""
  let app = ""
  beforeAll(async () => {
    base = tempDir("causeway-image-")
    // Nothing above the copy may lend it a node_modules.
    for (let d = dirname(base); d !== dirname(d); d = dirname(d)) expect(existsSync(join(d, "node_modules")), d).toBe(false)
    ;({ app } = await build(base))
  }, 300_000)

  it("installs exactly the lock file's production packages and esbuild's binary for this platform: no devDependency, no other optional one", () => {
    const lock = JSON.parse(readFileSync(join(root, "package-lock.json"), "utf8")) as {
      readonly packages: Record<string, { readonly dev?: boolean; readonly optional?: boolean; readonly devOptional?: boolean; readonly link?: boolean }>
    }
    const entries = Object.entries(lock.packages).filter(([path, p]) => path.startsWith("node_modules/") && p.link !== true)
    // esbuild's binary for this platform (an optional dependency of esbuild) bundles the dashboard at start.
    const esbuildBinary = `node_modules/@esbuild/${process.platform}-${process.arch}`
    const kept = ([path, p]: (typeof entries)[number]) =>
      (p.dev !== true && p.optional !== true && p.devOptional !== true) || (path === esbuildBinary && p.dev !== true)
    const production = entries.filter(kept).map(([path]) => path)
    const omitted = entries.filter((e) => !kept(e)).map(([path]) => path)
    expect(production).toContain(esbuildBinary)
    expect(production.length).toBeGreaterThan(0)
    expect(production.filter((path) => !existsSync(join(app, path, "package.json")))).toStrictEqual([])
    expect(omitted.filter((path) => existsSync(join(app, path)))).toStrictEqual([])
    // Among them every direct dependency, and none of the direct devDependencies only tests need.
    const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as Record<string, Record<string, string>>
    for (const name of Object.keys(pkg["dependencies"] ?? {})) expect(production, name).toContain(`node_modules/${name}`)
    for (const name of ["vitest", "typescript", "node", "yaml", "@testcontainers/kafka", "@foundry-rs/anvil-linux-amd64"]) {
      expect(existsSync(join(app, "node_modules", name)), name).toBe(false)
    }
    expect(readdirSync(app).sort()).toStrictEqual(["node_modules", "package.json", "src", "web"])
  })

  it("serves /healthz and /readyz on PORT, passes both HEALTHCHECKs, writes only to DATA_DIR, exits 0 on SIGTERM", async () => {
    const dataDir = join(base, "data")
    mkdirSync(dataDir)
    const port = await closedPort()
    const before = tree(app)
    const server = startImage(app, { [serveEnv["data-dir"]]: dataDir, [serveEnv.port]: String(port), [serveEnv.host]: "127.0.0.1" })
    try {
      const url = `http://127.0.0.1:${port}`
      const probe = (path: string) => getJson(`${url}${path}`).catch((e: unknown) => ({ status: 0, body: String(e) }))
      await eventually(() => probe("/readyz"), (r) => r.status === 200 || server.child.exitCode !== null, 60_000)
      expect(server.child.exitCode, server.output()).toBe(null)
      expect(await probe("/healthz")).toStrictEqual({ status: 200, body: { status: "ok" } })
      expect(await probe("/readyz")).toStrictEqual({ status: 200, body: { ready: true } })
      // A path it does not serve is not 200: the probes below could fail.
      expect((await probe("/nope")).status).toBe(404)
      // The dashboard: its page, and its script bundled by esbuild at start (503 if it could not be).
      for (const [path, type] of [["/", "text/html"], ["/dashboard.js", "text/javascript"]] as const) {
        const r = await fetch(`${url}${path}`)
        expect(r.status, `${path}: ${server.output()}`).toBe(200)
        expect(r.headers.get("content-type"), path).toContain(type)
        expect((await r.text()).length, path).toBeGreaterThan(100)
      }

      // The image's HEALTHCHECK as written (it reads PORT).
      expect(healthcheck[0]).toBe("node")
      const imageCheck = await run(process.execPath, healthcheck.slice(1), { cwd: app, env: { ...cleanEnv(), [serveEnv.port]: String(port) }, timeoutMs: 10_000 })
      expect(imageCheck.code, imageCheck.stderr).toBe(0)
      // The compose members', on their configured port (checked equal to PORT above) mapped to this one.
      const composeCheck = causeway.healthcheck?.test ?? []
      expect(composeCheck.slice(0, 3)).toStrictEqual(["CMD", "node", "-e"])
      expect(composeCheck.length).toBe(4)
      const composePort = causewayEnv[serveEnv.port] as string
      const script = composeCheck[3] as string
      expect(script).toMatch(new RegExp(`http://127\\.0\\.0\\.1:${composePort}/(healthz|readyz)'`))
      const local = script.replace(`127.0.0.1:${composePort}/`, `127.0.0.1:${port}/`)
      const composeResult = await run(process.execPath, ["-e", local], { cwd: app, env: cleanEnv(), timeoutMs: 10_000 })
      expect(composeResult.code, composeResult.stderr).toBe(0)
      const broken = await run(process.execPath, ["-e", local.replace(/\/(healthz|readyz)'/, "/nope'")], { cwd: app, env: cleanEnv(), timeoutMs: 10_000 })
      expect(broken.code).toBe(1)

      const code = await server.stop()
      expect(code, server.output()).toBe(0)
      expect(server.output()).toContain("causeway shutting down")
      expect(tree(app)).toStrictEqual(before)
      expect(readdirSync(dataDir).length).toBeGreaterThan(0)
    } finally {
      await server.stop()
    }
  }, 120_000)

  describe("with a compose member's Kafka settings, against the librdkafka mock cluster", () => {
    if ("skipped" in choice) {
      it.skip(`skipped: ${choice.skipped}`, () => {})
      return
    }
    const { broker } = choice
    afterAll(() => broker.stop())

    it("becomes ready (/readyz 200) and puts its index in DATA_DIR", async () => {
      const prefix = freshPrefix("image")
      await broker.createTopics(prefix, 3)
      const dataDir = join(base, "data-kafka")
      mkdirSync(dataDir)
      const port = await closedPort()
      const env = Object.fromEntries(Object.entries(causewayEnv).filter(([k]) => k !== serveEnv.host && k !== serveEnv.port && k !== serveEnv["data-dir"]))
      const server = startImage(app, {
        ...env,
        [serveEnv.brokers]: broker.brokers.join(","),
        [serveEnv["topic-prefix"]]: prefix,
        [serveEnv["data-dir"]]: dataDir,
        [serveEnv.port]: String(port),
        [serveEnv.host]: "127.0.0.1"
      })
      try {
        const probe = () => getJson(`http://127.0.0.1:${port}/readyz`).catch((e: unknown) => ({ status: 0, body: String(e) }))
        const ready = await eventually(probe, (r) => r.status === 200 || server.child.exitCode !== null, 60_000)
        expect(ready.status, server.output()).toBe(200)
        expect(server.output()).toContain("causeway serving")
        // The index went to its default place, the data directory (not the read-only /app).
        expect(existsSync(join(dataDir, "kafka-index.sqlite")), server.output()).toBe(true)
        expect(await server.stop(), server.output()).toBe(0)
      } finally {
        await server.stop()
      }
    }, 120_000)
  })

  afterAll(() => {
    if (base !== "" && statSync(base, { throwIfNoEntry: false }) !== undefined) rmSync(base, { recursive: true, force: true })
  })
})
