/**
 * The README's feed and template examples work as the README says: every product accepted, the template compiles.
 */
import { readFileSync } from "node:fs"
import { assert, describe, it } from "@effect/vitest"
import { Either } from "effect"
import { Feed, Template } from "../src/index.js"

const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8")
const block = (lang: string): string => {
  const match = new RegExp("```" + lang + "\\n([\\s\\S]*?)```").exec(readme)
  assert.isNotNull(match, `no ${lang} example in the README`)
  return match![1]!
}

describe("README examples", () => {
  it("accepts every product of the CSV and JSON examples", () => {
    for (const format of ["csv", "json"] as const) {
      const report = Either.getOrThrow(Feed.parse(block(format), { format, origins: ["https://shop.example"] }))
      assert.deepStrictEqual(report.rejected, [], format)
      assert.isAbove(report.products.length, 0, format)
    }
  })

  it("compiles the template example and tags each product", () => {
    const template = Either.getOrThrowWith(Template.compile(block("html")), (e) => new Error(e.message))
    const report = Either.getOrThrow(Feed.parse(block("csv"), { format: "csv", origins: ["https://shop.example"] }))
    const html = Template.render(
      template,
      report.products.map((product) => ({ product }))
    )
    assert.strictEqual(html.split('data-oa-product-id="').length - 1, report.products.length)
    assert.include(html, 'href="https://shop.example/p/1?utm_content=SKU-1"')
  })
})
