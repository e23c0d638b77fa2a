/**
 * Fuzzing the collector's public endpoints over real HTTP: random and mutated pixel query strings (flipped,
 * inserted and deleted characters, stray and invalid-UTF-8 percent-escapes, huge values), random and mutated
 * `POST /collect` bodies, and random, mutated and deeply nested JSON on `POST /v1/events`. Whatever arrives,
 * the server answers below 500, every error is an RFC 9457 problem with a `type`, and it stays healthy.
 */
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { WireFormat } from "@openaudience/pixel"
import * as fc from "effect/FastCheck"
import { adminKey, startServer, type TestServer } from "./support/server.js"

const runs = 1000

/** Statuses seen per endpoint, to check the fuzzing reached both the storing and the refusing paths. */
const seen = new Map<string, Map<number, number>>()
const note = (route: string, status: number) => {
  const counts = seen.get(route) ?? new Map<number, number>()
  counts.set(status, (counts.get(status) ?? 0) + 1)
  seen.set(route, counts)
}
const reachedBoth = (route: string) => {
  const counts = seen.get(route) ?? new Map<number, number>()
  const statuses = JSON.stringify([...counts])
  assert.isTrue(counts.has(200), `${route}: some inputs were stored (${statuses})`)
  assert.isTrue(
    [...counts.keys()].some((status) => status >= 400),
    `${route}: some inputs were refused (${statuses})`
  )
}

let server: TestServer
beforeAll(async () => {
  server = await startServer()
})
afterAll(() => server.stop())

// Events ----------------------------------------------------------------------------------------------------

let counter = 0
const freshId = () => `fuzz_${(counter++).toString(36).padStart(8, "0")}`

const context = () => ({
  id: freshId(),
  site: "demo",
  clientTs: 1_764_000_000_000,
  url: "https://shop.example/products/boots?ref=mail",
  referrer: "https://news.example/a",
  visitorId: "vis_fuzz_0123456789",
  consent: { gpc: false, tcf: "CPXxRfAPXxRfAAfKABENB-CgAAAAAAAAAAYgAAAAAAAA" }
})

const templates: ReadonlyArray<() => Record<string, unknown>> = [
  () => ({ type: "page_view", ...context() }),
  () => ({
    type: "product_view",
    ...context(),
    productId: "sku-boots",
    category: "shoes",
    unitPrice: 12900,
    currency: "EUR"
  }),
  () => ({ type: "add_to_cart", ...context(), productId: "sku-boots", quantity: 2, unitPrice: 12900, currency: "EUR" }),
  () => ({
    type: "conversion",
    ...context(),
    orderId: "order-42",
    conversionType: "purchase",
    currency: "EUR",
    value: 27350,
    items: [
      { productId: "sku-boots", quantity: 1, unitPrice: 12900, category: "shoes" },
      { productId: "sku-jacket", quantity: 1, unitPrice: 14450 }
    ]
  }),
  () => ({
    type: "engagement",
    ...context(),
    element: "hero",
    scrollDepth: 80,
    timeOnPage: 12000,
    pointerX: 4,
    pointerY: 96
  })
]

/** A valid event of any type, with a fresh id each time it is generated. */
const validEvent = fc.nat({ max: templates.length - 1 }).map((i) => templates[i]!())

// String mutations ------------------------------------------------------------------------------------------

const percentEscape = fc.integer({ min: 0, max: 255 }).map((b) => `%${b.toString(16).toUpperCase().padStart(2, "0")}`)

/** Text that is hard on a decoder: invalid UTF-8 sequences, broken escapes, separators, wire keys. */
const nasty = fc.oneof(
  fc.constantFrom(
    "%FF%FE",
    "%C3%28",
    "%ED%A0%80",
    "%F4%90%80%80",
    "%E2%82",
    "%C0%AF",
    "%00",
    "%",
    "%%",
    "%G1",
    "&",
    "=",
    "&&==",
    "v=1",
    "v=2",
    "e=cv",
    "it=",
    "__proto__=1",
    "constructor=x",
    "\uFFFD",
    "\uD800",
    "\u2028",
    "+"
  ),
  fc.array(percentEscape, { minLength: 1, maxLength: 8 }).map((parts) => parts.join("")),
  fc.string({ maxLength: 20 }),
  fc.string({ unit: "binary", maxLength: 20 })
)

type Mutation =
  | { readonly op: "flip"; readonly at: number; readonly char: string }
  | { readonly op: "insert"; readonly at: number; readonly text: string }
  | { readonly op: "delete"; readonly at: number; readonly length: number }

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({
    op: fc.constant("flip" as const),
    at: fc.nat(),
    char: fc.string({ unit: "binary", minLength: 1, maxLength: 1 })
  }),
  fc.record({ op: fc.constant("insert" as const), at: fc.nat(), text: nasty }),
  fc.record({ op: fc.constant("delete" as const), at: fc.nat(), length: fc.integer({ min: 1, max: 12 }) })
)

const mutate = (text: string, mutations: ReadonlyArray<Mutation>): string =>
  mutations.reduce((s, m) => {
    const at = s.length === 0 ? 0 : m.at % (s.length + 1)
    if (m.op === "flip") return s.slice(0, at) + m.char + s.slice(at + 1)
    if (m.op === "insert") return s.slice(0, at) + m.text + s.slice(at)
    return s.slice(0, at) + s.slice(at + m.length)
  }, text)

const mutated = (valid: fc.Arbitrary<string>) =>
  fc.tuple(valid, fc.array(mutation, { minLength: 1, maxLength: 8 })).map(([s, ms]) => mutate(s, ms))

/** A huge value in a valid event's field, or repeated keys, or a huge escape run. */
const huge = fc.oneof(
  fc
    .tuple(fc.constantFrom("u", "r", "p", "id", "vid", "tcf", "it", "zz"), fc.integer({ min: 1_000, max: 120_000 }))
    .map(([key, n]) => `v=1&e=pv&id=fuzz_huge_0001&s=demo&${key}=${"a".repeat(n)}`),
  fc.integer({ min: 100, max: 20_000 }).map((n) => `v=1&e=pv&s=demo&id=fuzz_huge_0002${"&t=1".repeat(n)}`),
  fc.integer({ min: 100, max: 5_000 }).map((n) => `v=1&e=pv&s=demo&id=fuzz_huge_0003&u=${"%FF".repeat(n)}`)
)

// Requests and the invariant --------------------------------------------------------------------------------

/** Every answer is below 500; every error is `application/problem+json` with a `type`, its status matching. */
const checkAnswer = async (response: Response, input: unknown): Promise<void> => {
  const body = await response.text()
  const context = `${response.status} for ${JSON.stringify(input)?.slice(0, 300)}: ${body.slice(0, 300)}`
  assert.isBelow(response.status, 500, context)
  if (response.status >= 400) {
    assert.strictEqual(response.headers.get("content-type"), "application/problem+json", context)
    const problem = JSON.parse(body) as { type?: unknown; status?: unknown }
    assert.isString(problem.type, context)
    assert.match(problem.type as string, /^https:\/\/openaudience\.dev\/problems\/[a-z-]+$/, context)
    assert.strictEqual(problem.status, response.status, context)
  }
}

const pixel = (query: string) => fetch(`${server.url}/px.gif?${query}`)

const collect = (body: string | Uint8Array) =>
  fetch(`${server.url}/collect`, {
    method: "POST",
    headers: { "content-type": "text/plain;charset=UTF-8" },
    body: typeof body === "string" ? body : new Uint8Array(body)
  })

const events = (body: string) =>
  fetch(`${server.url}/v1/events`, {
    method: "POST",
    headers: { authorization: `Bearer ${adminKey}`, "content-type": "application/json" },
    body
  })

const validQuery = validEvent.map((event) => WireFormat.encodeQuery(event as any))
const validBatch = fc
  .array(validEvent, { minLength: 1, maxLength: 6 })
  .map((list) => WireFormat.encodeBatch(list as any).bodies[0]!)

// JSON mutations --------------------------------------------------------------------------------------------

const eventKeys = [
  "type",
  "id",
  "site",
  "clientTs",
  "serverTs",
  "url",
  "referrer",
  "userAgent",
  "visitorId",
  "consent",
  "consent.gpc",
  "consent.tcf",
  "productId",
  "quantity",
  "unitPrice",
  "currency",
  "orderId",
  "conversionType",
  "value",
  "items",
  "items.0",
  "items.0.unitPrice",
  "items.1.quantity",
  "scrollDepth",
  "__proto__",
  "constructor"
]

type JsonMutation =
  | { readonly kind: "set"; readonly path: string; readonly value: unknown }
  | { readonly kind: "delete"; readonly path: string }

const jsonMutation: fc.Arbitrary<JsonMutation> = fc.oneof(
  fc.record({
    kind: fc.constant("set" as const),
    path: fc.oneof(fc.constantFrom(...eventKeys), fc.string({ maxLength: 8 })),
    value: fc.oneof(
      fc.jsonValue({ maxDepth: 3 }),
      fc.constantFrom(-1, 0, 1.5, 2 ** 53, -(2 ** 63), 1e308, "", "EUR", "XYZ", "\u0000", "a".repeat(5000))
    )
  }),
  fc.record({ kind: fc.constant("delete" as const), path: fc.constantFrom(...eventKeys) })
)

const applyJson = (event: Record<string, any>, m: JsonMutation): Record<string, any> => {
  const path = m.path.split(".")
  let target: any = event
  for (const key of path.slice(0, -1)) {
    if (typeof target[key] !== "object" || target[key] === null) return event
    target = target[key]
  }
  const last = path[path.length - 1]!
  if (m.kind === "delete") delete target[last]
  else Object.defineProperty(target, last, { value: m.value, enumerable: true, writable: true, configurable: true })
  return event
}

const mutatedEvents = fc
  .array(fc.tuple(validEvent, fc.array(jsonMutation, { minLength: 1, maxLength: 4 })), { minLength: 1, maxLength: 5 })
  .map((list) => list.map(([event, ms]) => ms.reduce(applyJson, event)))

const deepNesting = fc
  .tuple(fc.integer({ min: 1, max: 4_000 }), fc.constantFrom("[", '{"a":', '{"events":['))
  .map(([depth, open]) => {
    const close = open === "[" ? "]" : open === '{"a":' ? "}" : "]}"
    return `${open.repeat(depth)}1${close.repeat(depth)}`
  })

// Properties ------------------------------------------------------------------------------------------------

describe("fuzzing the HTTP endpoints", () => {
  it("GET /px.gif never fails on random or mutated query strings", async () => {
    const query = fc.oneof(
      { weight: 4, arbitrary: mutated(validQuery) },
      { weight: 1, arbitrary: validQuery },
      { weight: 2, arbitrary: fc.string({ unit: "binary", maxLength: 300 }) },
      { weight: 2, arbitrary: fc.array(nasty, { maxLength: 20 }).map((parts) => parts.join("")) },
      { weight: 1, arbitrary: huge }
    )
    await fc.assert(
      fc.asyncProperty(query, async (q) => {
        const response = await pixel(q)
        note("pixel", response.status)
        await checkAnswer(response, q)
        if (response.status === 200) assert.strictEqual(response.headers.get("content-type"), "image/gif")
      }),
      { numRuns: runs }
    )
    reachedBoth("pixel")
  }, 60_000)

  it("POST /collect never fails on random bytes or mutated batches", async () => {
    const body: fc.Arbitrary<string | Uint8Array> = fc.oneof(
      { weight: 4, arbitrary: mutated(validBatch) },
      { weight: 1, arbitrary: validBatch },
      { weight: 2, arbitrary: fc.uint8Array({ maxLength: 2_000 }) },
      {
        weight: 2,
        arbitrary: fc
          .array(fc.oneof(mutated(validQuery), fc.string({ unit: "binary", maxLength: 100 })), { maxLength: 20 })
          .map((lines) => `v=1\n${lines.join("\n")}`)
      },
      {
        weight: 1,
        arbitrary: fc
          .uint8Array({ minLength: 1, maxLength: 64 })
          .map((tail) => Buffer.concat([Buffer.from("v=1\ne=pv&id=fuzz_bytes_01&s=demo&u="), tail]))
      },
      { weight: 1, arbitrary: huge.map((q) => q.replace(/^v=1&/, "v=1\n")) }
    )
    await fc.assert(
      fc.asyncProperty(body, async (b) => {
        const response = await collect(b)
        note("collect", response.status)
        await checkAnswer(response, typeof b === "string" ? b : `bytes:${Buffer.from(b).toString("hex")}`)
      }),
      { numRuns: runs }
    )
    reachedBoth("collect")
  }, 60_000)

  it("POST /v1/events never fails on random, mutated or deeply nested JSON", async () => {
    const body = fc.oneof(
      { weight: 3, arbitrary: mutatedEvents.map((list) => JSON.stringify(list)) },
      { weight: 1, arbitrary: mutatedEvents.map((list) => JSON.stringify({ events: list })) },
      { weight: 2, arbitrary: fc.jsonValue().map((value) => JSON.stringify(value)) },
      {
        weight: 1,
        arbitrary: fc
          .array(fc.jsonValue({ maxDepth: 2 }), { maxLength: 5 })
          .map((list) => JSON.stringify({ events: list }))
      },
      { weight: 1, arbitrary: deepNesting },
      { weight: 2, arbitrary: mutated(validEvent.map((event) => JSON.stringify([event]))) },
      { weight: 1, arbitrary: fc.string({ unit: "binary", maxLength: 200 }) }
    )
    await fc.assert(
      fc.asyncProperty(body, async (b) => {
        const response = await events(b)
        note("events", response.status)
        await checkAnswer(response, b)
      }),
      { numRuns: runs }
    )
    reachedBoth("events")
  }, 60_000)

  it("GET /v1/events never fails on a random limit", async () => {
    const limit = fc.oneof(fc.string({ maxLength: 12 }), fc.integer().map(String), nasty)
    await fc.assert(
      fc.asyncProperty(limit, async (l) => {
        const response = await fetch(`${server.url}/v1/events?limit=${l}`, {
          headers: { authorization: `Bearer ${adminKey}` }
        })
        await checkAnswer(response, l)
      }),
      { numRuns: 100 }
    )
  }, 30_000)

  it("is still healthy and still stores events after the fuzzing", async () => {
    const health = await fetch(`${server.url}/healthz`)
    assert.strictEqual(health.status, 200)
    assert.deepStrictEqual(await health.json(), { status: "ok", storage: "ok" })
    const event = templates[1]!()
    const response = await pixel(WireFormat.encodeQuery(event as any))
    assert.strictEqual(response.status, 200)
    const metrics = await (await fetch(`${server.url}/metrics`)).text()
    assert.notMatch(metrics, /status="5xx"/, "no request was answered with a 5xx")
  })
})
