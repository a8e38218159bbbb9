// Kafka transport security of `causeway serve`: the --kafka-ssl-* / --kafka-sasl-* flags and
// the KAFKA_SASL_USERNAME / KAFKA_SASL_PASSWORD variables.
//
// - `kafkaSecurityPlan` and `logConfig`: which settings add up (unit);
// - `kafkaLogOptions` / `kafkaTransport`: what the adapter is given, what the log shows (unit);
// - the real CLI: every usage error exits 2 naming its flag, no flag takes a password;
// - TLS for real: a node:tls server with certificates openssl makes here stands in for a TLS
//   listener. The serve process's kafkajs client completes a TLS handshake with it (presenting
//   its client certificate) and sends its first Kafka request (ApiVersions) inside the
//   tunnel; with another CA the handshake fails and /readyz says why; without the flags it
//   speaks plaintext, which the TLS server refuses. The server answers no Kafka request.
// - SASL against the test broker (librdkafka's mock, which offers no SASL, or real Kafka on a
//   PLAINTEXT listener): a serve process with --kafka-sasl-mechanism does not get through the
//   connection, while the same one without it becomes ready; it warns that SASL without TLS
//   travels in clear, and never prints the password.
import { execFileSync } from "node:child_process"
import { randomBytes } from "node:crypto"
import { chmodSync, readFileSync, writeFileSync } from "node:fs"
import type { AddressInfo } from "node:net"
import { join } from "node:path"
import { type TLSSocket, createServer as createTlsServer } from "node:tls"
import { Option, Redacted, Result } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type KafkaSecurityFlags, kafkaSecurityPlan, logConfig } from "../../src/cli/ServeCommand.ts"
import { kafkaLogOptions, kafkaTransport } from "../../src/main.ts"
import { freshPrefix, startBroker } from "../kafka/support/TestBroker.ts"
import { type Running, cleanup, cli, closedPort, eventually, getJson, start, tempDir } from "./support/cli.ts"

afterAll(cleanup)

const none: KafkaSecurityFlags = {
  sslCa: Option.none(),
  sslCert: Option.none(),
  sslKey: Option.none(),
  saslMechanism: Option.none(),
  saslCredentialsFile: Option.none(),
  saslUsername: Option.none(),
  saslPassword: Option.none()
}
const security = (over: Partial<KafkaSecurityFlags>): KafkaSecurityFlags => ({ ...none, ...over })
const some = Option.some
const secret = (text: string) => some(Redacted.make(text))

const failure = <A>(result: Result.Result<A, string>): string => {
  if (Result.isSuccess(result)) throw new Error(`expected a usage error, got ${JSON.stringify(result.success)}`)
  return result.failure
}

describe("kafkaSecurityPlan: which TLS and SASL settings add up", () => {
  it("nothing set: plaintext, no SASL", () => {
    expect(kafkaSecurityPlan(none)).toStrictEqual(Result.succeed({}))
  })

  it("any --kafka-ssl-* file turns TLS on; cert and key go together", () => {
    expect(kafkaSecurityPlan(security({ sslCa: some("/etc/ca.pem") }))).toStrictEqual(Result.succeed({ tls: { ca: "/etc/ca.pem" } }))
    expect(kafkaSecurityPlan(security({ sslCert: some("c.pem"), sslKey: some("k.pem") }))).toStrictEqual(Result.succeed({ tls: { cert: "c.pem", key: "k.pem" } }))
    expect(failure(kafkaSecurityPlan(security({ sslCa: some("ca.pem"), sslCert: some("c.pem") })))).toBe(
      "--kafka-ssl-cert needs --kafka-ssl-key (the client certificate's private key)"
    )
    expect(failure(kafkaSecurityPlan(security({ sslKey: some("k.pem") })))).toBe("--kafka-ssl-key needs --kafka-ssl-cert (the certificate of the client key)")
    expect(failure(kafkaSecurityPlan(security({ sslCa: some(" ") })))).toBe("--kafka-ssl-ca needs a file path")
  })

  it("a mechanism takes the credentials from the environment or from a file, not both", () => {
    const plan = kafkaSecurityPlan(security({ saslMechanism: some("SCRAM-SHA-512"), saslUsername: some("causeway"), saslPassword: secret("pw") }))
    const sasl = Result.isSuccess(plan) ? plan.success.sasl : undefined
    expect(sasl?.mechanism).toBe("scram-sha-512")
    expect(sasl?.credentials._tag === "Environment" ? [sasl.credentials.username, Redacted.value(sasl.credentials.password)] : sasl).toStrictEqual(["causeway", "pw"])
    expect(kafkaSecurityPlan(security({ saslMechanism: some("plain"), saslCredentialsFile: some("/run/secrets/kafka") }))).toStrictEqual(
      Result.succeed({ sasl: { mechanism: "plain", credentials: { _tag: "File", path: "/run/secrets/kafka" } } })
    )
    expect(failure(kafkaSecurityPlan(security({ saslMechanism: some("plain"), saslCredentialsFile: some("f"), saslUsername: some("u"), saslPassword: secret("p") })))).toBe(
      "--kafka-sasl-credentials-file and KAFKA_SASL_USERNAME/KAFKA_SASL_PASSWORD: give the credentials one way, not both"
    )
  })

  it("refuses an unknown mechanism, a mechanism without credentials, half or empty credentials, credentials without a mechanism", () => {
    expect(failure(kafkaSecurityPlan(security({ saslMechanism: some("gssapi"), saslUsername: some("u"), saslPassword: secret("p") })))).toBe(
      "--kafka-sasl-mechanism \"gssapi\" is not one of plain, scram-sha-256, scram-sha-512"
    )
    expect(failure(kafkaSecurityPlan(security({ saslMechanism: some("plain") })))).toBe(
      "--kafka-sasl-mechanism plain needs credentials: KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD in the environment, or --kafka-sasl-credentials-file"
    )
    expect(failure(kafkaSecurityPlan(security({ saslMechanism: some("plain"), saslUsername: some("u") })))).toBe("KAFKA_SASL_USERNAME needs KAFKA_SASL_PASSWORD")
    expect(failure(kafkaSecurityPlan(security({ saslMechanism: some("plain"), saslPassword: secret("p") })))).toBe("KAFKA_SASL_PASSWORD needs KAFKA_SASL_USERNAME")
    expect(failure(kafkaSecurityPlan(security({ saslMechanism: some("plain"), saslUsername: some(""), saslPassword: secret("p") })))).toBe("KAFKA_SASL_USERNAME is empty")
    expect(failure(kafkaSecurityPlan(security({ saslMechanism: some("plain"), saslUsername: some("u"), saslPassword: secret("") })))).toBe("KAFKA_SASL_PASSWORD is empty")
    expect(failure(kafkaSecurityPlan(security({ saslUsername: some("u"), saslPassword: secret("p") })))).toBe(
      "KAFKA_SASL_USERNAME, KAFKA_SASL_PASSWORD need --kafka-sasl-mechanism (plain, scram-sha-256, scram-sha-512)"
    )
    expect(failure(kafkaSecurityPlan(security({ saslCredentialsFile: some("f") })))).toBe(
      "--kafka-sasl-credentials-file needs --kafka-sasl-mechanism (plain, scram-sha-256, scram-sha-512)"
    )
  })

  it("with the embedded log every security setting is a usage error, each named", () => {
    const embedded = { log: Option.none(), brokers: Option.none(), topicPrefix: Option.none(), index: Option.none(), disconnectGraceMs: Option.none() }
    expect(logConfig({ ...embedded, security: none })).toStrictEqual(Result.succeed({ kind: "embedded" }))
    expect(failure(logConfig({ ...embedded, security: security({ sslCa: some("ca.pem") }) }))).toBe("--kafka-ssl-ca needs --log kafka")
    expect(failure(logConfig({ ...embedded, topicPrefix: some("x."), security: security({ saslMechanism: some("plain"), saslUsername: some("u"), saslPassword: secret("p") }) }))).toBe(
      "--topic-prefix, --kafka-sasl-mechanism, KAFKA_SASL_USERNAME, KAFKA_SASL_PASSWORD need --log kafka"
    )
  })
})

describe("kafkaLogOptions and kafkaTransport: what the adapter gets, what the log shows", () => {
  const log = {
    kind: "kafka",
    brokers: ["k:9093"],
    topicPrefix: "p.",
    index: ":memory:",
    tls: { ca: { path: "/ca.pem", pem: "CA PEM" }, cert: { path: "/c.pem", pem: "CERT PEM" }, key: { path: "/k.pem", pem: Redacted.make("KEY PEM") } },
    sasl: { mechanism: "scram-sha-256", username: "causeway", password: Redacted.make("hunter2"), source: "/run/secrets/kafka" }
  } as const

  it("the adapter gets the PEM text, the key and the password unwrapped", () => {
    expect(kafkaLogOptions(log, "/data")).toStrictEqual({
      brokers: ["k:9093"],
      topicPrefix: "p.",
      indexPath: ":memory:",
      ssl: { ca: "CA PEM", cert: "CERT PEM", key: "KEY PEM" },
      sasl: { mechanism: "scram-sha-256", username: "causeway", password: "hunter2" }
    })
    const plain = kafkaLogOptions({ kind: "kafka", brokers: ["k:9092"], topicPrefix: "p." }, "/data")
    expect("ssl" in plain || "sasl" in plain).toBe(false)
  })

  it("the log shows the protocol, the files and the credentials' source, never the key or the password", () => {
    const shown = kafkaTransport(log)
    expect(shown).toStrictEqual({
      brokers: "k:9093",
      protocol: "SASL_SSL",
      sslCa: "/ca.pem",
      sslCert: "/c.pem",
      sslKey: "/k.pem",
      saslMechanism: "scram-sha-256",
      saslUsername: "causeway",
      saslCredentials: "/run/secrets/kafka"
    })
    // Even printed whole, the configuration keeps its secrets.
    expect(JSON.stringify(log)).not.toMatch(/KEY PEM|hunter2/)
    expect(kafkaTransport({ kind: "kafka", brokers: ["k:9092"], topicPrefix: "p." }).protocol).toBe("PLAINTEXT")
    expect(kafkaTransport({ kind: "kafka", brokers: ["k:9092"], topicPrefix: "p.", sasl: log.sasl }).protocol).toBe("SASL_PLAINTEXT")
    expect(kafkaTransport({ kind: "kafka", brokers: ["k:9092"], topicPrefix: "p.", tls: { ca: log.tls.ca } }).protocol).toBe("SSL")
  })
})

// ---------------------------------------------------------------------------------------------
// Certificates, made by openssl for this run.

const opensslMissing = (() => {
  try {
    execFileSync("openssl", ["version"], { stdio: "pipe" })
    return undefined
  } catch (e) {
    return `openssl is not installed (${e instanceof Error ? e.message : String(e)})`
  }
})()
const requireAll = process.env["CAUSEWAY_REQUIRE_KAFKA_TESTS"] === "1"

/** A CA, a broker certificate for 127.0.0.1 and a client certificate it signed, and an unrelated CA. */
const makeCertificates = (dir: string) => {
  const openssl = (...args: Array<string>) => execFileSync("openssl", args, { cwd: dir, stdio: "pipe" })
  const ext = (name: string, text: string) => writeFileSync(join(dir, name), `${text}\n`)
  const selfSigned = (name: string, cn: string) =>
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", `${name}.key`, "-out", `${name}.pem`, "-days", "1", "-subj", `/CN=${cn}`)
  const signed = (name: string, cn: string, extensions: string) => {
    openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", `${name}.key`, "-out", `${name}.csr`, "-subj", `/CN=${cn}`)
    ext(`${name}.ext`, extensions)
    openssl("x509", "-req", "-in", `${name}.csr`, "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-out", `${name}.pem`, "-days", "1", "-extfile", `${name}.ext`)
  }
  selfSigned("ca", "causeway test CA")
  selfSigned("other-ca", "some other CA")
  signed("broker", "broker", "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth")
  signed("client", "causeway-client", "extendedKeyUsage=clientAuth")
  const file = (name: string) => join(dir, name)
  return { ca: file("ca.pem"), otherCa: file("other-ca.pem"), brokerCert: file("broker.pem"), brokerKey: file("broker.key"), clientCert: file("client.pem"), clientKey: file("client.key") }
}

/** The first Kafka request on a connection: api key and client id (the request header, v1+). */
const kafkaRequestHeader = (bytes: Buffer): { readonly apiKey: number; readonly clientId: string } | undefined => {
  if (bytes.length < 14 || bytes.length < 4 + bytes.readInt32BE(0)) return undefined
  const idLength = bytes.readInt16BE(12)
  return { apiKey: bytes.readInt16BE(4), clientId: bytes.subarray(14, 14 + idLength).toString("utf8") }
}

/** What a TLS server saw: handshakes completed (with the client's certificate), handshakes refused, first requests. */
interface Seen {
  readonly connections: number
  readonly handshakes: ReadonlyArray<{ readonly authorized: boolean; readonly clientCn: string | undefined }>
  readonly refused: ReadonlyArray<string>
  readonly requests: ReadonlyArray<{ readonly apiKey: number; readonly clientId: string }>
}

/** A TLS listener on 127.0.0.1 with the broker certificate, asking for client certificates from `ca`. It answers nothing. */
const tlsListener = async (certs: ReturnType<typeof makeCertificates>) => {
  const seen = { connections: 0, handshakes: [] as Array<Seen["handshakes"][number]>, refused: [] as Array<string>, requests: [] as Array<Seen["requests"][number]> }
  const server = createTlsServer({
    key: readFileSync(certs.brokerKey),
    cert: readFileSync(certs.brokerCert),
    ca: readFileSync(certs.ca),
    requestCert: true,
    rejectUnauthorized: false
  })
  server.on("connection", () => seen.connections++)
  server.on("secureConnection", (socket: TLSSocket) => {
    const peer = socket.getPeerCertificate()
    seen.handshakes.push({ authorized: socket.authorized, clientCn: typeof peer.subject?.CN === "string" ? peer.subject.CN : undefined })
    let bytes = Buffer.alloc(0)
    socket.on("data", (d: Buffer) => {
      bytes = Buffer.concat([bytes, d])
      const header = kafkaRequestHeader(bytes)
      if (header !== undefined) {
        seen.requests.push(header)
        socket.destroy()
      }
    })
    socket.on("error", () => undefined)
  })
  server.on("tlsClientError", (e: Error & { code?: string }) => seen.refused.push(e.code ?? e.message))
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()))
  const port = (server.address() as AddressInfo).port
  return {
    broker: `127.0.0.1:${port}`,
    seen: (): Seen => structuredClone(seen),
    close: () => new Promise<void>((r) => server.close(() => r()))
  }
}

/** `serve --log kafka` on a fixed port (the connecting stand-in answers /readyz there). */
const serveKafka = async (brokers: string, args: ReadonlyArray<string>, env: Record<string, string> = {}) => {
  const port = await closedPort()
  const running = start(["serve", "--port", String(port), "--data-dir", tempDir(), "--log", "kafka", "--brokers", brokers, "--kafka-index", "memory", ...args], { env })
  const readyz = () => getJson(`http://127.0.0.1:${port}/readyz`).catch((e: unknown) => ({ status: 0, body: { reason: String(e) } }))
  return { ...running, readyz, output: () => running.stdout() + running.stderr() }
}
type Serving = Running & { readonly readyz: () => Promise<{ readonly status: number; readonly body: any }>; readonly output: () => string }

const stopAll = async (servers: ReadonlyArray<Serving>) => {
  await Promise.all(servers.map((s) => s.stop()))
}

describe("causeway serve: security usage errors (exit 2)", () => {
  if (opensslMissing !== undefined && !requireAll) {
    it.skip(`skipped: ${opensslMissing}`, () => {})
    return
  }
  let certs: ReturnType<typeof makeCertificates>
  let dir: string
  beforeAll(() => {
    dir = tempDir("causeway-tls-")
    certs = makeCertificates(dir)
  })

  it("missing, unreadable or wrong files, and settings that do not add up, each name the flag; no flag takes a password", async () => {
    const credentials = (name: string, content: string, mode: number) => {
      const path = join(dir, name)
      writeFileSync(path, content)
      chmodSync(path, mode)
      return path
    }
    const open = credentials("open.json", JSON.stringify({ username: "u", password: "leaked-pw" }), 0o644)
    const notJson = credentials("bad.json", "username=u\npassword=leaked-pw\n", 0o600)
    const noPassword = credentials("nopw.json", JSON.stringify({ username: "u" }), 0o600)
    const kafka = ["--log", "kafka", "--brokers", "127.0.0.1:1"]
    const cases: ReadonlyArray<readonly [ReadonlyArray<string>, Record<string, string>, RegExp]> = [
      [["--kafka-ssl-ca", certs.ca], {}, /--kafka-ssl-ca needs --log kafka/],
      [[], { KAFKA_SASL_MECHANISM: "plain", KAFKA_SASL_USERNAME: "u", KAFKA_SASL_PASSWORD: "p" }, /--kafka-sasl-mechanism, KAFKA_SASL_USERNAME, KAFKA_SASL_PASSWORD need --log kafka/],
      [[...kafka, "--kafka-ssl-ca", join(dir, "absent.pem")], {}, /--kafka-ssl-ca \S*absent\.pem: cannot read it/],
      [[...kafka], { KAFKA_SSL_CA: certs.clientKey }, /--kafka-ssl-ca \S*client\.key holds no PEM certificate/],
      [[...kafka, "--kafka-ssl-cert", certs.clientCert, "--kafka-ssl-key", certs.brokerKey], {}, /--kafka-ssl-key \S*broker\.key is not the private key of --kafka-ssl-cert/],
      [[...kafka, "--kafka-ssl-cert", certs.clientCert, "--kafka-ssl-key", certs.clientCert], {}, /--kafka-ssl-key \S*client\.pem holds no unencrypted PEM private key/],
      [[...kafka, "--kafka-sasl-mechanism", "plain"], {}, /--kafka-sasl-mechanism plain needs credentials/],
      [[...kafka], { KAFKA_SASL_USERNAME: "u", KAFKA_SASL_PASSWORD: "p" }, /KAFKA_SASL_USERNAME, KAFKA_SASL_PASSWORD need --kafka-sasl-mechanism/],
      [[...kafka, "--kafka-sasl-credentials-file", noPassword], {}, /--kafka-sasl-credentials-file needs --kafka-sasl-mechanism/],
      [[...kafka, "--kafka-sasl-mechanism", "plain", "--kafka-sasl-credentials-file", join(dir, "absent.json")], {}, /--kafka-sasl-credentials-file \S*absent\.json: cannot read it/],
      [[...kafka, "--kafka-sasl-mechanism", "plain", "--kafka-sasl-credentials-file", open], {}, /--kafka-sasl-credentials-file \S*open\.json may be read by group or others \(mode 0644\)/],
      [[...kafka, "--kafka-sasl-mechanism", "plain", "--kafka-sasl-credentials-file", notJson], {}, /--kafka-sasl-credentials-file \S*bad\.json is not JSON/],
      [[...kafka, "--kafka-sasl-mechanism", "plain"], { KAFKA_SASL_CREDENTIALS_FILE: noPassword }, /--kafka-sasl-credentials-file \S*nopw\.json is not JSON/],
      [[...kafka, "--kafka-sasl-mechanism", "plain", "--kafka-sasl-password", "pw"], { KAFKA_SASL_USERNAME: "u" }, /Unrecognized flag: --kafka-sasl-password/],
      [[...kafka, "--kafka-sasl-mechanism", "plain", "--kafka-sasl-username", "u"], { KAFKA_SASL_PASSWORD: "p" }, /Unrecognized flag: --kafka-sasl-username/]
    ]
    const runs = await Promise.all(cases.map(([args, env]) => cli(["serve", "--port", "0", "--data-dir", tempDir(), ...args], { env })))
    runs.forEach((run, i) => {
      expect({ code: run.code, stderr: run.stderr }).toMatchObject({ code: 2, stderr: expect.stringMatching(cases[i]?.[2] as RegExp) })
      // A refused file's content is not echoed.
      expect(run.stdout + run.stderr).not.toContain("leaked-pw")
    })
  }, 90_000)
})

describe("causeway serve --kafka-ssl-*: the Kafka client speaks TLS", () => {
  if (opensslMissing !== undefined && !requireAll) {
    it.skip(`skipped: ${opensslMissing}`, () => {})
    return
  }
  let certs: ReturnType<typeof makeCertificates>
  beforeAll(() => {
    certs = makeCertificates(tempDir("causeway-tls-"))
  })

  it("completes a TLS handshake with the CA's broker, presents its client certificate, sends its first request inside; logs no key", async () => {
    const listener = await tlsListener(certs)
    const serve = await serveKafka(listener.broker, ["--kafka-ssl-ca", certs.ca, "--kafka-ssl-cert", certs.clientCert, "--kafka-ssl-key", certs.clientKey])
    try {
      const seen = await eventually(async () => listener.seen(), (s) => s.requests.length > 0 || serve.child.exitCode !== null, 30_000)
      expect(serve.child.exitCode, serve.output()).toBe(null)
      expect(seen.handshakes[0]).toStrictEqual({ authorized: true, clientCn: "causeway-client" })
      // kafkajs's ApiVersions request (api key 18) as client "causeway", decrypted by the server.
      expect(seen.requests[0]).toStrictEqual({ apiKey: 18, clientId: "causeway" })
      // No broker answers: not ready, saying where the connection stands.
      const readyz = await eventually(serve.readyz, (r) => r.status === 503 && /attempt \d+ failed/.test(r.body?.reason ?? ""), 20_000)
      expect(readyz.body.reason).toMatch(/^connecting to Kafka/)
      const transport = serve.output().split("\n").find((l) => l.includes("\"kafka log transport\""))
      expect(JSON.parse(transport ?? "{}").annotations).toStrictEqual({
        brokers: listener.broker,
        protocol: "SSL",
        sslCa: certs.ca,
        sslCert: certs.clientCert,
        sslKey: certs.clientKey
      })
      const keyBody = readFileSync(certs.clientKey, "utf8").split("\n").filter((l) => l !== "" && !l.startsWith("-----"))
      for (const line of keyBody) expect(serve.output()).not.toContain(line)
    } finally {
      await stopAll([serve])
      await listener.close()
    }
  }, 60_000)

  it("refuses a broker certificate its CA did not sign: no handshake, /readyz says why", async () => {
    const listener = await tlsListener(certs)
    const serve = await serveKafka(listener.broker, ["--kafka-ssl-ca", certs.otherCa])
    try {
      const readyz = await eventually(serve.readyz, (r) => r.status === 503 && /attempt \d+ failed/.test(r.body?.reason ?? ""), 30_000)
      expect(readyz.body.reason).toMatch(/certificate/)
      const seen = listener.seen()
      expect(seen.connections).toBeGreaterThan(0)
      expect(seen.handshakes).toStrictEqual([])
      expect(seen.requests).toStrictEqual([])
    } finally {
      await stopAll([serve])
      await listener.close()
    }
  }, 60_000)

  it("without the flags it speaks plaintext Kafka, which a TLS listener refuses", async () => {
    const listener = await tlsListener(certs)
    const serve = await serveKafka(listener.broker, [])
    try {
      const seen = await eventually(async () => listener.seen(), (s) => s.refused.length > 0 || serve.child.exitCode !== null, 30_000)
      expect(seen.handshakes).toStrictEqual([])
      expect(seen.refused[0]).toMatch(/WRONG_VERSION_NUMBER|HTTP_REQUEST|PACKET_LENGTH|ECONNRESET/)
    } finally {
      await stopAll([serve])
      await listener.close()
    }
  }, 60_000)
})

const choice = await startBroker()

describe("causeway serve --kafka-sasl-mechanism: the Kafka client authenticates", () => {
  if ("skipped" in choice) {
    it.skip(`skipped: ${choice.skipped}`, () => {})
    return
  }
  const { broker } = choice
  afterAll(() => broker.stop())

  it("with SASL it cannot connect to a broker that offers none, while without it connects; warns of SASL_PLAINTEXT; never prints the password", async () => {
    const prefix = freshPrefix("sasl")
    await broker.createTopics(prefix, 3)
    const password = `pw-${randomBytes(12).toString("hex")}`
    const dir = tempDir("causeway-sasl-")
    const file = join(dir, "kafka-credentials.json")
    writeFileSync(file, JSON.stringify({ username: "causeway", password }), { mode: 0o600 })
    const brokers = broker.brokers.join(",")
    const args = ["--topic-prefix", prefix]
    const servers = [
      await serveKafka(brokers, args),
      await serveKafka(brokers, [...args, "--kafka-sasl-mechanism", "plain", "--kafka-sasl-credentials-file", file]),
      await serveKafka(brokers, [...args, "--kafka-sasl-mechanism", "scram-sha-512"], { KAFKA_SASL_USERNAME: "causeway", KAFKA_SASL_PASSWORD: password })
    ] as const
    const [control, fromFile, fromEnv] = servers
    try {
      const ready = await eventually(control.readyz, (r) => r.status === 200 || control.child.exitCode !== null, 30_000)
      expect(ready.status, control.output()).toBe(200)
      for (const [serve, mechanism, source] of [[fromFile, "plain", file], [fromEnv, "scram-sha-512", "environment"]] as const) {
        const readyz = await eventually(serve.readyz, (r) => /attempt [2-9]\d* failed/.test(r.body?.reason ?? "") || serve.child.exitCode !== null, 30_000)
        expect(readyz.status, serve.output()).toBe(503)
        const lines = serve.stdout().split("\n").filter((l) => l !== "").map((l) => JSON.parse(l) as { message: string; level: string; annotations: Record<string, unknown> })
        expect(lines.find((l) => l.message === "kafka log transport")?.annotations).toStrictEqual({
          brokers,
          protocol: "SASL_PLAINTEXT",
          saslMechanism: mechanism,
          saslUsername: "causeway",
          saslCredentials: source
        })
        expect(lines.filter((l) => l.level === "WARN" && l.message.includes("SASL without TLS (SASL_PLAINTEXT)")).length).toBe(1)
        expect(serve.output()).not.toContain(password)
      }
      expect(control.output()).not.toContain("SASL")
    } finally {
      await stopAll(servers)
    }
  }, 90_000)
})
