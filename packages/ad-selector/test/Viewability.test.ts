import { assert, describe, it } from "@effect/vitest"
import { FastCheck as fc } from "effect"
import * as vm from "node:vm"
import ts from "typescript"
import * as Viewability from "../src/Viewability.js"

interface Sent {
  readonly via: "beacon" | "fetch" | "image"
  readonly url: string
  readonly init?: unknown
}

interface Setup {
  readonly viewableUrl?: string
  readonly rootId?: string
  readonly intersectionObserver?: boolean
  readonly sendBeacon?: "accepts" | "refuses" | "throws" | "absent"
  readonly fetch?: boolean
  readonly hidden?: boolean
  readonly elements?: Record<string, object>
}

/** Runs the ad's inline script in a fresh context with a fake browser: observer, timers, visibility, beacons. */
const browser = (setup: Setup = {}) => {
  let now = 0
  let nextTimer = 1
  const timers = new Map<number, { at: number; fn: () => void }>()
  const sent: Array<Sent> = []
  const listeners = new Set<() => void>()
  let observer:
    | { callback: (entries: Array<object>) => void; options: unknown; targets: Array<unknown>; disconnected: boolean }
    | undefined
  const body = { tag: "body" }
  const document = {
    visibilityState: setup.hidden === true ? "hidden" : "visible",
    body,
    documentElement: { tag: "html" },
    getElementById: (id: string) => setup.elements?.[id] ?? null,
    addEventListener: (type: string, fn: () => void) => {
      if (type === "visibilitychange") listeners.add(fn)
    },
    removeEventListener: (type: string, fn: () => void) => {
      if (type === "visibilitychange") listeners.delete(fn)
    }
  }
  class FakeIntersectionObserver {
    constructor(callback: (entries: Array<object>) => void, options: unknown) {
      observer = { callback, options, targets: [], disconnected: false }
    }
    observe(target: unknown) {
      observer!.targets.push(target)
    }
    disconnect() {
      observer!.disconnected = true
    }
  }
  class FakeImage {
    set src(url: string) {
      sent.push({ via: "image", url })
    }
  }
  const beacon = setup.sendBeacon ?? "accepts"
  const navigator =
    beacon === "absent"
      ? {}
      : {
          sendBeacon: (url: string) => {
            if (beacon === "throws") throw new Error("blocked")
            if (beacon === "refuses") return false
            sent.push({ via: "beacon", url })
            return true
          }
        }
  const globals: Record<string, unknown> = {
    document,
    navigator,
    Image: FakeImage,
    setTimeout: (fn: () => void, ms: number) => {
      const id = nextTimer++
      timers.set(id, { at: now + ms, fn })
      return id
    },
    clearTimeout: (id: number) => timers.delete(id)
  }
  if (setup.intersectionObserver !== false) globals.IntersectionObserver = FakeIntersectionObserver
  if (setup.fetch !== false) {
    globals.fetch = (url: string, init: unknown) => {
      sent.push({ via: "fetch", url, init })
      return Promise.resolve({})
    }
  }
  const context = vm.createContext(globals)
  vm.runInContext(
    Viewability.script({ viewableUrl: setup.viewableUrl ?? "https://ads.example/v/tok", rootId: setup.rootId }),
    context
  )
  const advance = (ms: number) => {
    const end = now + ms
    for (;;) {
      const due = [...timers.entries()]
        .filter(([, t]) => t.at <= end)
        .sort((a, b) => a[1].at - b[1].at || a[0] - b[0])[0]
      if (due === undefined) break
      timers.delete(due[0])
      now = due[1].at
      due[1].fn()
    }
    now = end
  }
  const setVisibility = (state: "visible" | "hidden") => {
    document.visibilityState = state
    for (const fn of [...listeners]) fn()
  }
  return {
    sent,
    listeners,
    observer: () => observer,
    view: (ratio: number) => observer!.callback([{ isIntersecting: ratio > 0, intersectionRatio: ratio }]),
    advance,
    hide: () => setVisibility("hidden"),
    show: () => setVisibility("visible")
  }
}

describe("Viewability script", () => {
  it("sends one beacon after 50 % in view for a continuous second, then stops watching", () => {
    const b = browser()
    assert.deepStrictEqual(b.observer()!.options, { threshold: 0.5 })
    assert.deepStrictEqual(b.observer()!.targets, [{ tag: "body" }])
    b.view(0.5)
    b.advance(999)
    assert.deepStrictEqual(b.sent, [])
    b.advance(1)
    assert.deepStrictEqual(b.sent, [{ via: "beacon", url: "https://ads.example/v/tok" }])
    assert.isTrue(b.observer()!.disconnected)
    assert.strictEqual(b.listeners.size, 0)
    b.view(0)
    b.view(1)
    b.advance(10_000)
    assert.strictEqual(b.sent.length, 1)
  })

  it("needs the second to be continuous: leaving the view starts over", () => {
    const b = browser()
    b.view(0.8)
    b.advance(600)
    b.view(0.3)
    b.view(0.9)
    b.advance(600)
    assert.deepStrictEqual(b.sent, [])
    b.view(1)
    b.advance(399)
    assert.deepStrictEqual(b.sent, [])
    b.advance(1)
    assert.strictEqual(b.sent.length, 1)
  })

  it("never counts less than half in view", () => {
    const b = browser()
    b.view(0.49)
    b.advance(60_000)
    b.view(0)
    b.advance(60_000)
    assert.deepStrictEqual(b.sent, [])
  })

  it("pauses while the page is hidden and starts the second over when it is shown", () => {
    const b = browser()
    b.view(1)
    b.advance(900)
    b.hide()
    b.advance(60_000)
    assert.deepStrictEqual(b.sent, [])
    b.show()
    b.advance(999)
    assert.deepStrictEqual(b.sent, [])
    b.advance(1)
    assert.strictEqual(b.sent.length, 1)
  })

  it("does not count an ad in view in a page loaded in a background tab until it is shown", () => {
    const b = browser({ hidden: true })
    b.view(1)
    b.advance(5000)
    assert.deepStrictEqual(b.sent, [])
    b.show()
    b.advance(1000)
    assert.strictEqual(b.sent.length, 1)
  })

  it("sends nothing and throws nothing without IntersectionObserver", () => {
    const b = browser({ intersectionObserver: false })
    b.advance(60_000)
    assert.isUndefined(b.observer())
    assert.deepStrictEqual(b.sent, [])
  })

  it("falls back to fetch keepalive without cookies, then to an image", () => {
    for (const sendBeacon of ["refuses", "throws", "absent"] as const) {
      const b = browser({ sendBeacon })
      b.view(1)
      b.advance(1000)
      assert.deepStrictEqual(b.sent, [
        {
          via: "fetch",
          url: "https://ads.example/v/tok",
          init: { method: "POST", keepalive: true, mode: "no-cors", credentials: "omit" }
        }
      ])
    }
    const b = browser({ sendBeacon: "absent", fetch: false })
    b.view(1)
    b.advance(1000)
    assert.deepStrictEqual(b.sent, [{ via: "image", url: "https://ads.example/v/tok" }])
  })

  it("watches the root element named by rootId, else the body", () => {
    const ad = { tag: "div#ad" }
    assert.deepStrictEqual(browser({ rootId: "ad", elements: { ad } }).observer()!.targets, [ad])
    assert.deepStrictEqual(browser({ rootId: "missing" }).observer()!.targets, [{ tag: "body" }])
  })

  it("is small ES2017: no syntax a 2017 browser cannot parse", () => {
    assert.isBelow(Viewability.source.length, 2000)
    const file = ts.createSourceFile("v.js", `(${Viewability.source})`, ts.ScriptTarget.ES2017, true, ts.ScriptKind.JS)
    const later: Array<string> = []
    const visit = (node: ts.Node) => {
      if (ts.isOptionalChain(node)) later.push("optional chaining")
      if (ts.isBinaryExpression(node) && node.operatorToken.kind === ts.SyntaxKind.QuestionQuestionToken)
        later.push("??")
      if (ts.isCatchClause(node) && node.variableDeclaration === undefined) later.push("catch without binding")
      if (ts.isSpreadAssignment(node)) later.push("object spread")
      if (ts.isBigIntLiteral(node)) later.push("bigint")
      if (ts.isClassDeclaration(node) || ts.isClassExpression(node)) later.push("class")
      if (ts.isNumericLiteral(node) && node.getText().includes("_")) later.push("numeric separator")
      ts.forEachChild(node, visit)
    }
    visit(file)
    assert.deepStrictEqual(later, [])
    const { diagnostics } = ts.transpileModule(`(${Viewability.source})`, {
      fileName: "v.js",
      reportDiagnostics: true,
      compilerOptions: { target: ts.ScriptTarget.ES2017, allowJs: true }
    })
    assert.deepStrictEqual(diagnostics ?? [], [])
  })
})

describe("Viewability embedding", () => {
  const hostile = fc.oneof(
    fc.string({ unit: "binary" }),
    fc.constantFrom(
      "</script><script>alert(1)</script>",
      "</SCRIPT >",
      "<!--<script>",
      "\u2028\u2029",
      '"});alert(1);//',
      "\\u003c/script>",
      "https://ads.example/v/a?b=1&c=<x>"
    )
  )

  it.prop(
    "embeds any URL so the script sees exactly it and the HTML cannot be broken",
    [hostile, fc.option(hostile, { nil: undefined })],
    ([url, rootId]) => {
      const text = Viewability.script({ viewableUrl: url, rootId })
      assert.notMatch(text, /<\/script|<!--|[\u2028\u2029]/i)
      const tag = Viewability.scriptTag({ viewableUrl: url, rootId, nonce: rootId })
      assert.strictEqual(tag.toLowerCase().indexOf("</script"), tag.length - "</script>".length)
      const b = browser({ viewableUrl: url, ...(rootId === undefined ? {} : { rootId }) })
      b.view(1)
      b.advance(1000)
      assert.deepStrictEqual(b.sent, [{ via: "beacon", url }])
    }
  )

  it.prop("jsonForScript reads back as the same value", [fc.jsonValue()], ([value]) => {
    const json = Viewability.jsonForScript(value)
    assert.notMatch(json, /[<>&\u2028\u2029]/)
    assert.deepStrictEqual(JSON.parse(json), JSON.parse(JSON.stringify(value)))
  })

  it("puts a nonce on the script element when asked, escaped", () => {
    assert.match(Viewability.scriptTag({ viewableUrl: "/v", nonce: 'n"1' }), /^<script nonce="n&quot;1">\(function/)
    assert.match(Viewability.scriptTag({ viewableUrl: "/v" }), /^<script>\(function/)
  })

  it.prop("renderedPixel escapes the URL for the attribute", [hostile], ([url]) => {
    const img = Viewability.renderedPixel(url)
    const match =
      /^<img src="([^"<>]*)" alt="" width="1" height="1" aria-hidden="true" referrerpolicy="no-referrer" style="[^"]*">$/.exec(
        img
      )
    assert.isNotNull(match)
    const unescaped = match![1]!.replace(
      /&(amp|lt|gt|quot|#39);/g,
      (_, e: string) => ({ amp: "&", lt: "<", gt: ">", quot: '"', "#39": "'" })[e]!
    )
    assert.strictEqual(unescaped, url)
  })
})
