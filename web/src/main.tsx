/**
 * The causeway dashboard: four views of the live service (mempool, chains, effects, cluster)
 * drawn from its HTTP API and Server-Sent Events, nothing computed that the API does not
 * say. The address holds the view (#/mempool, #/mempool/<order id>, #/chains, …); the tabs
 * follow the WAI-ARIA tabs pattern (arrow keys, Home, End), and the keys 1-4 switch views.
 */
import { render } from "preact"
import { useEffect, useState } from "preact/hooks"
import { setToken, token } from "./api.ts"
import { ChainsView } from "./ChainsView.tsx"
import { ClusterView } from "./ClusterView.tsx"
import { EffectsView } from "./EffectsView.tsx"
import { startFeed, useFeedConnected } from "./feed.ts"
import { MempoolView } from "./MempoolView.tsx"

const VIEWS = ["mempool", "chains", "effects", "cluster"] as const
type View = (typeof VIEWS)[number]

const LABELS: Record<View, string> = { mempool: "Mempool", chains: "Chains", effects: "Effects", cluster: "Cluster" }

interface Route {
  readonly view: View
  readonly arg: string
}

const parse = (hash: string): Route => {
  const [view = "", arg = ""] = hash.replace(/^#\/?/, "").split("/")
  return { view: (VIEWS as ReadonlyArray<string>).includes(view) ? (view as View) : "mempool", arg: decodeURIComponent(arg) }
}

const go = (route: Route) => {
  location.hash = `#/${route.view}${route.arg === "" ? "" : `/${encodeURIComponent(route.arg)}`}`
}

const useRoute = (): Route => {
  const [route, setRoute] = useState(parse(location.hash))
  useEffect(() => {
    const onHash = () => setRoute(parse(location.hash))
    addEventListener("hashchange", onHash)
    return () => removeEventListener("hashchange", onHash)
  }, [])
  return route
}

const useNow = (everyMs: number): number => {
  const [now, setNow] = useState(Date.now())
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), everyMs)
    return () => clearInterval(t)
  }, [everyMs])
  return now
}

const TokenForm = () => {
  const [draft, setDraft] = useState(token())
  const [saved, setSaved] = useState(token() !== "")
  return (
    <form
      class="token"
      onSubmit={(e) => {
        e.preventDefault()
        setToken(draft.trim())
        setSaved(draft.trim() !== "")
        startFeed()
      }}
    >
      <label for="token">API token</label>
      <input id="token" type="password" autocomplete="off" value={draft} onInput={(e) => setDraft(e.currentTarget.value)} placeholder="only for private reads" />
      <button type="submit">{saved ? "Update" : "Use"}</button>
    </form>
  )
}

const Tabs = (props: { readonly view: View }) => {
  const move = (e: KeyboardEvent, i: number) => {
    const to = e.key === "ArrowRight" ? (i + 1) % VIEWS.length
      : e.key === "ArrowLeft" ? (i + VIEWS.length - 1) % VIEWS.length
      : e.key === "Home" ? 0
      : e.key === "End" ? VIEWS.length - 1
      : undefined
    if (to === undefined) return
    e.preventDefault()
    go({ view: VIEWS[to] ?? "mempool", arg: "" })
    document.getElementById(`tab-${VIEWS[to]}`)?.focus()
  }
  return (
    <nav>
      <div role="tablist" aria-label="views">
        {VIEWS.map((v, i) => (
          <a
            key={v}
            id={`tab-${v}`}
            role="tab"
            href={`#/${v}`}
            aria-selected={props.view === v}
            aria-controls="view"
            tabIndex={props.view === v ? 0 : -1}
            onKeyDown={(e) => move(e, i)}
          >
            <kbd>{i + 1}</kbd> {LABELS[v]}
          </a>
        ))}
      </div>
    </nav>
  )
}

const App = () => {
  const route = useRoute()
  const now = useNow(500)
  const connected = useFeedConnected()
  useEffect(() => {
    startFeed()
    const onKey = (e: KeyboardEvent) => {
      const target = e.target as HTMLElement | null
      if (e.altKey || e.ctrlKey || e.metaKey || target?.closest("input, textarea, select") != null) return
      const i = Number(e.key) - 1
      const v = VIEWS[i]
      if (v !== undefined) {
        go({ view: v, arg: "" })
        document.getElementById(`tab-${v}`)?.focus()
      }
    }
    addEventListener("keydown", onKey)
    return () => removeEventListener("keydown", onKey)
  }, [])
  return (
    <>
      <header>
        <h1>causeway</h1>
        <Tabs view={route.view} />
        <span class={`live ${connected ? "on" : "off"}`} data-testid="live" role="status">{connected ? "live" : "connecting…"}</span>
        <TokenForm />
      </header>
      <main>
        <div id="view" role="tabpanel" aria-labelledby={`tab-${route.view}`} data-view={route.view}>
        {route.view === "mempool"
          ? <MempoolView now={now} orderId={route.arg} onOrderId={(id) => go({ view: "mempool", arg: id })} />
          : route.view === "chains"
          ? <ChainsView now={now} chain={route.arg} onChain={(c) => go({ view: "chains", arg: c })} />
          : route.view === "effects"
          ? <EffectsView now={now} effectId={route.arg} onEffect={(id) => go({ view: "effects", arg: id })} />
          : <ClusterView now={now} />}
        </div>
      </main>
    </>
  )
}

const root = document.getElementById("app")
if (root !== null) render(<App />, root)
