/**
 * The in-memory browser links have the behaviour of every store (storage-sql runs the same suite on SQL), and
 * browser keys are per-tenant pseudonyms.
 */
import { describe, it, layer } from "@effect/vitest"
import * as BrowserLinks from "../src/BrowserLinks.js"
import { browserKeyProperties, browserLinksSuite } from "./browserLinksSuite.js"

layer(BrowserLinks.layerMemory, { excludeTestServices: true })("BrowserLinks (in memory)", browserLinksSuite)

describe("BrowserLinks.browserKey", () => {
  it("is stable per tenant and id, and differs across tenants and ids", () => browserKeyProperties())
})
