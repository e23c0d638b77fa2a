/**
 * Generators of valid products and of hostile text, shared by the tests of this package and by the store suite
 * that @openaudience/storage-sql runs.
 */
import { Currency, type Money } from "@openaudience/event-schema"
import { FastCheck as fc } from "effect"
import type * as Product from "../src/Product.js"

/** The tenant's site origin used by the generated products. */
export const origin = "https://shop.example"

/** Text an attacker or a careless shop would put in a feed. */
export const hostile = fc.constantFrom(
  "<script>alert(1)</script>",
  '"><img src=x onerror=alert(1)>',
  "' onmouseover='alert(1)",
  "javascript:alert(1)",
  " JaVaScRiPt:alert(1)",
  "data:text/html,<script>alert(1)</script>",
  "</li></ul><iframe src=//evil.example>",
  "{{product.title}}",
  "&lt;script&gt;",
  "`backtick` $x",
  "Café crème — 東京 🍣",
  "\u202Eevil"
)

/** One-line text without control characters or surrounding whitespace, of 1 to `max` characters. */
export const line = (max: number) =>
  fc
    .oneof(
      { weight: 3, arbitrary: fc.string({ unit: "grapheme", minLength: 1, maxLength: Math.min(max, 40) }) },
      { weight: 2, arbitrary: hostile }
    )
    .map((s) => s.replace(/[\u0000-\u001F\u007F-\u009F]/g, "").trim())
    .filter((s) => s.length >= 1 && s.length <= max && s.isWellFormed())

/** Exact money in any known currency. */
export const money = fc
  .tuple(
    fc.constantFrom(...Currency.codes),
    fc.oneof(fc.integer({ min: 0, max: 1_000_000 }), fc.integer({ min: 0, max: 999_999_999_999_999 }))
  )
  .map(([currency, amount]): Money.Money => ({ amount, currency }))

const pathSegment = fc.stringMatching(/^[A-Za-z0-9._~-]{1,12}$/)

/** An http(s) URL on `origin`. */
export const urlOn = (base: string) =>
  fc.array(pathSegment, { minLength: 0, maxLength: 3 }).map((segments) => `${base}/${segments.join("/")}`)

/** A valid product on `origin` (links on it, the sale price, when any, not above the price). */
export const product: fc.Arbitrary<Product.Product> = fc
  .record(
    {
      id: fc.oneof(fc.stringMatching(/^[A-Za-z0-9_-]{1,20}$/), line(128)),
      title: line(200),
      description: fc.oneof(line(5000), fc.constant("First line.\nSecond\tline.")),
      link: urlOn(origin),
      imageLink: urlOn(origin),
      price: money,
      salePercent: fc.integer({ min: 0, max: 100 }),
      availability: fc.constantFrom<Array<Product.Availability>>("in_stock", "out_of_stock", "preorder", "backorder"),
      brand: line(100),
      productType: fc
        .array(
          line(40).filter((s) => !s.includes(">")),
          { minLength: 1, maxLength: 4 }
        )
        .map((levels) => levels.join(" > "))
    },
    { requiredKeys: ["id", "title", "link", "imageLink", "price", "availability"] }
  )
  .map(
    ({ salePercent, ...p }): Product.Product => ({
      ...p,
      ...(salePercent === undefined
        ? {}
        : {
            salePrice: {
              amount: Math.min(p.price.amount, Math.floor((p.price.amount / 100) * salePercent)),
              currency: p.price.currency
            }
          })
    })
  )

/** Products with distinct ids. */
export const products = (maxLength: number) =>
  fc.uniqueArray(product, { selector: (p) => p.id, minLength: 0, maxLength })
