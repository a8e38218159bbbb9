/**
 * Merkle-Patricia proof verifications per second: causeway's verifier against
 * @ethereumjs/mpt's `verifyMerkleProof`, on the same account-style proofs, in the same run.
 *
 * The trie is a state-trie look-alike: N accounts keyed by keccak256(address), each value an
 * RLP account [nonce, balance, storageRoot, codeHash]; at 100k accounts proofs are 4-8 nodes
 * (mostly 6, ~2.2 KB), hashed nodes of real size. Hashing is ~95% of causeway's time here.
 * Both sides start from the address and hash it themselves. Rounds alternate between the two
 * so drift (turbo, GC, other load) hits both alike; the ratio uses the summed counts.
 *
 * Run: npm run bench:mpt  [-- --accounts 100000 --proofs 1024 --rounds 6 --round-ms 1000]
 * The last line is one JSON object: {"perSec":…,"peerPerSec":…,"ratio":…}.
 */
import { verifyMerkleProof } from "@ethereumjs/mpt"
import { keccak_256 } from "@noble/hashes/sha3.js"
import { Option, Result } from "effect"
import { verifyMerklePatriciaProof } from "../src/domain/verify/MerklePatricia.ts"
import { MerklePatriciaTrie } from "../src/domain/verify/MerklePatriciaTrie.ts"
import { encodeRlp, scalarToBytes } from "../src/domain/verify/Rlp.ts"

const arg = (name: string, fallback: number): number => {
  const i = process.argv.indexOf(`--${name}`)
  const v = i >= 0 ? Number(process.argv[i + 1]) : Number.NaN
  return Number.isFinite(v) && v > 0 ? v : fallback
}
const ACCOUNTS = arg("accounts", 100_000)
const PROOFS = arg("proofs", 1024)
const ROUNDS = arg("rounds", 6)
const ROUND_MS = arg("round-ms", 1000)

// Deterministic pseudo-random bytes (xorshift32): the same trie every run.
let seed = 0x9e3779b9
const randomBytes = (n: number): Uint8Array => {
  const out = new Uint8Array(n)
  for (let i = 0; i < n; i++) {
    seed ^= seed << 13
    seed ^= seed >>> 17
    seed ^= seed << 5
    out[i] = seed & 0xff
  }
  return out
}
const randomBigInt = (bytes: number): bigint => {
  let v = 0n
  for (const b of randomBytes(bytes)) v = (v << 8n) | BigInt(b)
  return v
}

const EMPTY_CODE = keccak_256(new Uint8Array())
const EMPTY_ROOT = MerklePatriciaTrie.empty.rootHash()

let t0 = performance.now()
let trie = MerklePatriciaTrie.empty
const addresses: Array<Uint8Array> = []
for (let i = 0; i < ACCOUNTS; i++) {
  const address = randomBytes(20)
  addresses.push(address)
  const contract = i % 5 === 0
  const account = encodeRlp([
    scalarToBytes(randomBigInt(2)),
    scalarToBytes(randomBigInt(9)),
    contract ? randomBytes(32) : EMPTY_ROOT,
    contract ? randomBytes(32) : EMPTY_CODE
  ])
  trie = trie.set(keccak_256(address), account)
}
const root = trie.rootHash()
console.log(`built ${ACCOUNTS} accounts in ${(performance.now() - t0).toFixed(0)} ms`)

// Mostly present accounts, one in eight absent (exclusion proofs), as a light client sees.
t0 = performance.now()
const cases: Array<{ readonly address: Uint8Array; readonly proof: ReadonlyArray<Uint8Array> }> = []
for (let i = 0; i < PROOFS; i++) {
  const address = i % 8 === 7 ? randomBytes(20) : (addresses[Math.floor((i * ACCOUNTS) / PROOFS)] ?? randomBytes(20))
  cases.push({ address, proof: trie.prove(keccak_256(address)) })
}
const depths = new Map<number, number>()
for (const c of cases) depths.set(c.proof.length, (depths.get(c.proof.length) ?? 0) + 1)
const bytes = cases.reduce((n, c) => n + c.proof.reduce((m, node) => m + node.length, 0), 0)
console.log(
  `${PROOFS} proofs in ${(performance.now() - t0).toFixed(0)} ms; nodes per proof ${[...depths].sort((a, b) => a[0] - b[0]).map(([d, n]) => `${d}:${n}`).join(" ")}; ${(bytes / PROOFS).toFixed(0)} bytes per proof`
)

const ours = (c: (typeof cases)[number]): Uint8Array | null => {
  const r = verifyMerklePatriciaProof(root, keccak_256(c.address), c.proof)
  if (Result.isFailure(r)) throw new Error(`ours rejected a valid proof: ${r.failure._tag}`)
  return Option.getOrNull(r.success)
}
const peer = (c: (typeof cases)[number]): Promise<Uint8Array | null> =>
  verifyMerkleProof(c.address, c.proof.slice(), { root, useKeyHashing: true })

// Same answers before anything is timed.
let present = 0
for (const c of cases) {
  const a = ours(c)
  const b = await peer(c)
  const same = a === null ? b === null : b !== null && a.length === b.length && a.every((x, i) => x === b[i])
  if (!same) throw new Error("verifiers disagree")
  if (a !== null) present++
}
console.log(`both verifiers agree on all ${PROOFS} proofs (${present} present, ${PROOFS - present} absent)`)

const runOurs = (ms: number): { n: number; ms: number } => {
  const start = performance.now()
  let n = 0
  let now = start
  while (now - start < ms) {
    for (const c of cases) ours(c)
    n += cases.length
    now = performance.now()
  }
  return { n, ms: now - start }
}
const runPeer = async (ms: number): Promise<{ n: number; ms: number }> => {
  const start = performance.now()
  let n = 0
  let now = start
  while (now - start < ms) {
    for (const c of cases) await peer(c)
    n += cases.length
    now = performance.now()
  }
  return { n, ms: now - start }
}

runOurs(ROUND_MS)
await runPeer(ROUND_MS)
const total = { ours: { n: 0, ms: 0 }, peer: { n: 0, ms: 0 } }
for (let round = 1; round <= ROUNDS; round++) {
  const a = runOurs(ROUND_MS)
  const b = await runPeer(ROUND_MS)
  total.ours.n += a.n
  total.ours.ms += a.ms
  total.peer.n += b.n
  total.peer.ms += b.ms
  console.log(`round ${round}: causeway ${((a.n / a.ms) * 1000).toFixed(0)}/s  @ethereumjs/mpt ${((b.n / b.ms) * 1000).toFixed(0)}/s`)
}
const perSec = Math.round((total.ours.n / total.ours.ms) * 1000)
const peerPerSec = Math.round((total.peer.n / total.peer.ms) * 1000)
console.log(`causeway ${perSec}/s, @ethereumjs/mpt ${peerPerSec}/s`)
console.log(JSON.stringify({ perSec, peerPerSec, ratio: Math.round((perSec / peerPerSec) * 100) / 100 }))
