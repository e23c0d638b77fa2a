/**
 * A product creative's template is part of the campaign: decoding refuses one that does not compile (an unknown
 * macro, a macro where it could run as code), so a campaign that decodes always renders.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Either from "effect/Either"
import * as Campaign from "../src/Campaign.js"

const campaignWith = (template: string) => ({
  id: "cmp-1",
  tenant: "shop",
  name: "Products",
  status: "active",
  tier: { kind: "remnant" },
  schedule: { start: "2026-01-01T00:00:00.000Z" },
  bid: { amount: 100, currency: "EUR" },
  pacing: "asap",
  creatives: [{ id: "cr-1", width: 300, height: 250, kind: "product", landingUrl: "https://shop.example/", template }]
})

describe("Campaign creative templates", () => {
  it("decodes a template that compiles", () => {
    const decoded = Campaign.decode(
      campaignWith('<div>{{#products}}<a href="{{product.clickUrl}}">{{product.title}}</a>{{/products}}</div>')
    )
    assert.isTrue(Either.isRight(decoded), Either.isLeft(decoded) ? decoded.left : "")
  })

  it("refuses one that does not, naming why", () => {
    for (const template of [
      "{{#products}}{{product.secret}}{{/products}}",
      '{{#products}}<a onclick="{{product.title}}">x</a>{{/products}}',
      "{{#products}}<script>{{product.title}}</script>{{/products}}",
      "{{#products}}unclosed"
    ]) {
      const decoded = Campaign.decode(campaignWith(template))
      assert.isTrue(Either.isLeft(decoded), template)
      if (Either.isLeft(decoded)) assert.include(decoded.left, "template", template)
    }
  })
})
