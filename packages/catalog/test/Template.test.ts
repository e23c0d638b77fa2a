/**
 * Product creatives: the macros, the escaping for each place a macro stands, the product id on every product, and
 * compile errors. The properties render hostile product values (markup, quotes, `javascript:` URLs, unicode) and
 * read the output back with a tokenizer of their own: the markup is the template's, whatever the values.
 */
import { assert, describe, it } from "@effect/vitest"
import { Either, FastCheck as fc } from "effect"
import { type Product, Template } from "../src/index.js"
import { hostile, origin, product } from "./arbitraries.js"

const compile = (source: string): Template.Template =>
  Either.getOrThrowWith(Template.compile(source), (e) => new Error(e.message))

const failure = (source: string): Template.TemplateError =>
  Either.match(Template.compile(source), {
    onLeft: (e) => e,
    onRight: () => assert.fail(`expected a TemplateError for ${source}`)
  })

const knife: Product.Product = {
  id: "SKU-1",
  title: "Chef knife",
  link: `${origin}/p/1`,
  imageLink: `${origin}/i/1.jpg`,
  price: { amount: 12900, currency: "EUR" },
  availability: "in_stock",
  brand: "Acme"
}

const card = `<ul class="oa">{{#products}}
  <li class="product"><a href="{{product.clickUrl}}"><img src="{{product.image}}" alt="{{product.title}}">
    <span>{{product.title}}</span> <b>{{product.price}}</b></a></li>{{/products}}
</ul>`

describe("Template.render", () => {
  it("renders the block once per product, in the order given, each tagged with its catalog id", () => {
    const rice: Product.Product = { ...knife, id: "r", title: "Rice", price: { amount: 1500, currency: "JPY" } }
    const html = Template.render(compile(card), [
      { product: knife, clickUrl: "https://ads.example/click/abc" },
      { product: rice }
    ])
    assert.strictEqual(
      html,
      `<ul class="oa">
  <li data-oa-product-id="SKU-1" class="product"><a href="https://ads.example/click/abc"><img src="https://shop.example/i/1.jpg" alt="Chef knife">
    <span>Chef knife</span> <b>129.00 EUR</b></a></li>
  <li data-oa-product-id="r" class="product"><a href="https://shop.example/p/1"><img src="https://shop.example/i/1.jpg" alt="Rice">
    <span>Rice</span> <b>1500 JPY</b></a></li>
</ul>`
    )
    assert.strictEqual(Template.render(compile(card), []), '<ul class="oa">\n</ul>')
  })

  it("writes every macro, and nothing for an absent optional field", () => {
    const all = compile(
      "{{#products}}<p>{{product.id}}|{{product.title}}|{{product.description}}|{{product.brand}}|{{product.productType}}|{{product.price}}|{{ product.salePrice }}|{{product.image}}|{{product.link}}|{{product.clickUrl}}</p>{{/products}}"
    )
    const product = { ...knife, description: "D", productType: "A > B", salePrice: { amount: 5, currency: "EUR" } }
    assert.strictEqual(
      Template.render(all, [{ product }, { product: { ...knife, brand: undefined } as Product.Product }]),
      '<p data-oa-product-id="SKU-1">SKU-1|Chef knife|D|Acme|A &gt; B|129.00 EUR|0.05 EUR|https://shop.example/i/1.jpg|https://shop.example/p/1|https://shop.example/p/1</p>' +
        '<p data-oa-product-id="SKU-1">SKU-1|Chef knife||||129.00 EUR||https://shop.example/i/1.jpg|https://shop.example/p/1|https://shop.example/p/1</p>'
    )
  })

  it("writes only http and https URLs into href and src; a value after a fixed URL is percent-encoded", () => {
    const t = compile('{{#products}}<a href="{{product.clickUrl}}"><img src="{{product.image}}"></a>{{/products}}')
    for (const bad of [
      "javascript:alert(1)",
      " JavaScript:alert(1)",
      "java\tscript:alert(1)",
      "data:text/html,x",
      "vbscript:x",
      "//evil.example",
      "/relative",
      "",
      "https://"
    ]) {
      const html = Template.render(t, [{ product: { ...knife, imageLink: bad }, clickUrl: bad }])
      assert.strictEqual(html, '<a data-oa-product-id="SKU-1" href=""><img src=""></a>', bad)
    }
    const quoted = Template.render(t, [{ product: knife, clickUrl: 'https://ads.example/c?a="><script>' }])
    assert.include(quoted, 'href="https://ads.example/c?a=%22%3E%3Cscript%3E"')
    const search = compile(
      '{{#products}}<a href="https://shop.example/search?q={{product.title}}&id={{product.id}}">x</a>{{/products}}'
    )
    assert.include(
      Template.render(search, [{ product: { ...knife, title: 'a&b "c" <d> é' } }]),
      'href="https://shop.example/search?q=a%26b%20%22c%22%20%3Cd%3E%20%C3%A9&id=SKU-1"'
    )
    const params = compile('{{#products}}<a href="{{product.link}}?utm={{product.id}}">x</a>{{/products}}')
    assert.include(Template.render(params, [{ product: knife }]), `href="${origin}/p/1?utm=SKU-1"`)
  })

  it("formats prices the same on every machine: the currency's decimals and its code", () => {
    assert.strictEqual(Template.formatPrice({ amount: 5, currency: "KWD" }), "0.005 KWD")
    assert.strictEqual(Template.formatPrice({ amount: 0, currency: "EUR" }), "0.00 EUR")
    assert.strictEqual(Template.formatPrice({ amount: 123456789, currency: "JPY" }), "123456789 JPY")
  })

  it("never throws on lone surrogates in values", () => {
    const t = compile(
      '{{#products}}<a href="https://s.example/?q={{product.title}}">{{product.title}}</a>{{/products}}'
    )
    const html = Template.render(t, [{ product: { ...knife, title: "a\uD800b" } }])
    assert.include(html, "q=a%EF%BF%BDb")
    assert.include(html, ">a\uFFFDb</a>")
  })
})

describe("Template.compile", () => {
  it("names every unknown macro at once", () => {
    const e = failure(
      "{{#products}}<p>{{product.name}} {{ product.title }} {{product}} {{{product.title}}} {{x.y}}</p>{{/products}}"
    )
    assert.strictEqual(e.reason, "UnknownMacro")
    assert.match(
      e.message,
      /^unknown macros \{\{product\.name\}\}, \{\{product\}\}, \{\{\{product\.title\}\}, \{\{x\.y\}\}; the macros are /
    )
  })

  it("refuses macros where their value cannot be escaped safely", () => {
    const cases: ReadonlyArray<[string, Template.TemplateErrorReason, RegExp]> = [
      ['<a href="{{product.title}}">', "UnsafeContext", /cannot begin href=/],
      ['<a href=" {{product.id}}">', "UnsafeContext", /cannot begin href=/],
      ['<a href="javascript:{{product.id}}">', "UnsafeContext", /must follow a fixed http/],
      ['<a href="&#106;avascript:{{product.id}}">', "UnsafeContext", /must follow a fixed http/],
      ['<a href="https://x/{{product.link}}">', "UnsafeContext", /must begin the value of href=/],
      ['<a onclick="{{product.title}}">', "UnsafeContext", /attribute onclick of <a>/],
      ['<a style="{{product.title}}">', "UnsafeContext", /attribute style/],
      ['<iframe srcdoc="{{product.title}}">', "UnsafeContext", /inside <iframe>/],
      ['<link href="{{product.link}}">', "UnsafeContext", /inside <link>/],
      ['<script src="{{product.link}}"></script>', "UnsafeContext", /inside <script>/],
      ['<img srcset="{{product.image}}">', "UnsafeContext", /attribute srcset/],
      ['<form action="{{product.link}}">', "UnsafeContext", /inside <form>/],
      ["<a href={{product.link}}>", "UnsafeContext", /unquoted/],
      ["<a title=x{{product.title}}>", "UnsafeContext", /unquoted/],
      ["<a {{product.title}}>", "UnsafeContext", /inside a tag/],
      ["<a{{product.title}}>", "UnsafeContext", /inside a tag/],
      ['<a x="1" {{product.title}}="1">', "UnsafeContext", /inside a tag/],
      ["<p>x</p><script>var t = '{{product.title}}'</script>", "UnsafeContext", /inside <script>/],
      ["<p><style>{{product.title}}</style></p>", "UnsafeContext", /inside <style>/],
      ["<p><textarea>{{product.title}}</textarea></p>", "UnsafeContext", /inside <textarea>/],
      ["<p><svg><a href='{{product.link}}'></a></svg></p>", "UnsafeContext", /inside <svg>/],
      ["<p><!-- {{product.title}} --></p>", "UnsafeContext", /comment/],
      ['<p data-oa-product-id="{{product.id}}">', "UnsafeContext", /renderer adds it/],
      ["<p DATA-OA-PRODUCT-ID=1>", "UnsafeContext", /renderer adds it/]
    ]
    for (const [inner, reason, message] of cases) {
      const source = inner.startsWith("<p")
        ? `{{#products}}${inner}{{/products}}`
        : `{{#products}}${inner}</a>{{/products}}`
      const e = failure(source)
      assert.strictEqual(e.reason, reason, `${source}: ${e.message}`)
      assert.match(e.message, message, source)
    }
  })

  it("accepts macros in text and quoted text attributes, and keeps the markup around them", () => {
    const t =
      compile(`<div>{{#products}}<div data-x='{{product.brand}}' title="{{product.title}}" class="c"><script>var a = "{not a macro}"</script>
      <a href=' {{product.link}} '>{{product.title}}</a></div>{{/products}}</div>`)
    assert.include(Template.render(t, [{ product: { ...knife, brand: "'" } }]), `data-x='&#39;'`)
  })

  it("requires one block that begins with an element, closed, between elements", () => {
    const cases: ReadonlyArray<[string, RegExp]> = [
      ["<p>{{product.title}}</p>", /outside the \{\{#products\}\} block/],
      ["<p>no block</p>", /needs a \{\{#products\}\}/],
      ["{{#products}}<p></p>", /never closed/],
      ["{{/products}}", /without \{\{#products\}\}/],
      ["{{#products}}<p>{{#products}}<p></p>{{/products}}</p>{{/products}}", /nested/],
      ["{{#products}}<p></p>{{/products}}{{#products}}<p></p>{{/products}}", /one \{\{#products\}\} block/],
      ["{{#products}}text<p></p>{{/products}}", /must begin with an element/],
      ["{{#products}}{{product.title}}<p></p>{{/products}}", /must begin with an element/],
      ["{{#products}}<!-- c --><p></p>{{/products}}", /must begin with an element/],
      ["{{#products}} {{/products}}", /empty/],
      ['<a title="{{#products}}"><p></p>{{/products}}', /between elements/],
      ['{{#products}}<a title="{{/products}}">', /between elements/],
      ["{{#products}}<p></p>{{/products}}<a", /ends inside a tag/],
      ["{{#products}}<p>{{product.title}</p>{{/products}}", /never closed by \}\}|unknown macro/],
      // In a browser the second </script> ends this script, so the macro would be code.
      [
        "{{#products}}<p><script><!--<script></script>{{product.title}}</script></p>{{/products}}",
        /<!--` inside <script>/
      ]
    ]
    for (const [source, message] of cases) assert.match(failure(source).message, message, source)
    assert.strictEqual(failure("x".repeat(Template.maxLength + 1)).reason, "TooLarge")
  })
})

// A tokenizer of the rendered output, independent of the compiler's: tags with their attributes, and text.
type Token = { readonly tag: string; readonly attrs: ReadonlyArray<[string, string]> } | { readonly text: string }
const decode = (s: string) =>
  s.replace(/&(amp|lt|gt|quot|#39);/g, (_, e: string) =>
    e === "amp" ? "&" : e === "lt" ? "<" : e === "gt" ? ">" : e === "quot" ? '"' : "'"
  )
const tokenize = (html: string): Array<Token> => {
  const tokens: Array<Token> = []
  const tag = /<(\/?[A-Za-z][^\s/>]*)((?:\s+[^\s/>"'=]+(?:\s*=\s*(?:"[^"]*"|'[^']*'|[^\s>"'=<`]+))?)*)\s*\/?>/y
  const attr = /\s+([^\s/>"'=]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>"'=<`]+)))?/y
  let i = 0
  let text = ""
  while (i < html.length) {
    tag.lastIndex = i
    const m = html[i] === "<" ? tag.exec(html) : null
    if (m === null) {
      assert.notMatch(html.slice(i, i + 2), /^<[A-Za-z/!?]/, `unparsed markup at ${html.slice(i, i + 40)}`)
      text += html[i]
      i++
      continue
    }
    if (text !== "") tokens.push({ text: decode(text) })
    text = ""
    const attrs: Array<[string, string]> = []
    attr.lastIndex = 0
    const body = m[2]!
    while (attr.lastIndex < body.length) {
      const a = attr.exec(body)
      if (a === null) break
      attrs.push([a[1]!.toLowerCase(), decode(a[2] ?? a[3] ?? a[4] ?? "")])
    }
    tokens.push({ tag: m[1]!.toLowerCase(), attrs })
    i += m[0].length
  }
  if (text !== "") tokens.push({ text: decode(text) })
  return tokens
}
const shape = (tokens: ReadonlyArray<Token>) =>
  tokens.flatMap((t) => ("tag" in t ? [`${t.tag}[${t.attrs.map(([n]) => n).join(",")}]`] : []))

describe("Template properties", () => {
  const source = `<div class="ad">{{#products}}
<a class="p" href="{{product.clickUrl}}?pid={{product.id}}" title="{{product.title}}" data-brand='{{product.brand}}'><img src="{{product.image}}" alt="{{product.description}}"><span>{{product.title}}</span><b>{{product.price}}</b><i>{{product.productType}}</i><u>{{product.link}}</u></a>{{/products}}</div>`
  const template = compile(source)
  const anyText = fc.oneof(
    hostile,
    fc.string({ unit: "binary", maxLength: 30 }),
    fc.string({ unit: fc.constantFrom("<", ">", '"', "'", "&", "=", "/", " ", "a", "`", ";", "#"), maxLength: 20 })
  )
  const anyUrl = fc.oneof(
    fc.constantFrom(
      "javascript:alert(1)",
      "JAVASCRIPT:x",
      " javascript:x",
      "java\nscript:x",
      "data:x",
      'https://ok.example/"><script>',
      "http://ok.example/'onerror='x",
      "https://ok.example/a b"
    ),
    anyText
  )
  const hostileItem = fc.record({
    product: fc
      .record({
        base: product,
        id: anyText,
        title: anyText,
        description: anyText,
        brand: anyText,
        productType: anyText,
        link: anyUrl,
        imageLink: anyUrl
      })
      .map(({ base, ...fields }) => ({ ...base, ...fields })),
    clickUrl: fc.option(anyUrl, { nil: undefined })
  })
  const benign = (n: number) =>
    Array.from({ length: n }, (): Template.Item => ({ product: { ...knife, description: "d", productType: "t" } }))

  it("keeps the template's markup whatever the values: same tags and attributes, URLs only http(s), text as given", () => {
    fc.assert(
      fc.property(fc.array(hostileItem, { maxLength: 4 }), (items) => {
        const tokens = tokenize(Template.render(template, items))
        assert.deepStrictEqual(shape(tokens), shape(tokenize(Template.render(template, benign(items.length)))))
        const anchors = tokens.filter((t): t is Extract<Token, { tag: string }> => "tag" in t && t.tag === "a")
        const images = tokens.filter((t): t is Extract<Token, { tag: string }> => "tag" in t && t.tag === "img")
        const spans = tokens.flatMap((t, k) => ("tag" in t && t.tag === "span" ? [tokens[k + 1]] : []))
        items.forEach((item, k) => {
          const a = new Map(anchors[k]!.attrs)
          assert.strictEqual(a.get("data-oa-product-id"), item.product.id.toWellFormed())
          assert.strictEqual(a.get("title"), item.product.title.toWellFormed())
          const href = a.get("href")!
          assert.match(href, /^(https?:\/\/\S*)?\?pid=/, href)
          assert.strictEqual(decodeURIComponent(href.slice(href.indexOf("?pid=") + 5)), item.product.id.toWellFormed())
          const src = new Map(images[k]!.attrs).get("src")!
          assert.match(src, /^(https?:\/\/\S*)?$/, src)
          const title = item.product.title.toWellFormed()
          assert.deepStrictEqual(spans[k], title === "" ? { tag: "/span", attrs: [] } : { text: title })
        })
      }),
      { seed: 17, numRuns: 400 }
    )
  })

  it("compiles or refuses any text without throwing, and what compiles renders hostile values without new tags", () => {
    let compiledCount = 0
    const pieces = fc.constantFrom(
      "<",
      ">",
      "</",
      "<!--",
      "-->",
      '"',
      "'",
      "=",
      " ",
      "a",
      "p",
      "href",
      "src",
      "title",
      "script",
      "{{",
      "}}",
      "{{product.title}}",
      "{{product.link}}",
      "{{#products}}",
      "{{/products}}",
      "<p>",
      '<a href="',
      "<img src='",
      "x",
      "{{#products}}<p>",
      "</p>{{/products}}",
      '<a title="',
      '" href="',
      "{{product.clickUrl}}",
      "{{product.id}}"
    )
    const free = fc.array(pieces, { maxLength: 30 }).map((p) => p.join(""))
    const balanced = fc.constantFrom(
      "<p>",
      "</p>",
      "x",
      " ",
      "&amp;",
      '<a href="{{product.clickUrl}}">',
      "</a>",
      "{{product.title}}",
      "{{product.id}}",
      '<img alt="',
      '{{product.title}}"',
      '">',
      '<img src="{{product.image}}">',
      "<b title='{{product.brand}}'>",
      "<",
      ">",
      '"',
      "'",
      "="
    )
    const few = fc.array(balanced, { maxLength: 8 }).map((p) => p.join(""))
    const shaped = fc
      .tuple(few, fc.constantFrom("p", "a", "img", "li", "A"), fc.constantFrom(">", " ", "/>", ' class="'), few, few)
      .map(([pre, tag, end, mid, post]) => `${pre}{{#products}}<${tag}${end}${mid}{{/products}}${post}`)
    fc.assert(
      fc.property(
        fc.oneof({ weight: 1, arbitrary: free }, { weight: 4, arbitrary: shaped }),
        fc.array(hostileItem, { maxLength: 2 }),
        (src, items) => {
          const compiled = Template.compile(src)
          compiledCount += Either.isRight(compiled) ? 1 : 0
          if (Either.isLeft(compiled)) {
            assert.strictEqual(compiled.left._tag, "TemplateError")
            return
          }
          const html = Template.render(compiled.right, items)
          const clean = Template.render(compiled.right, benign(items.length))
          assert.strictEqual(html.split("<").length, clean.split("<").length, `${src}\n${html}`)
          assert.strictEqual(html.split('"').length, clean.split('"').length, `${src}\n${html}`)
          assert.strictEqual(html.split("'").length, clean.split("'").length, `${src}\n${html}`)
          assert.notMatch(html, /(href|src)\s*=\s*["']?\s*javascript:/i)
          assert.strictEqual(html.split(`${Template.productIdAttribute}="`).length - 1, items.length, html)
        }
      ),
      { seed: 18, numRuns: 3000 }
    )
    // The property says little unless many random templates compile.
    assert.isAbove(compiledCount, 100)
  })
})
