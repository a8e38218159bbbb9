/**
 * The mempool: the open batch filling (its entries as squares, never their content, and the
 * time until it may be sealed), the sealed batches as a timeline, and one order looked up by
 * id — its lifecycle, followed live, and its signed receipt, checked here in the browser.
 */
import { useCallback, useEffect, useState } from "preact/hooks"
import { follow, getJson, reasonOf } from "./api.ts"
import { Gauge, Lifecycle } from "./Charts.tsx"
import { type Landed, useRefresh } from "./feed.ts"
import { checkReceiptText, type Verdict } from "./receipt.ts"

interface OpenEntry {
  readonly id: string
  readonly position: number
  readonly mode: string
}

interface OpenBatch {
  readonly batch: number
  readonly count: number
  readonly entries: ReadonlyArray<OpenEntry>
  readonly previousSealedAt: number | null
  readonly windowMs: number | null
  readonly sealNotBefore: number | null
  readonly offset: number
}

interface Batch {
  readonly batch: number
  readonly sealId: string
  readonly sealedAt: number
  readonly beaconRound: number | null
  readonly count: number
  readonly digest: string
}

interface Step {
  readonly status: string
  readonly offset: number
  readonly reason?: string
}

type StatusView =
  | {
    readonly kind: "order"
    readonly id: string
    readonly mode: string
    readonly status: string
    readonly batch: number
    readonly position: number
    readonly sealedAt: number | null
    readonly history: ReadonlyArray<Step>
  }
  | { readonly kind: "message"; readonly id: string; readonly type: string; readonly accepted: boolean; readonly reason: string | null; readonly target: string | null }

/** How many sealed batches the timeline shows. */
const SHOWN_BATCHES = 24

const seconds = (ms: number): string => `${(Math.max(0, ms) / 1000).toFixed(1)} s`

const OpenBatchPanel = (props: { readonly open: OpenBatch | undefined; readonly now: number; readonly onPick: (id: string) => void }) => {
  const open = props.open
  if (open === undefined) return <p class="muted">Reading the open batch…</p>
  const due = open.sealNotBefore
  const left = due === null ? null : due - props.now
  const fraction = open.windowMs === null || due === null ? 0 : 1 - Math.max(0, left ?? 0) / open.windowMs
  return (
    <div data-testid="open-batch" data-batch={open.batch} data-count={open.count}>
      <p class="big">
        Batch <strong>{open.batch}</strong> holds <strong data-testid="open-count">{open.count}</strong> {open.count === 1 ? "entry" : "entries"}
      </p>
      {open.windowMs === null
        ? <p class="muted">This instance runs no sealer: another instance seals its batches.</p>
        : due === null
        ? <p class="muted">Sealed {seconds(open.windowMs)} after the sealer first sees it hold something.</p>
        : (
          <>
            <Gauge label="batch window" fraction={fraction} text={left !== null && left > 0 ? `may be sealed in ${seconds(left)}` : "due: sealed on the sealer's next tick once it holds something"} />
            <p class="muted" data-testid="seal-due">
              {left !== null && left > 0 ? `May be sealed in ${seconds(left)}` : open.count > 0 ? "Due: sealed on the sealer's next tick" : "Window passed: sealed once it holds something"}
            </p>
          </>
        )}
      <ul class="cells" aria-label="entries of the open batch, in position order">
        {open.entries.map((e) => (
          <li key={e.id}>
            <button
              type="button"
              class={`cell mode-${e.mode}`}
              data-id={e.id}
              title={`position ${e.position}, ${e.mode}: ${e.id}`}
              aria-label={`position ${e.position}, ${e.mode} order ${e.id.slice(0, 12)}; look it up`}
              onClick={() => props.onPick(e.id)}
            />
          </li>
        ))}
      </ul>
      {open.count > open.entries.length ? <p class="muted">and {open.count - open.entries.length} more</p> : null}
      <p class="legend">
        <span class="cell mode-plain" /> plain <span class="cell mode-commit" /> commit-reveal <span class="cell mode-tlock" /> time-locked <span class="cell mode-rsw" /> RSW
      </p>
    </div>
  )
}

const SealedTimeline = (props: {
  readonly batches: ReadonlyArray<Batch>
  readonly selected: number | undefined
  readonly onSelect: (batch: number) => void
}) => {
  const shown = props.batches
  if (shown.length === 0) return <p class="muted">No batch sealed yet.</p>
  const w = 640
  const h = 120
  const slot = w / Math.max(shown.length, 8)
  const max = Math.max(1, ...shown.map((b) => b.count))
  return (
    <svg class="timeline" viewBox={`0 0 ${w} ${h + 24}`} role="group" aria-label="sealed batches, oldest left; Enter opens one">
      <line class="axis" x1="0" y1={h} x2={w} y2={h} />
      {shown.map((b, i) => {
        const bh = Math.max(3, (b.count / max) * (h - 16))
        const x = i * slot + slot * 0.15
        const select = () => props.onSelect(b.batch)
        return (
          <g
            key={b.batch}
            class={`bar${props.selected === b.batch ? " selected" : ""}`}
            data-testid={`sealed-${b.batch}`}
            // lowercase: on an SVG element the attribute's name is case-sensitive
            tabindex={0}
            role="button"
            aria-label={`batch ${b.batch}: ${b.count} entries, sealed ${new Date(b.sealedAt).toLocaleTimeString()}`}
            onClick={select}
            onKeyDown={(e) => {
              if (e.key === "Enter" || e.key === " ") {
                e.preventDefault()
                select()
              }
            }}
          >
            <title>{`batch ${b.batch}: ${b.count} entries, sealed ${new Date(b.sealedAt).toLocaleTimeString()}`}</title>
            <rect x={x} y={h - bh} width={slot * 0.7} height={bh} rx="2" />
            <text x={x + slot * 0.35} y={h + 16} text-anchor="middle">{b.batch}</text>
          </g>
        )
      })}
    </svg>
  )
}

interface Receipt {
  readonly orderId: string
  readonly position: number
}

const BatchDetail = (props: { readonly batch: Batch; readonly onPick: (id: string) => void }) => {
  const [receipts, setReceipts] = useState<ReadonlyArray<Receipt> | string | undefined>(undefined)
  useEffect(() => {
    const abort = new AbortController()
    void getJson<{ receipts: ReadonlyArray<Receipt> }>(`/v1/mempool/batches/${props.batch.batch}/receipts?limit=1000`, abort.signal).then((a) => {
      if (!abort.signal.aborted) setReceipts(a.ok ? a.body.receipts : reasonOf(a))
    })
    return () => abort.abort()
  }, [props.batch.batch])
  const b = props.batch
  return (
    <div class="detail" data-testid="batch-detail" data-batch={b.batch}>
      <h3>Batch {b.batch}</h3>
      <p class="muted">
        Sealed {new Date(b.sealedAt).toLocaleString()}
        {b.beaconRound === null ? "" : `, beacon round ${b.beaconRound}`}; {b.count} entries; digest <code>{b.digest.slice(0, 16)}…</code>
      </p>
      {typeof receipts === "string" ? <p class="error">{receipts}</p> : receipts === undefined ? <p class="muted">Reading its receipts…</p> : (
        <ol class="positions" start={0}>
          {receipts.map((r) => (
            <li key={r.orderId} value={r.position}>
              <button type="button" class="link" data-id={r.orderId} onClick={() => props.onPick(r.orderId)}>
                <code>{r.orderId}</code>
              </button>
            </li>
          ))}
        </ol>
      )}
    </div>
  )
}

const STEPS = ["committed", "sequenced", "revealed", "matched", "filled"]
const FINAL_FAILURES = new Set(["expired", "cancelled", "refused"])

const OrderLookup = (props: { readonly id: string; readonly onId: (id: string) => void; readonly trusted: ReadonlyArray<string> }) => {
  const [draft, setDraft] = useState(props.id)
  const [view, setView] = useState<StatusView | string | undefined>(undefined)
  const [receiptText, setReceiptText] = useState("")
  const [verdict, setVerdict] = useState<Verdict | undefined>(undefined)
  useEffect(() => setDraft(props.id), [props.id])

  const loadReceipt = useCallback(async (id: string, signal: AbortSignal) => {
    const r = await getJson(`/v1/mempool/orders/${id}/receipt`, signal)
    if (signal.aborted) return
    setReceiptText(r.ok ? JSON.stringify(r.body, null, 2) : "")
  }, [])

  useEffect(() => {
    setView(undefined)
    setVerdict(undefined)
    setReceiptText("")
    if (!/^[0-9a-f]{64}$/.test(props.id)) {
      if (props.id !== "") setView("an id is 64 lowercase hex digits")
      return
    }
    const abort = new AbortController()
    void getJson<StatusView>(`/v1/mempool/orders/${props.id}`, abort.signal).then((a) => {
      if (abort.signal.aborted) return
      if (!a.ok) return setView(reasonOf(a))
      setView(a.body)
      if (a.body.kind === "order") void loadReceipt(props.id, abort.signal)
      // Live: every status change until a final one.
      follow(`/v1/mempool/orders/${props.id}/events`, (e) => {
        if (e.event !== "status") return
        try {
          const next = JSON.parse(e.data) as StatusView
          setView(next)
        } catch {
          // not a status view: ignore
        }
      }, abort.signal, { once: true })
    })
    return () => abort.abort()
  }, [props.id, loadReceipt])

  const o = typeof view === "object" && view.kind === "order" ? view : undefined
  const reached = new Set(o === undefined ? [] : [...o.history.map((s) => s.status), o.status])
  if (o !== undefined && o.sealedAt !== null) reached.add("sequenced")
  const failed = o !== undefined && FINAL_FAILURES.has(o.status)
  const steps = failed && o !== undefined ? [...STEPS.filter((s) => reached.has(s)), o.status] : STEPS

  return (
    <div class="lookup">
      <form
        class="row"
        onSubmit={(e) => {
          e.preventDefault()
          props.onId(draft.trim().toLowerCase())
        }}
      >
        <label for="order-id">Order id</label>
        <input id="order-id" data-testid="order-id" value={draft} onInput={(e) => setDraft(e.currentTarget.value)} placeholder="64 hex digits" spellcheck={false} autocomplete="off" />
        <button type="submit">Look up</button>
      </form>
      {typeof view === "string" ? <p class="error" role="alert">{view}</p> : null}
      {o !== undefined
        ? (
          <div data-testid="order-view" data-status={o.status}>
            <p>
              <strong>{o.status}</strong> · {o.mode} · batch {o.batch}, position {o.position}
            </p>
            <Lifecycle steps={steps} reached={reached} current={o.status} failed={failed} />
            <ol class="history">
              {o.history.map((s) => <li key={`${s.status}-${s.offset}`}>{s.status} at log offset {s.offset}{s.reason === undefined ? "" : `: ${s.reason}`}</li>)}
            </ol>
          </div>
        )
        : null}
      {typeof view === "object" && view.kind === "message"
        ? <p data-testid="message-view">A {view.type} message, {view.accepted ? "accepted" : `refused: ${view.reason ?? ""}`}{view.target === null ? "" : ` (acts on ${view.target.slice(0, 12)}…)`}; it holds no position and has no receipt.</p>
        : null}
      <div class="receipt">
        <label for="receipt">Signed receipt (paste one, or look an order up)</label>
        <textarea id="receipt" data-testid="receipt-input" rows={11} spellcheck={false} value={receiptText} onInput={(e) => {
          setReceiptText(e.currentTarget.value)
          setVerdict(undefined)
        }} />
        <div class="row">
          <button type="button" data-testid="check-receipt" disabled={receiptText.trim() === ""} onClick={() => setVerdict(checkReceiptText(receiptText, props.trusted))}>
            Check receipt
          </button>
          {verdict === undefined ? null : <span role="status" data-testid="receipt-verdict" data-ok={String(verdict.ok)} class={verdict.ok ? "ok" : "error"}>{verdict.text}</span>}
        </div>
        <p class="muted">Checked here, in the browser, by the same code as causeway/verify's checkReceipt, against the instance's key and the cluster's members as GET /v1/instance gives them.</p>
      </div>
    </div>
  )
}

/** The mempool view. `orderId` is the order looked up (from the address). */
export const MempoolView = (props: { readonly now: number; readonly orderId: string; readonly onOrderId: (id: string) => void }) => {
  const [open, setOpen] = useState<OpenBatch | undefined>(undefined)
  const [error, setError] = useState<string | undefined>(undefined)
  const [sealed, setSealed] = useState<ReadonlyMap<number, Batch>>(new Map())
  const [selected, setSelected] = useState<number | undefined>(undefined)
  const [trusted, setTrusted] = useState<ReadonlyArray<string>>([])

  useEffect(() => {
    void getJson<{ publicKey: string; cluster: { members: ReadonlyArray<string> } }>("/v1/instance").then((a) => {
      if (a.ok) setTrusted([...new Set([a.body.publicKey, ...a.body.cluster.members])])
    })
  }, [])

  const refresh = useCallback((landed: Landed | undefined) => {
    const read = () =>
      void getJson<OpenBatch>("/v1/mempool/open").then((a) => {
        if (!a.ok) return setError(reasonOf(a))
        setError(undefined)
        setOpen(a.body)
        // The record that woke us may not be folded yet: look again shortly.
        if (landed !== undefined && a.body.offset <= landed.offset) setTimeout(read, 100)
      })
    read()
  }, [])
  useRefresh(refresh, undefined, 1000)

  // Sealed batches do not change: each is read once.
  useEffect(() => {
    if (open === undefined) return
    const wanted: Array<number> = []
    for (let n = open.batch - 1; n >= Math.max(0, open.batch - SHOWN_BATCHES); n--) if (!sealed.has(n)) wanted.push(n)
    if (wanted.length === 0) return
    void Promise.all(wanted.map((n) => getJson<Batch>(`/v1/mempool/batches/${n}`))).then((answers) => {
      setSealed((prev) => {
        const next = new Map(prev)
        for (const a of answers) if (a.ok) next.set(a.body.batch, a.body)
        return next
      })
    })
  }, [open?.batch])

  const batches = open === undefined
    ? []
    : [...sealed.values()].filter((b) => b.batch >= open.batch - SHOWN_BATCHES).sort((a, b) => a.batch - b.batch)
  const chosen = selected === undefined ? undefined : sealed.get(selected)

  return (
    <section aria-labelledby="mempool-title">
      <h2 id="mempool-title">Mempool</h2>
      {error === undefined ? null : <p class="error" role="alert">{error}</p>}
      <div class="grid">
        <article class="card">
          <h3>Open batch</h3>
          <OpenBatchPanel open={open} now={props.now} onPick={props.onOrderId} />
        </article>
        <article class="card">
          <h3>Sealed batches</h3>
          <SealedTimeline batches={batches} selected={selected} onSelect={setSelected} />
          {chosen === undefined ? null : <BatchDetail batch={chosen} onPick={props.onOrderId} />}
        </article>
        <article class="card wide">
          <h3>An order</h3>
          <OrderLookup id={props.orderId} onId={props.onOrderId} trusted={trusted} />
        </article>
      </div>
    </section>
  )
}
