import { assert, describe, it } from "@effect/vitest"
import { FastCheck as fc } from "effect"
import { install } from "../src/tag/Tag.js"
import { type FakeWindowOptions, makeWindow } from "./helpers/FakeWindow.js"

const ENDPOINT = "https://collect.example"
const VID = "0123456789abcdef0123456789abcdef"

interface FakeNode {
  readonly tag: string
  readonly children: Array<FakeNode>
  [property: string]: any
}

/**
 * A page whose document can create elements, and which records what a submitted form would send as a browser
 * does: its method, its action resolved against the page, its target and rel, and its controls' names and values.
 */
const page = (options: FakeWindowOptions = {}, ...commands: Array<Array<unknown>>) => {
  const fake = makeWindow(options)
  const submitted: Array<{ method: string; action: string; target: string; rel: string; body: URLSearchParams }> = []
  const node = (tag: string): FakeNode => {
    const self: FakeNode = {
      tag,
      children: [],
      appendChild: (child: FakeNode) => {
        self.children.push(child)
        return child
      },
      submit: () => {
        if (!attached.includes(self)) throw new Error("a form that is not in the document is not submitted")
        submitted.push({
          method: String(self.method).toUpperCase(),
          action: new URL(self.action, fake.window.location.href).href,
          target: self.target || "",
          rel: self.rel || "",
          body: new URLSearchParams(
            self.children.filter((c) => c.tag === "input").map((c): [string, string] => [c.name, String(c.value)])
          )
        })
      }
    }
    return self
  }
  const attached: Array<FakeNode> = []
  const document = fake.window.document as any
  document.createElement = node
  document.body = {
    appendChild: (child: FakeNode) => {
      attached.push(child)
      return child
    }
  }
  fake.window.oa = { q: commands }
  install(fake.window)
  return { ...fake, submitted, attached }
}

describe("oa('privacy')", () => {
  it("posts the site key and the visitor id of the cookie to <endpoint>/privacy, in the same tab", () => {
    const fake = page(
      { href: "https://shop.example/cart", cookie: `_oa_vid=${VID}` },
      ["init", "shop-1", { endpoint: `${ENDPOINT}/` }],
      ["privacy"]
    )
    assert.strictEqual(fake.submitted.length, 1)
    const [form] = fake.submitted
    assert.strictEqual(form!.method, "POST")
    assert.strictEqual(form!.action, `${ENDPOINT}/privacy`)
    assert.strictEqual(form!.body.toString(), `site=shop-1&vid=${VID}`)
    assert.strictEqual(form!.target, "")
    assert.isTrue(Boolean(fake.attached[0]!.hidden), "the form is not shown on the page")
  })

  it("sends no vid when the browser has no visitor id cookie", () => {
    const fake = page({ href: "https://shop.example/" }, ["privacy"], ["init", "shop-1", { endpoint: ENDPOINT }])
    assert.strictEqual(fake.submitted.length, 1, "a privacy command before init waits for it")
    assert.strictEqual(fake.submitted[0]!.body.toString(), "site=shop-1")
    assert.isFalse(fake.submitted[0]!.body.has("vid"))
  })

  it("sends no vid when the cookie holds something that is not a visitor id", () => {
    const fake = page(
      { href: "https://shop.example/", cookie: "_oa_vid=not-an-id%22%3E" },
      ["init", "shop-1", { endpoint: ENDPOINT }],
      ["privacy"]
    )
    assert.deepStrictEqual([...fake.submitted[0]!.body.keys()], ["site"])
  })

  it("posts to this origin's /privacy without an endpoint", () => {
    const fake = page({ href: "https://shop.example/a/b", cookie: `_oa_vid=${VID}` }, ["init", "s"], ["privacy"])
    assert.strictEqual(fake.submitted[0]!.action, "https://shop.example/privacy")
  })

  it("with { newTab: true }: target=_blank and rel=noopener", () => {
    const fake = page(
      { cookie: `_oa_vid=${VID}` },
      ["init", "shop-1", { endpoint: ENDPOINT }],
      ["privacy", { newTab: true }]
    )
    assert.strictEqual(fake.submitted[0]!.target, "_blank")
    assert.include(fake.submitted[0]!.rel.split(" "), "noopener")
    assert.strictEqual(fake.submitted[0]!.body.get("vid"), VID)
  })

  it("never puts an identifier in the URL, whatever the site key and cookie", () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1 }), fc.stringMatching(/^[0-9a-f]{32}$/), (site, vid) => {
        const fake = page({ cookie: `_oa_vid=${vid}` }, ["init", site, { endpoint: ENDPOINT }], ["privacy"])
        const [form] = fake.submitted
        assert.strictEqual(form!.action, `${ENDPOINT}/privacy`)
        assert.strictEqual(form!.body.get("site"), site)
        assert.strictEqual(form!.body.get("vid"), vid)
      })
    )
  })

  it("never throws into the page, even where forms cannot be created", () => {
    const fake = makeWindow({ cookie: `_oa_vid=${VID}` })
    fake.window.oa = { q: [["init", "shop-1", { endpoint: ENDPOINT }]] }
    install(fake.window)
    assert.doesNotThrow(() => fake.window.oa("privacy"))
    assert.doesNotThrow(() => fake.window.oa("privacy", { newTab: true }))
  })

  it("does not send an event or touch the visitor id cookie", () => {
    const fake = page({ cookie: `_oa_vid=${VID}` }, ["init", "shop-1", { endpoint: ENDPOINT }], ["privacy"])
    fake.runTimers()
    assert.deepStrictEqual(
      fake.sentEvents().map((e) => e.type),
      ["page_view"]
    )
    assert.strictEqual(fake.jar.get("_oa_vid"), VID)
  })
})
