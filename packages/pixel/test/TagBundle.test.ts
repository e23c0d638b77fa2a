import { assert, describe, it } from "@effect/vitest"
import { Either } from "effect"
import { mkdtemp, readFile, rm } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as vm from "node:vm"
import { buildTag, TAG_BUDGET_GZIP, tagSize } from "../scripts/tag-build.mjs"
import * as Snippet from "../src/Snippet.js"
import * as TagBundle from "../src/TagBundle.js"
import * as WireFormat from "../src/WireFormat.js"
import { element, makeWindow, stubCmp, TC_STRINGS, tcData, VENDOR_ID } from "./helpers/FakeWindow.js"

// The bundle is built fresh from the sources, into a temporary folder, so the size checked is never stale.
const built = (async () => {
  const dir = await mkdtemp(join(tmpdir(), "oa-tag-"))
  const file = await buildTag(dir)
  const source = await readFile(file, "utf8")
  const size = await tagSize(file)
  await rm(dir, { recursive: true, force: true })
  return { source, size }
})()

describe("built tag (dist/tag.js)", () => {
  it(`is at most ${TAG_BUDGET_GZIP} bytes gzipped`, async () => {
    const { size } = await built
    assert.strictEqual(TAG_BUDGET_GZIP, TagBundle.gzipBudgetBytes)
    assert.isAbove(size.gzipBytes, 0)
    assert.isAtMost(size.gzipBytes, TagBundle.gzipBudgetBytes, `tag.js is ${size.gzipBytes} bytes gzipped`)
  })

  it("is a self-contained ES2017 script: no imports, no Effect, no syntax newer than ES2017", async () => {
    const { source } = await built
    assert.notMatch(source, /\bimport\s*[("{]|\brequire\(|\bexport\b/)
    assert.notInclude(source, "effect")
    assert.notMatch(source, /\?\?|\?\.[a-zA-Z_$[(]|\bcatch\{/, "no ?? / ?. / optional catch binding (ES2019+)")
    assert.doesNotThrow(() => new vm.Script(source))
  })

  it("runs after the snippet on a page, replays its queue, and what it sends decodes on the server", async () => {
    const { source } = await built
    const fake = makeWindow({ href: "https://shop.example/p/1", referrer: "https://search.example/" })
    const page = fake.window
    page.window = page
    page.document.createElement = (tag: string) => ({ tag })
    page.document.head = { appendChild: () => undefined }
    const context = vm.createContext(page)
    vm.runInContext(Snippet.snippetJs("https://collect.example", "demo", { engagement: true }), context)
    page.oa("track", "add_to_cart", { productId: "SKU;1", quantity: 2, unitPrice: 1999, currency: "EUR" })
    vm.runInContext(source, context)
    page.oa("track", "conversion", {
      orderId: "o-1",
      conversionType: "purchase",
      currency: "EUR",
      value: 3998,
      items: [{ productId: "SKU;1", quantity: 2, unitPrice: 1999 }]
    })
    fake.click(element("checkout"), 500, 400)
    fake.hide()
    assert.strictEqual(fake.beacons.length, 1)
    const events = fake.sentEvents() as Array<any>
    assert.deepStrictEqual(
      events.map((e) => e.type),
      ["page_view", "add_to_cart", "conversion", "engagement", "engagement"]
    )
    assert.strictEqual(events[0].referrer, "https://search.example/")
    assert.strictEqual(events[1].productId, "SKU;1")
    assert.deepStrictEqual(events[2].items, [{ productId: "SKU;1", quantity: 2, unitPrice: 1999 }])
    assert.strictEqual(events[3].element, "checkout")
    assert.strictEqual(events[3].pointerX, 50)
    assert.isDefined(events[4].timeOnPage)
    assert.strictEqual(new Set(events.map((e) => e.visitorId)).size, 1)
    assert.isTrue(Either.isRight(WireFormat.decodeBatch(fake.beacons[0]!.body)))
  })

  it("with a TCF CMP on the page: no visitor id until purpose 1 and vendor consent, the TC string forwarded", async () => {
    const { source } = await built
    const cmp = stubCmp()
    const fake = makeWindow({ href: "https://shop.example/", tcfapi: cmp.api })
    const page = fake.window
    page.window = page
    const context = vm.createContext(page)
    page.oa = { q: [["init", "demo", { endpoint: "https://collect.example", tcfVendorId: VENDOR_ID }]] }
    vm.runInContext(source, context)
    cmp.answer(tcData({ purposes: [2, 3, 4, 7], vendors: [VENDOR_ID] }))
    fake.runTimers()
    const [denied] = fake.sentEvents() as Array<any>
    assert.isUndefined(denied.visitorId)
    assert.isUndefined(fake.jar.get("_oa_vid"))
    assert.strictEqual(denied.consent.tcf, TC_STRINGS.purpose1Denied)

    cmp.answer(tcData({ purposes: [1, 2, 3, 4, 7], vendors: [VENDOR_ID] }, { eventStatus: "useractioncomplete" }))
    page.oa("page")
    fake.runTimers()
    const [, granted] = fake.sentEvents() as Array<any>
    assert.match(granted.visitorId, /^[0-9a-f]{32}$/)
    assert.strictEqual(fake.jar.get("_oa_vid"), granted.visitorId)
    assert.strictEqual(granted.consent.tcf, TC_STRINGS.purpose1Granted)
  })

  it("TagBundle.fileUrl points at dist/tag.js of this package", () => {
    assert.isTrue(TagBundle.fileUrl.pathname.endsWith("/packages/pixel/dist/tag.js"))
    assert.strictEqual(TagBundle.contentType, "text/javascript; charset=utf-8")
  })
})
