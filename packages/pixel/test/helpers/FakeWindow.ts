/**
 * A minimal fake browser window for running the tag in Node: a cookie jar, localStorage, location and history,
 * event listeners, manual timers, and recorders for `sendBeacon`, `fetch` and `new Image().src`.
 */
import { Either } from "effect"
import * as WireFormat from "../../src/WireFormat.js"

export interface FakeWindowOptions {
  readonly href?: string
  readonly referrer?: string
  readonly gpc?: boolean
  readonly navigatorDnt?: string
  readonly windowDnt?: string
  readonly cookie?: string
  readonly localStorage?: Record<string, string> | "throws"
  /** What `navigator.sendBeacon` does: queue the body (default), refuse it, throw, or not exist. */
  readonly beacon?: "accept" | "refuse" | "throws" | "missing"
  /** What `fetch` does: resolve (default), reject, or not exist. */
  readonly fetch?: "ok" | "reject" | "missing"
  /** The page's IAB TCF v2 CMP API (`window.__tcfapi`), e.g. a `stubCmp().api`. */
  readonly tcfapi?: unknown
}

/** The `tcData` an IAB TCF v2 CMP passes to `addEventListener` callbacks (the fields the tag reads, and more). */
export interface TcData {
  readonly tcString?: unknown
  readonly eventStatus?: string
  readonly cmpStatus?: string
  readonly gdprApplies?: boolean
  readonly listenerId?: number
  readonly purpose?: {
    readonly consents: Record<number, boolean>
    readonly legitimateInterests: Record<number, boolean>
  }
  readonly vendor?: {
    readonly consents: Record<number, boolean>
    readonly legitimateInterests: Record<number, boolean>
  }
}

/**
 * TC strings built with the IAB reference encoder (@iabtcf/core, core segment, CMP 31, policy version 5), for
 * vendor 1000: consent to purposes 2, 3, 4 and 7 but not 1, and to purposes 1, 2, 3, 4 and 7. The tag forwards
 * them untouched; only the server decodes them.
 */
export const TC_STRINGS = {
  purpose1Denied: "CQgaI1AQgdbxAAfAHBDECWFgAHIAAAAAAAYgH0QAQH0AAAAA",
  purpose1Granted: "CQgaI1AQgdbxAAfAHBDECWFgAPIAAAAAAAYgH0QAQH0AAAAA"
} as const

/** The vendor id the TC strings above consent to. */
export const VENDOR_ID = 1000

/**
 * A stub IAB TCF v2 CMP. `addEventListener` registers the tag's callback; `answer(data, ok?)` calls every
 * registered callback (as a CMP does when it has loaded consent or the visitor made a choice). With `throws`,
 * every call throws, like a broken CMP.
 */
export const stubCmp = (options: { readonly throws?: boolean; readonly initial?: TcData } = {}) => {
  const listeners: Array<(data: unknown, ok: boolean) => void> = []
  const calls: Array<{ command: string; version: unknown }> = []
  const api = (command: string, version: unknown, callback: (data: unknown, ok: boolean) => void) => {
    calls.push({ command, version })
    if (options.throws) throw new Error("CMP not ready")
    if (command === "addEventListener") {
      listeners.push(callback)
      if (options.initial) callback({ listenerId: listeners.length, ...options.initial }, true)
    }
  }
  return {
    api,
    calls,
    listeners,
    answer: (data: unknown, ok = true) => {
      for (const listener of listeners) listener(data, ok)
    }
  }
}

/** TCF data as a loaded CMP reports it: GDPR applies, and `consents` lists the purposes and vendors consented. */
export const tcData = (
  consents: { readonly purposes?: ReadonlyArray<number>; readonly vendors?: ReadonlyArray<number> } = {},
  overrides: Partial<TcData> = {}
): TcData => {
  const flags = (ids: ReadonlyArray<number> = []) => Object.fromEntries(ids.map((id) => [id, true]))
  return {
    tcString: consents.purposes?.includes(1) ? TC_STRINGS.purpose1Granted : TC_STRINGS.purpose1Denied,
    eventStatus: "tcloaded",
    cmpStatus: "loaded",
    gdprApplies: true,
    purpose: { consents: flags(consents.purposes), legitimateInterests: {} },
    vendor: { consents: flags(consents.vendors), legitimateInterests: {} },
    ...overrides
  }
}

export interface Listener {
  readonly type: string
  readonly f: (event: any) => void
  readonly options: unknown
}

export interface FakeElement {
  readonly label: string | null
  readonly dataset: Record<string, string>
  closest(selector: string): FakeElement | null
  getAttribute(name: string): string | null
}

/** An element whose nearest `[data-oa-label]` ancestor carries `label` (or none when `label` is null). */
export const element = (label: string | null): FakeElement => {
  const self: FakeElement = {
    label,
    dataset: label === null ? {} : { oaLabel: label },
    closest: (selector) => (selector === "[data-oa-label]" && label !== null ? self : null),
    getAttribute: (name) => (name === "data-oa-label" ? label : null)
  }
  return self
}

export const makeWindow = (options: FakeWindowOptions = {}) => {
  const jar = new Map<string, string>()
  const cookieWrites: Array<string> = []
  for (const part of (options.cookie ?? "").split("; ")) {
    const eq = part.indexOf("=")
    if (eq > 0) jar.set(part.slice(0, eq), part.slice(eq + 1))
  }
  const storage = new Map<string, string>(
    options.localStorage === "throws" ? [] : Object.entries(options.localStorage ?? {})
  )
  const windowListeners: Array<Listener> = []
  const documentListeners: Array<Listener> = []
  const beacons: Array<{ url: string; body: string }> = []
  const fetches: Array<{ url: string; init: any }> = []
  const images: Array<string> = []
  let timers: Array<{ id: number; f: () => void; ms: number }> = []
  let nextTimer = 1
  const location = { href: options.href ?? "https://shop.example/", protocol: "" }
  const setHref = (href: string) => {
    location.href = new URL(href, location.href).href
    location.protocol = new URL(location.href).protocol
  }
  setHref(location.href)

  const document = {
    referrer: options.referrer ?? "",
    visibilityState: "visible",
    get hidden(): boolean {
      return this.visibilityState === "hidden"
    },
    documentElement: { scrollHeight: 2000 },
    get cookie(): string {
      return [...jar].map(([k, v]) => `${k}=${v}`).join("; ")
    },
    set cookie(value: string) {
      cookieWrites.push(value)
      const first = value.split(";")[0]!
      const eq = first.indexOf("=")
      // As browsers do: max-age=0 (or negative) deletes the cookie.
      if (/;\s*max-age=(0|-\d+)(;|$)/i.test(value)) jar.delete(first.slice(0, eq))
      else jar.set(first.slice(0, eq), first.slice(eq + 1))
    },
    addEventListener: (type: string, f: (event: any) => void, options?: unknown) =>
      documentListeners.push({ type, f, options })
  }

  const navigator: Record<string, unknown> = {}
  if (options.gpc !== undefined) navigator.globalPrivacyControl = options.gpc
  if (options.navigatorDnt !== undefined) navigator.doNotTrack = options.navigatorDnt
  if (options.beacon !== "missing") {
    navigator.sendBeacon = (url: string, body: string) => {
      if (options.beacon === "throws") throw new TypeError("beacon failed")
      if (options.beacon === "refuse") return false
      beacons.push({ url, body })
      return true
    }
  }

  const history = {
    length: 1,
    pushState: (_state: unknown, _title: string, url?: string) => {
      if (url !== undefined) setHref(url)
    },
    replaceState: (_state: unknown, _title: string, url?: string) => {
      if (url !== undefined) setHref(url)
    }
  }

  const win: Record<string, any> = {
    document,
    navigator,
    location,
    history,
    crypto: globalThis.crypto,
    innerWidth: 1000,
    innerHeight: 800,
    scrollY: 0,
    setTimeout: (f: (...args: Array<unknown>) => void, ms = 0, ...args: Array<unknown>) => {
      const id = nextTimer++
      timers.push({ id, f: () => f(...args), ms })
      return id
    },
    clearTimeout: (id: number) => {
      timers = timers.filter((timer) => timer.id !== id)
    },
    Image: class {
      set src(value: string) {
        images.push(value)
      }
    },
    addEventListener: (type: string, f: (event: any) => void, options?: unknown) =>
      windowListeners.push({ type, f, options })
  }
  if (options.windowDnt !== undefined) win.doNotTrack = options.windowDnt
  if (options.tcfapi !== undefined) win.__tcfapi = options.tcfapi
  if (options.localStorage === "throws") {
    Object.defineProperty(win, "localStorage", {
      get() {
        throw new Error("SecurityError: storage is disabled")
      }
    })
  } else {
    win.localStorage = {
      getItem: (key: string) => storage.get(key) ?? null,
      setItem: (key: string, value: string) => void storage.set(key, value)
    }
  }
  if (options.fetch !== "missing") {
    win.fetch = (url: string, init: any) => {
      fetches.push({ url, init })
      return options.fetch === "reject" ? Promise.reject(new TypeError("network")) : Promise.resolve({ ok: true })
    }
  }

  const fire = (listeners: Array<Listener>, type: string, event: unknown = {}) => {
    for (const listener of listeners) if (listener.type === type) listener.f(event)
  }

  return {
    window: win,
    jar,
    cookieWrites,
    storage,
    beacons,
    fetches,
    images,
    windowListeners,
    documentListeners,
    /** The number of pending timers. */
    pendingTimers: () => timers.length,
    /** The delays (ms) of the pending timers. */
    timerDelays: () => timers.map((timer) => timer.ms),
    /** Runs the pending timers (in the order they were set), or only those set with a delay of at most `ms`. */
    runTimers: (ms = Number.POSITIVE_INFINITY) => {
      const due = timers.filter((timer) => timer.ms <= ms)
      timers = timers.filter((timer) => timer.ms > ms)
      for (const timer of due) timer.f()
    },
    /** Navigates within the page as a router would, then fires `popstate`. */
    popTo: (href: string) => {
      setHref(href)
      fire(windowListeners, "popstate")
    },
    hide: () => {
      document.visibilityState = "hidden"
      fire(documentListeners, "visibilitychange")
    },
    pagehide: () => fire(windowListeners, "pagehide"),
    click: (target: unknown, clientX: number, clientY: number) =>
      fire(documentListeners, "click", { target, clientX, clientY }),
    scrollTo: (y: number) => {
      win.scrollY = y
      fire(windowListeners, "scroll")
    },
    /** Every event sent by beacon, decoded with the Node-side decoder (failing on any bad line). */
    sentEvents: () =>
      beacons.flatMap(({ body }) => {
        const batch = WireFormat.decodeBatch(body)
        if (Either.isLeft(batch)) throw new Error(batch.left.message)
        return batch.right.map((line) => {
          if (Either.isLeft(line)) throw new Error(line.left.message)
          return line.right
        })
      })
  }
}

export type FakeWindow = ReturnType<typeof makeWindow>
