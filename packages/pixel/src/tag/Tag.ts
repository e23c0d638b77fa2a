/**
 * The browser tag, bundled by tsup into `dist/tag.js` (a minified ES2017 IIFE, budget 2,048 bytes gzipped).
 * `install` takes the window it runs in, so tests can drive it with a fake one. It replays the commands the
 * snippet queued, sends a page view on `init` and on single-page-app route changes, keeps a first-party
 * visitor id unless a privacy signal (GPC, DNT, the `_oa_optout` cookie) is set, and batches events to
 * `POST /collect` with `sendBeacon`, then `fetch` keepalive, then the GET pixel. Nothing here may throw into
 * the host page: every entry point is wrapped.
 */
import { encodeLine, HEADER, MAX_GET_URL, packBatch, TYPE_CODES } from "../internal/encode.js"

/** An event in its JSON form, as `beforeSend` sees it. */
export type TagEvent = Record<string, any>

/** The options of `oa('init', siteKey, options)`. */
export interface TagOptions {
  /** The collector's origin (and path prefix), e.g. `https://collect.example.com`; default: this origin. */
  readonly endpoint?: string
  /** Track clicks on `[data-oa-label]` elements, scroll depth and time on page. */
  readonly engagement?: boolean
  /** Send a page view on `history.pushState`/`replaceState`/`popstate` URL changes (default `true`). */
  readonly spa?: boolean
  /** Edits an event before it is queued; return `null` to drop it. */
  readonly beforeSend?: (event: TagEvent) => TagEvent | null | undefined | false
}

const VID = "_oa_vid"
/** 13 months (395 days), in seconds. */
const VID_MAX_AGE = 34128000
const MAX_QUEUE = 20
const FLUSH_MS = 1000
const MAX_URL = 2048

/** Installs the tag on `w` (the browser's `window`), replaying the commands the snippet queued in `w.oa.q`. */
export const install = (w: any): void => {
  const d = w.document
  const n = w.navigator
  const l = w.location
  const previous = w.oa || {}
  if (previous.v) return

  let site: string | undefined
  let options: TagOptions = {}
  let endpoint = ""
  let queue: Array<string> = []
  let timer: any = 0
  let visitorId: string | undefined
  let last = ""
  let start = 0
  let depth = 0
  let reported = false
  const pending: Array<ArrayLike<any>> = []

  const guard = (f: () => void): void => {
    try {
      f()
    } catch {}
  }

  const now = (): number => Date.now()

  const randomId = (): string => {
    let id = ""
    for (const b of w.crypto.getRandomValues(new Uint8Array(16))) id += (b | 256).toString(16).slice(1)
    return id
  }

  const cookie = (name: string): string | undefined => (d.cookie.match("(^|; )" + name + "=([^;]*)") || [])[2]

  // The cookie is rewritten once per page load, so it lives 13 months after the last visit.
  const visitor = (): string => {
    if (!visitorId) {
      let id = cookie(VID)
      try {
        id = id || w.localStorage.getItem(VID)
      } catch {}
      if (!/^[\da-f]{32}$/.test(id!)) id = randomId()
      d.cookie =
        VID + "=" + id + ";max-age=" + VID_MAX_AGE + ";path=/;SameSite=Lax" + (l.protocol === "https:" ? ";Secure" : "")
      try {
        w.localStorage.setItem(VID, id)
      } catch {}
      visitorId = id
    }
    return visitorId!
  }

  const pixels = (body: string): void => {
    for (const line of body.split("\n").slice(1)) {
      const src = endpoint + "/px.gif?" + HEADER + "&" + line
      if (src.length <= MAX_GET_URL) new w.Image().src = src
    }
  }

  // sendBeacon; if it refuses (over quota), fetch keepalive; if that fails too, one GET pixel per event.
  const post = (body: string): void => {
    const url = endpoint + "/collect"
    try {
      n.sendBeacon(url, body) ||
        w
          .fetch(url, { method: "POST", body, keepalive: true, mode: "no-cors", credentials: "include" })
          .catch(() => pixels(body))
    } catch {
      pixels(body)
    }
  }

  const flush = (): void => {
    w.clearTimeout(timer)
    timer = 0
    const lines = queue
    queue = []
    for (const body of packBatch(lines)) post(body)
  }

  const send = (type: string, fields?: TagEvent, url?: string): void => {
    let event: any = Object.assign(
      { id: randomId(), clientTs: now(), url: (url || l.href).slice(0, MAX_URL) },
      fields,
      {
        type,
        site
      }
    )
    const consent = {
      gpc: n.globalPrivacyControl === true,
      dnt: n.doNotTrack === "1" || w.doNotTrack === "1",
      optout: cookie("_oa_optout") === "1"
    }
    // Any privacy signal: no visitor id is created or sent; the signals go along for the server to decide.
    if (consent.gpc || consent.dnt || consent.optout) event.consent = consent
    else event.visitorId = visitor()
    if (options.beforeSend) {
      try {
        event = options.beforeSend(event)
      } catch {
        event = 0
      }
    }
    if (event) {
      queue.push(encodeLine(event))
      if (queue.length >= MAX_QUEUE) flush()
      else timer = timer || w.setTimeout(() => guard(flush), FLUSH_MS)
    }
  }

  const percent = (part: number, whole: number): number =>
    Math.max(0, Math.min(100, Math.round((part / whole) * 100) || 0))

  const scroll = (): void => {
    depth = Math.max(depth, percent(w.scrollY + w.innerHeight, d.documentElement.scrollHeight))
  }

  // The engagement summary of the page being left: its deepest scroll and how long it was open.
  const summary = (): void => {
    if (options.engagement && !reported) {
      reported = true
      scroll()
      send("engagement", { scrollDepth: depth, timeOnPage: Math.min(864e5, now() - start) }, last)
    }
  }

  const page = (): void => {
    send("page_view", { referrer: (last || d.referrer || "").slice(0, MAX_URL) || undefined })
    last = l.href
    start = now()
    depth = 0
    reported = false
  }

  const route = (): void => {
    if (l.href !== last) {
      summary()
      page()
    }
  }

  const hide = (): void => {
    summary()
    flush()
  }

  // Adds a listener that can never throw into the page.
  const on = (target: any, type: string, f: (e: any) => unknown, capture?: unknown): void =>
    target.addEventListener(type, (e: unknown) => guard(() => f(e)), capture)

  const listen = (): void => {
    on(d, "visibilitychange", () => d.visibilityState === "hidden" && hide())
    on(w, "pagehide", hide)
    if (options.spa !== false) {
      const history = w.history
      for (const method of ["pushState", "replaceState"]) {
        const original = history[method]
        history[method] = function (this: unknown, ...args: Array<unknown>) {
          try {
            return original.apply(this, args)
          } finally {
            guard(route)
          }
        }
      }
      on(w, "popstate", route)
    }
    if (options.engagement) {
      on(
        d,
        "click",
        (e) => {
          const element = e.target.closest("[data-oa-label]")
          if (element) {
            send("engagement", {
              element: element.getAttribute("data-oa-label").slice(0, 128) || undefined,
              pointerX: percent(e.clientX, w.innerWidth),
              pointerY: percent(e.clientY, w.innerHeight)
            })
          }
        },
        true
      )
      on(w, "scroll", scroll, { passive: true })
    }
  }

  const run = (args: ArrayLike<any>): void =>
    guard(() => {
      const command = args[0]
      if (command === "init") {
        if (!site && args[1]) {
          site = args[1]
          options = args[2] || {}
          endpoint = (options.endpoint || "").replace(/\/+$/, "")
          listen()
          page()
          for (const queued of pending.splice(0)) run(queued)
        }
      } else if (!site) {
        pending.push(args)
      } else if (command === "page") {
        page()
      } else if (command === "track" && typeof TYPE_CODES[args[1]] === "string") {
        send(args[1], args[2])
      }
    })

  const oa: any = (...args: Array<any>) => run(args)
  oa.v = 1
  w.oa = oa
  for (const queued of previous.q || []) run(queued)
}
