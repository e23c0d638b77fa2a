/**
 * Product creatives: an HTML template with macros (`{{product.title}}`, `{{product.price}}`, …) inside one repeat
 * block `{{#products}}…{{/products}}`, compiled once and rendered for the products a visitor viewed. The compiler
 * reads the HTML around each macro and escapes the value for where it stands: text, a quoted attribute, or a URL
 * attribute (`href`, `src`, `poster`), where only http and https URLs are written. Any other place (a tag or
 * attribute name, an unquoted value, an event handler, `style`, `<script>`, a comment, …) and any unknown macro is
 * a compile error. Nothing in a template or a product is ever evaluated as code.
 *
 * The compiler adds `data-oa-product-id="<catalog id>"` to the first element of the block, so every rendered
 * product is tagged for click and view attribution whatever the template says; a template may not set that
 * attribute itself.
 *
 * @since 0.1.0
 */
import { Money } from "@openaudience/event-schema"
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import type * as Product from "./Product.js"

/**
 * Why a template does not compile.
 *
 * - `UnknownMacro`: a `{{…}}` that is not a macro (the message names every one).
 * - `Syntax`: `{{` without `}}`, a missing, nested or repeated block, a block that does not begin with an
 *   element, a template or block ending inside a tag or comment.
 * - `UnsafeContext`: a macro where its value cannot be escaped safely (see the module's description).
 * - `TooLarge`: a template longer than `maxLength`.
 *
 * @since 0.1.0
 * @category errors
 */
export const TemplateErrorReason = Schema.Literal("UnknownMacro", "Syntax", "UnsafeContext", "TooLarge")

/**
 * @since 0.1.0
 * @category errors
 */
export type TemplateErrorReason = typeof TemplateErrorReason.Type

/**
 * A template that does not compile.
 *
 * @since 0.1.0
 * @category errors
 */
export class TemplateError extends Schema.TaggedError<TemplateError>("@openaudience/catalog/TemplateError")(
  "TemplateError",
  { reason: TemplateErrorReason, message: Schema.String }
) {}

/**
 * The product macros, as written after `product.`: `image`, `link` and `clickUrl` are URLs.
 *
 * @since 0.1.0
 * @category constants
 */
export const macros = [
  "id",
  "title",
  "description",
  "brand",
  "productType",
  "price",
  "salePrice",
  "image",
  "link",
  "clickUrl"
] as const

/**
 * @since 0.1.0
 * @category models
 */
export type Macro = (typeof macros)[number]

const urlMacros: ReadonlySet<Macro> = new Set<Macro>(["image", "link", "clickUrl"])

/**
 * How a value is escaped: `text` (element content) and `attribute` (a quoted attribute value) escape `& < > " '`;
 * `url` writes an http or https URL (anything else becomes empty) escaped as an attribute; `urlComponent`
 * percent-encodes a value inside a URL attribute after a fixed prefix.
 *
 * @since 0.1.0
 * @category models
 */
export type Escaping = "text" | "attribute" | "url" | "urlComponent"

/**
 * A compiled template's parts: fixed HTML, a value, or the repeat block.
 *
 * @since 0.1.0
 * @category models
 */
export type Part =
  | { readonly _tag: "Html"; readonly html: string }
  | { readonly _tag: "Value"; readonly macro: Macro; readonly escaping: Escaping }
  | { readonly _tag: "Products"; readonly parts: ReadonlyArray<Part> }

/**
 * A compiled template.
 *
 * @since 0.1.0
 * @category models
 */
export interface Template {
  readonly _tag: "Template"
  readonly parts: ReadonlyArray<Part>
}

/**
 * One product to render, with the click URL the server made for it (`{{product.clickUrl}}`; the product's `link`
 * when absent).
 *
 * @since 0.1.0
 * @category models
 */
export interface Item {
  readonly product: Product.Product
  readonly clickUrl?: string | undefined
}

/**
 * The longest template accepted, in characters.
 *
 * @since 0.1.0
 * @category constants
 */
export const maxLength = 100_000

/**
 * The attribute the compiler adds to each product's element.
 *
 * @since 0.1.0
 * @category constants
 */
export const productIdAttribute = "data-oa-product-id"

// Where a URL macro may stand: the attribute of these elements.
const urlAttributes: ReadonlyMap<string, ReadonlySet<string>> = new Map([
  ["href", new Set(["a", "area"])],
  ["src", new Set(["img"])],
  ["poster", new Set(["video"])]
])
// Attributes whose value is plain text for any element.
const textAttributes = new Set(["alt", "title", "class", "value", "placeholder", "name", "lang", "aria-label"])
// Elements whose attributes may not hold macros at all: they load or run code, or change the document.
const closedElements = new Set([
  "script",
  "style",
  "iframe",
  "frame",
  "object",
  "embed",
  "base",
  "link",
  "meta",
  "form"
])
// Elements whose content is not parsed as HTML.
const rawElements = new Set([
  "script",
  "style",
  "textarea",
  "title",
  "xmp",
  "iframe",
  "noembed",
  "noframes",
  "noscript",
  "plaintext",
  "template",
  "svg",
  "math"
])

type State =
  | "data"
  | "tagOpen"
  | "endTagOpen"
  | "tagName"
  | "endTag"
  | "markup"
  | "markupDash"
  | "comment"
  | "bogus"
  | "beforeAttrName"
  | "attrName"
  | "afterAttrName"
  | "beforeAttrValue"
  | "valueDouble"
  | "valueSingle"
  | "valueUnquoted"
  | "raw"

const isSpace = (c: string) => c === " " || c === "\t" || c === "\n" || c === "\r" || c === "\f"
const isLetter = (c: string) => (c >= "a" && c <= "z") || (c >= "A" && c <= "Z")

class Failure {
  constructor(
    readonly reason: TemplateErrorReason,
    readonly message: string
  ) {}
}

/** A tokenizer of the template's fixed HTML that knows, at each macro, where it stands. */
class Reader {
  state: State = "data"
  tag = ""
  attr = ""
  value = ""
  raw = ""
  dashes = 0
  /** In a block, before its first element: the next start tag's name gets the product id attribute. */
  needRoot = false
  out: Array<Part> = []
  line = 1

  fail(reason: TemplateErrorReason, message: string): never {
    throw new Failure(reason, `line ${this.line}: ${message}`)
  }

  private checkAttr() {
    if (this.attr === productIdAttribute) {
      this.fail("UnsafeContext", `the template sets ${productIdAttribute}: the renderer adds it to each product`)
    }
  }

  private endTag() {
    this.state = rawElements.has(this.tag) ? "raw" : "data"
    this.raw = this.tag
  }

  /** Reads fixed HTML and keeps it as a part, adding the product id attribute after the block's first tag name. */
  html(text: string) {
    let cut = 0
    for (let i = 0; i < text.length; i++) {
      const c = text[i]!
      if (c === "\n") this.line++
      switch (this.state) {
        case "data":
          if (c === "<") this.state = "tagOpen"
          else if (this.needRoot && !isSpace(c))
            this.fail("Syntax", "the {{#products}} block must begin with an element")
          break
        case "tagOpen":
          if (isLetter(c)) {
            this.state = "tagName"
            this.tag = c.toLowerCase()
          } else if (c === "/") this.state = "endTagOpen"
          else if (c === "!") this.state = "markup"
          else if (c === "?") this.state = "bogus"
          else this.state = "data"
          if (this.needRoot && this.state !== "tagName") {
            this.fail("Syntax", "the {{#products}} block must begin with an element")
          }
          break
        case "endTagOpen":
          this.state = isLetter(c) ? "endTag" : c === ">" ? "data" : "bogus"
          break
        case "endTag":
        case "bogus":
          if (c === ">") this.state = "data"
          break
        case "markup":
          this.state = c === "-" ? "markupDash" : c === ">" ? "data" : "bogus"
          break
        case "markupDash":
          this.state = c === "-" ? "comment" : c === ">" ? "data" : "bogus"
          this.dashes = 0
          break
        case "comment":
          if (c === ">" && this.dashes >= 2) this.state = "data"
          this.dashes = c === "-" ? this.dashes + 1 : 0
          break
        case "tagName":
          if (isSpace(c) || c === "/" || c === ">") {
            if (this.needRoot) {
              this.out.push({ _tag: "Html", html: `${text.slice(cut, i)} ${productIdAttribute}="` })
              this.out.push({ _tag: "Value", macro: "id", escaping: "attribute" })
              this.out.push({ _tag: "Html", html: '"' })
              cut = i
              this.needRoot = false
            }
            if (c === ">") this.endTag()
            else this.state = "beforeAttrName"
          } else this.tag += c.toLowerCase()
          break
        case "beforeAttrName":
          if (c === ">") this.endTag()
          else if (!isSpace(c) && c !== "/") {
            this.state = "attrName"
            this.attr = c.toLowerCase()
          }
          break
        case "attrName":
          if (isSpace(c) || c === "/" || c === "=" || c === ">") {
            this.checkAttr()
            this.state =
              c === "=" ? "beforeAttrValue" : c === ">" ? "data" : isSpace(c) ? "afterAttrName" : "beforeAttrName"
            if (c === ">") this.endTag()
          } else this.attr += c.toLowerCase()
          break
        case "afterAttrName":
          if (c === "=") this.state = "beforeAttrValue"
          else if (c === ">") this.endTag()
          else if (c === "/") this.state = "beforeAttrName"
          else if (!isSpace(c)) {
            this.state = "attrName"
            this.attr = c.toLowerCase()
          }
          break
        case "beforeAttrValue":
          this.value = ""
          if (c === '"') this.state = "valueDouble"
          else if (c === "'") this.state = "valueSingle"
          else if (c === ">") this.endTag()
          else if (!isSpace(c)) this.state = "valueUnquoted"
          break
        case "valueDouble":
        case "valueSingle":
          if (c === (this.state === "valueDouble" ? '"' : "'")) this.state = "beforeAttrName"
          else this.value += c
          break
        case "valueUnquoted":
          if (isSpace(c)) this.state = "beforeAttrName"
          else if (c === ">") this.endTag()
          break
        case "raw":
          // In a script, `<!--` can start the "escaped" states where `</script>` no longer ends it; not modelled.
          if (c === "<" && this.raw === "script" && text.startsWith("<!--", i)) {
            this.fail("Syntax", "`<!--` inside <script> is not supported")
          }
          if (c === "<" && text.slice(i + 1, i + 2 + this.raw.length).toLowerCase() === `/${this.raw}`) {
            const after = text[i + 2 + this.raw.length]
            if (after === undefined || isSpace(after) || after === "/" || after === ">") this.state = "endTagOpen"
          }
          break
      }
    }
    if (cut < text.length) this.out.push({ _tag: "Html", html: text.slice(cut) })
  }

  /** The escaping of a macro standing where the reader is, or a failure saying why it cannot stand there. */
  escapingAt(macro: Macro, written: string): Escaping {
    const url = urlMacros.has(macro)
    switch (this.state) {
      case "data":
        if (this.needRoot) this.fail("Syntax", "the {{#products}} block must begin with an element, not a macro")
        return "text"
      case "valueDouble":
      case "valueSingle": {
        if (closedElements.has(this.tag)) this.fail("UnsafeContext", `${written} inside <${this.tag}> is not allowed`)
        if (urlAttributes.get(this.attr)?.has(this.tag) === true) {
          const atStart = this.value.trim() === ""
          if (atStart && !url) {
            this.fail("UnsafeContext", `${written} cannot begin ${this.attr}=: only image, link and clickUrl can`)
          }
          if (!atStart && url) this.fail("UnsafeContext", `${written} must begin the value of ${this.attr}=`)
          if (!atStart && !/^\s*https?:\/\//i.test(this.value)) {
            this.fail("UnsafeContext", `${written} in ${this.attr}= must follow a fixed http:// or https:// URL`)
          }
          // After a URL macro the value is an http(s) URL (or empty), so parameters may follow it.
          this.value += url ? "https://" : "x"
          return url ? "url" : "urlComponent"
        }
        if (textAttributes.has(this.attr) || (this.attr.startsWith("data-") && this.attr !== productIdAttribute)) {
          this.value += "x"
          return "attribute"
        }
        return this.fail("UnsafeContext", `${written} is not allowed in the attribute ${this.attr} of <${this.tag}>`)
      }
      case "raw":
        return this.fail("UnsafeContext", `${written} is not allowed inside <${this.raw}>`)
      case "comment":
      case "markup":
      case "markupDash":
      case "bogus":
        return this.fail("UnsafeContext", `${written} is not allowed in a comment or declaration`)
      case "valueUnquoted":
      case "beforeAttrValue":
        return this.fail("UnsafeContext", `${written} in an unquoted attribute value: put the value in quotes`)
      default:
        return this.fail("UnsafeContext", `${written} is not allowed inside a tag, only in text or a quoted value`)
    }
  }
}

const macroPattern = /^\s*product\.([A-Za-z]+)\s*$/

const isMacro = (name: string): name is Macro => (macros as ReadonlyArray<string>).includes(name)

const compileUnsafe = (source: string): Template => {
  if (typeof source !== "string") throw new Failure("Syntax", "a template is text")
  if (source.length > maxLength) {
    throw new Failure("TooLarge", `the template has ${source.length} characters, more than ${maxLength}`)
  }
  // Unknown macros are reported all at once, before anything else.
  const unknown: Array<string> = []
  for (const match of source.matchAll(/\{\{(.*?)\}\}/gs)) {
    const body = match[1]!
    const m = macroPattern.exec(body)
    const ok = m !== null ? isMacro(m[1]!) : /^\s*[#/]products\s*$/.test(body)
    if (!ok && unknown.length < 20) unknown.push(`{{${body.length > 40 ? `${body.slice(0, 40)}…` : body}}}`)
  }
  if (unknown.length > 0) {
    throw new Failure(
      "UnknownMacro",
      `unknown macro${unknown.length > 1 ? "s" : ""} ${unknown.join(", ")}; the macros are ${macros
        .map((m) => `{{product.${m}}}`)
        .join(", ")} inside {{#products}}…{{/products}}`
    )
  }
  const reader: Reader = new Reader()
  let outer: Array<Part> | undefined
  let blocks = 0
  let i = 0
  while (i < source.length) {
    const open = source.indexOf("{{", i)
    if (open === -1) {
      reader.html(source.slice(i))
      break
    }
    reader.html(source.slice(i, open))
    const close = source.indexOf("}}", open + 2)
    if (close === -1) reader.fail("Syntax", "{{ is never closed by }}")
    const body = source.slice(open + 2, close)
    const written = `{{${body}}}`
    i = close + 2
    if (/^\s*#products\s*$/.test(body)) {
      if (outer !== undefined) reader.fail("Syntax", "{{#products}} blocks cannot be nested")
      if (blocks > 0) reader.fail("Syntax", "a template has one {{#products}} block")
      if (reader.state !== "data") reader.fail("Syntax", "{{#products}} must stand between elements, not in a tag")
      blocks++
      outer = reader.out
      reader.out = []
      reader.needRoot = true
    } else if (/^\s*\/products\s*$/.test(body)) {
      if (outer === undefined) reader.fail("Syntax", "{{/products}} without {{#products}}")
      if (reader.needRoot) reader.fail("Syntax", "the {{#products}} block is empty: it needs an element")
      if (reader.state !== "data") reader.fail("Syntax", "{{/products}} must stand between elements, not in a tag")
      outer.push({ _tag: "Products", parts: reader.out })
      reader.out = outer
      outer = undefined
    } else {
      const macro = macroPattern.exec(body)![1] as Macro
      if (outer === undefined) reader.fail("Syntax", `${written} stands outside the {{#products}} block`)
      reader.out.push({ _tag: "Value", macro, escaping: reader.escapingAt(macro, written) })
    }
  }
  if (outer !== undefined) reader.fail("Syntax", "{{#products}} is never closed by {{/products}}")
  if (blocks === 0) reader.fail("Syntax", "a product template needs a {{#products}}…{{/products}} block")
  if (reader.state !== "data" && reader.state !== "raw") {
    reader.fail("Syntax", "the template ends inside a tag, comment or declaration")
  }
  return { _tag: "Template", parts: reader.out }
}

/**
 * Compiles a template, or fails with every unknown macro, or the first other problem with its line.
 *
 * @since 0.1.0
 * @category constructors
 */
export const compile = (source: string): Either.Either<Template, TemplateError> =>
  Either.try({
    try: () => compileUnsafe(source),
    catch: (e) =>
      e instanceof Failure
        ? new TemplateError({ reason: e.reason, message: e.message })
        : new TemplateError({ reason: "Syntax", message: "the template could not be read" })
  })

/**
 * Escapes text for HTML element content and quoted attribute values.
 *
 * @since 0.1.0
 * @category escaping
 */
export const escapeHtml = (s: string): string =>
  s.replace(/[&<>"']/g, (c) =>
    c === "&" ? "&amp;" : c === "<" ? "&lt;" : c === ">" ? "&gt;" : c === '"' ? "&quot;" : "&#39;"
  )

/**
 * An http or https URL as the URL standard writes it, or the empty string for anything else (`javascript:`,
 * `data:`, relative or unparsable URLs).
 *
 * @since 0.1.0
 * @category escaping
 */
export const safeUrl = (s: string): string => {
  if (typeof s !== "string" || !URL.canParse(s)) return ""
  const url = new URL(s)
  return url.protocol === "https:" || url.protocol === "http:" ? url.href : ""
}

/**
 * Formats money as its decimal amount and currency code, the same on every machine: `129.00 EUR`, `1500 JPY`.
 *
 * @since 0.1.0
 * @category formatting
 */
export const formatPrice = (money: Money.Money): string => `${Money.toDecimal(money)} ${money.currency}`

const macroValue = (item: Item, macro: Macro): string => {
  const p = item.product
  switch (macro) {
    case "price":
      return formatPrice(p.price)
    case "salePrice":
      return p.salePrice === undefined ? "" : formatPrice(p.salePrice)
    case "image":
      return p.imageLink
    case "clickUrl":
      return item.clickUrl ?? p.link
    default:
      return p[macro] ?? ""
  }
}

const write = (value: string, escaping: Escaping): string => {
  const text = String(value).toWellFormed()
  switch (escaping) {
    case "url":
      return escapeHtml(safeUrl(text))
    case "urlComponent":
      return escapeHtml(encodeURIComponent(text))
    default:
      return escapeHtml(text)
  }
}

/**
 * Renders a template for `items` in the order given (the block once per item; nothing of it when there are none).
 *
 * @since 0.1.0
 * @category rendering
 */
export const render = (template: Template, items: ReadonlyArray<Item>): string => {
  let out = ""
  const run = (parts: ReadonlyArray<Part>, item: Item | undefined) => {
    for (const part of parts) {
      if (part._tag === "Html") out += part.html
      else if (part._tag === "Products") for (const each of items) run(part.parts, each)
      else if (item !== undefined) out += write(macroValue(item, part.macro), part.escaping)
    }
  }
  run(template.parts, undefined)
  return out
}
