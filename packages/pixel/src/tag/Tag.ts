/**
 * The browser tag, bundled by tsup into `dist/tag.js` (a minified ES2017 IIFE, budget 2,048 bytes gzipped).
 * `install` takes the window it runs in, so tests can drive it with a fake one. It replays the commands the
 * snippet queued, sends a page view on `init` and on single-page-app route changes, keeps a first-party
 * visitor id unless a privacy signal says no (GPC, DNT, the `_oa_optout` cookie, or an IAB TCF consent that
 * is denied or not given yet), forwards the TCF string and `gdprApplies` of the page's CMP, and batches events to
 * `POST /collect` with `sendBeacon`, falling back to the GET pixel. `oa('privacy')` opens the collector's privacy
 * center for this browser by a form POST of the site key and visitor id (never in a URL). Nothing here may throw into the host page
 * (or into a CMP): every entry point is wrapped. Every byte ships to every visitor, so the code is written
 * for the minifier: see the README's size notes before adding to it.
 */
import { encodeLine, HEADER, MAX_BATCH, MAX_GET_URL, TYPE_CODES } from "../internal/encode.js"

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
  /** Our IAB TCF vendor id: without vendor consent, no visitor id (default: TCF purpose 1 alone decides). */
  readonly tcfVendorId?: number
  /** How long events wait for the TCF CMP's first answer, in ms (default 500); then they go without visitor id. */
  readonly cmpTimeout?: number
}

const VID = "_oa_vid"
/** 13 months (395 days), in seconds. */
const VID_MAX_AGE = 34128000
const MAX_QUEUE = 20
const FLUSH_MS = 1000
const MAX_URL = 2048
/** The event model's limit for a TC string. */
const MAX_CONSENT_STRING = 4096

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
  const queue: Array<TagEvent> = []
  let timer: any
  let visitorId: string | undefined
  let last = ""
  let start = 0
  let depth = 0
  const pending: Array<Array<any>> = []
  // Events wait while the TCF CMP has not answered yet; `denied`: TCF does not allow (or not yet) the visitor id.
  let waiting = 0
  let denied: unknown
  let refused: unknown
  let tcf: string | undefined
  // The CMP's `gdprApplies`, forwarded so the server applies TCF's rules whatever the visitor's location says.
  let gdpr: boolean | undefined

  // Wraps `f` so that it can never throw (into the page, a CMP, a timer).
  const safe =
    <A extends Array<any>>(f: (...args: A) => unknown) =>
    (...args: A): void => {
      try {
        f(...args)
      } catch {}
    }

  const now = (): number => Date.now()

  const randomId = (): string =>
    [...w.crypto.getRandomValues(new Uint8Array(32))].map((b: number) => (b & 15).toString(16)).join("")

  const cookie = (name: string): string | undefined => (d.cookie.match("(^|; )" + name + "=([^;]*)") || [])[2]

  // The cookie is rewritten once per page load, so it lives 13 months after the last visit. It is the only copy:
  // a visitor who deletes cookies gets a new id (nothing respawns the old one from other storage).
  const visitor = (): string => {
    let id = cookie(VID)
    if (!/^[\da-f]{32}$/.test(id!)) id = randomId()
    d.cookie =
      VID + "=" + id + ";max-age=" + VID_MAX_AGE + ";path=/;SameSite=Lax" + (l.protocol === "https:" ? ";Secure" : "")
    return id!
  }

  // The GET fallback never carries the visitor id: URLs end up in logs, histories and proxies (the event is counted
  // without an identifier instead).
  const pixels = (body: string): void => {
    for (const line of body.split("\n").slice(1)) {
      const src = endpoint + "/px.gif?" + HEADER + "&" + line.replace(/(^|&)vid=[^&]*/, "")
      if (src.length <= MAX_GET_URL) new w.Image().src = src
    }
  }

  // sendBeacon; if it refuses or is missing, one GET pixel per event. (A fetch keepalive fallback would rarely
  // help: sendBeacon refuses when the keepalive quota is used up, and fetch keepalive shares that quota.)
  const post = (body: string): void => {
    try {
      n.sendBeacon(endpoint + "/collect", body) || pixels(body)
    } catch {
      pixels(body)
    }
  }

  // Events are completed (consent, visitor id, `beforeSend`) when they are sent, not before a CMP answered.
  const flush = (): void => {
    timer = w.clearTimeout(timer)
    if (!waiting) {
      // Packs the lines into bodies within the keepalive budget (a line alone over it fails, as it must).
      let body = ""
      for (const line of queue.splice(0).map(finish)) {
        if (line) {
          if (body && body.length + line.length >= MAX_BATCH) {
            post(body)
            body = ""
          }
          body = (body || HEADER) + "\n" + line
        }
      }
      if (body) post(body)
    }
  }

  const schedule = (): void => {
    timer = timer || w.setTimeout(safe(flush), FLUSH_MS)
  }

  const send = (type: string, fields?: TagEvent, url?: string): void => {
    queue.push(
      Object.assign({ id: randomId(), clientTs: now(), url: (url || l.href).slice(0, MAX_URL) }, fields, {
        type,
        site
      })
    )
    queue.length < MAX_QUEUE ? schedule() : flush()
  }

  // The event's wire line, or nothing if it is dropped (by `beforeSend`, or because it cannot be encoded).
  const finish = (event: any): string | undefined => {
    try {
      const gpc = n.globalPrivacyControl === true
      const dnt = n.doNotTrack === "1" || w.doNotTrack === "1"
      const optout = cookie("_oa_optout") === "1"
      // Any signal against it: no visitor id is created or sent; the signals go along for the server to decide.
      const no = gpc || dnt || optout || denied
      if (no || tcf) event.consent = { gpc, dnt, optout, tcf, gdprApplies: gdpr }
      if (!no) event.visitorId = visitorId = visitorId || visitor()
      // A standing choice (not a CMP that is merely slow) also removes an id kept from before it was made, and
      // this event carries that id one last time, beside the signals: the server then ends what was built under it
      // (memberships, identified history) and nothing is sent with it again.
      else if (gpc || dnt || optout || refused) {
        const old = visitorId || cookie(VID)
        if (/^[\da-f]{32}$/.test(old!)) event.visitorId = old
        visitorId = undefined
        d.cookie = VID + "=;max-age=0;path=/"
      }
      if (options.beforeSend) event = options.beforeSend(event)
      return event && encodeLine(event)
    } catch {}
  }

  // The CMP answered, the wait is over or the page is left: the queued events may go.
  const release = (): void => {
    waiting = 0
    schedule()
  }

  // The page's IAB TCF v2 CMP (`__tcfapi`): its TC string goes with every event sent after it answered, and it
  // decides here too: where GDPR applies, no visitor id without consent to purpose 1 (storing and reading an
  // identifier) and, with `tcfVendorId`, for our vendor. Events wait for its first answer, at most `cmpTimeout`
  // (then, or when the page is left first, they go without visitor id). Later answers (the visitor changed
  // their choice) apply to the events sent after them.
  const cmp = (): void => {
    const tcfapi = w.__tcfapi
    if (tcfapi) {
      waiting = denied = 1
      w.setTimeout(safe(release), options.cmpTimeout || 500)
      safe(tcfapi)(
        "addEventListener",
        2,
        safe((data: any, ok: unknown) => {
          if (ok && /loaded|complete/.test(data.eventStatus)) {
            // Fail closed: if reading the answer throws, the visitor id stays forbidden.
            denied = 1
            tcf = (data.tcString || "").slice(0, MAX_CONSENT_STRING)
            const vendor = options.tcfVendorId
            gdpr = data.gdprApplies
            // An answer refusing it is a standing choice (a consent refused or withdrawn), like an opt-out.
            refused = denied = gdpr && !(data.purpose.consents[1] && (!vendor || data.vendor.consents[vendor]))
            release()
          }
        })
      )
    }
  }

  const percent = (part: number, whole: number): number => Math.min(100, Math.round((part / whole) * 100) || 0)

  const scroll = (): void => {
    depth = Math.max(depth, percent(w.scrollY + w.innerHeight, d.documentElement.scrollHeight))
  }

  // The engagement summary of the page being left: its deepest scroll and how long it was open.
  const summary = (): void => {
    if (options.engagement && start) {
      scroll()
      send("engagement", { scrollDepth: depth, timeOnPage: Math.min(864e5, now() - start) }, last)
      start = 0
    }
  }

  const page = (): void => {
    send("page_view", { referrer: (last || d.referrer).slice(0, MAX_URL) })
    last = l.href
    start = now()
    depth = 0
  }

  const route = (): void => {
    if (l.href !== last) {
      summary()
      page()
    }
  }

  // Leaving the page: nothing waits any longer for the CMP.
  const hide = (): void => {
    release()
    summary()
    flush()
  }

  // Adds a listener that can never throw into the page.
  const on = (target: any, type: string, f: (e: any) => unknown, capture?: unknown): void =>
    target.addEventListener(type, safe(f), capture)

  const listen = (): void => {
    on(d, "visibilitychange", () => d.hidden && hide())
    if (options.spa !== false) {
      const history = w.history
      for (const method of ["pushState", "replaceState"]) {
        const original = history[method]
        history[method] = function (this: unknown, ...args: Array<unknown>) {
          const result = original.apply(this, args)
          safe(route)()
          return result
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
              element: element.dataset.oaLabel.slice(0, 128),
              pointerX: percent(e.clientX, w.innerWidth),
              pointerY: percent(e.clientY, w.innerHeight)
            })
          }
        },
        true
      )
      on(w, "scroll", scroll)
    }
  }

  const run = safe(([command, a, b]: Array<any>) => {
    if (command === "init") {
      if (!site && a) {
        site = a
        options = b || {}
        endpoint = (options.endpoint || "").replace(/\/+$/, "")
        cmp()
        listen()
        page()
        pending.splice(0).map(run)
      }
    } else if (!site) {
      pending.push([command, a, b])
    } else if (command === "page") {
      page()
    } else if (command === "track" && typeof TYPE_CODES[a] === "string") {
      send(a, b)
    } else if (command === "privacy") {
      // A form POST, so that the visitor id never appears in a URL (logs, history, referrers). Only the id in the
      // cookie goes: the center shows what was stored under it, and without one there is nothing to show.
      const element = (tag: string, properties: object): any => Object.assign(d.createElement(tag), properties)
      const id = cookie(VID)
      const form = element("form", {
        method: "post",
        action: endpoint + "/privacy",
        hidden: 1,
        // biome-ignore lint/complexity/useOptionalChain: `?.` compiles to more bytes in the ES2017 tag
        target: a && a.newTab ? "_blank" : "",
        rel: "noopener"
      })
      form.appendChild(element("input", { name: "site", value: site }))
      if (/^[\da-f]{32}$/.test(id!)) form.appendChild(element("input", { name: "vid", value: id }))
      d.body.appendChild(form).submit()
    }
  })

  const oa: any = (...args: Array<any>) => run(args)
  oa.v = 1
  w.oa = oa
  ;(previous.q || []).map(run)
}
