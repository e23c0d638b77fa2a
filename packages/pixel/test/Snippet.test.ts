import { assert, describe, it } from "@effect/vitest"
import * as vm from "node:vm"
import * as Snippet from "../src/Snippet.js"

/** Runs the snippet's JavaScript on a fake page and returns what it did. */
const runSnippet = (js: string) => {
  const appended: Array<Record<string, unknown>> = []
  const page: Record<string, any> = {
    document: {
      createElement: (tag: string) => ({ tag }),
      head: { appendChild: (node: Record<string, unknown>) => appended.push(node) }
    }
  }
  page.window = page
  vm.runInNewContext(js, page)
  return { page, appended }
}

describe("Snippet", () => {
  it("defines a queueing oa, loads <endpoint>/tag.js async and queues init with the endpoint", () => {
    const { page, appended } = runSnippet(Snippet.snippetJs("https://collect.example/", "demo"))
    assert.strictEqual(appended.length, 1)
    assert.strictEqual(appended[0]!.tag, "script")
    assert.strictEqual(appended[0]!.src, "https://collect.example/tag.js")
    assert.strictEqual(appended[0]!.async, true)
    page.oa("track", "product_view", { productId: "SKU-1" })
    assert.deepStrictEqual(
      page.oa.q.map((args: ArrayLike<unknown>) => JSON.parse(JSON.stringify(Array.from(args)))),
      [
        ["init", "demo", { endpoint: "https://collect.example" }],
        ["track", "product_view", { productId: "SKU-1" }]
      ]
    )
  })

  it("keeps an oa function the page already defined", () => {
    const { page } = runSnippet(
      `var earlier = function(){}; window.oa = earlier; ${Snippet.snippetJs("https://c.example", "demo")}`
    )
    assert.strictEqual(page.oa, page.earlier)
  })

  it("writes snippet options into init", () => {
    const { page } = runSnippet(
      Snippet.snippetJs("https://c.example", "demo", {
        engagement: true,
        spa: false,
        tcfVendorId: 1000,
        cmpTimeout: 800
      })
    )
    assert.deepStrictEqual(JSON.parse(JSON.stringify(page.oa.q[0][2])), {
      endpoint: "https://c.example",
      engagement: true,
      spa: false,
      tcfVendorId: 1000,
      cmpTimeout: 800
    })
  })

  it("wraps the JavaScript in a script element that hostile values cannot break out of", () => {
    const html = Snippet.snippet("https://c.example/</script><script>alert(1)//", "demo\u2028")
    assert.isTrue(html.startsWith("<script>("))
    assert.isTrue(html.endsWith(");</script>"))
    assert.strictEqual(html.split("</script>").length, 2)
    assert.notInclude(html, "\u2028")
    const { appended } = runSnippet(html.slice("<script>".length, -"</script>".length))
    assert.strictEqual(appended[0]!.src, "https://c.example/</script><script>alert(1)/tag.js")
  })
})
