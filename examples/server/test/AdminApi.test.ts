/**
 * The admin API as a contract: `/openapi.json` is a valid OpenAPI 3.1 document (checked by an independent
 * validator) that covers every admin route the router serves with the access the server enforces; `/docs` renders
 * it from the server alone; bodies and parameters are decoded by the schemas into problems naming the field path;
 * and authorization comes before any decoding (no key: 401, whatever the body).
 */
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { Validator } from "@seriousme/openapi-schema-validator"
import * as Redacted from "effect/Redacted"
import fc from "fast-check"
import * as Access from "../src/Access.js"
import { adminKey, startServer, type TestServer } from "./support/server.js"
import { call } from "./support/tenancy.js"

const operatorKey = "operator-test-key-admin-api-0123456789"

/** The routes of the admin API: `/v1/*`, except the collector's server-to-server events. */
const adminRoutes = (server: TestServer) =>
  server.routes
    .filter((route) => route.path.startsWith("/v1/") && !(route.method === "POST" && route.path === "/v1/events"))
    .map((route) => `${route.method} ${route.path}`)

describe("the admin API contract", () => {
  let server: TestServer
  let owner: string
  beforeAll(async () => {
    server = await startServer({ demo: true, operatorKey: Redacted.make(operatorKey) })
    const created = await call(server.url, operatorKey, "POST", "/v1/tenants/demo/keys", { role: "owner" })
    assert.strictEqual(created.status, 201, JSON.stringify(created.body))
    owner = created.body.key
  })
  afterAll(() => server?.stop())

  it("is a valid OpenAPI 3.1 document covering every admin route with the access the server enforces", async () => {
    const response = await fetch(`${server.url}/openapi.json`)
    assert.strictEqual(response.status, 200)
    assert.match(response.headers.get("content-type") ?? "", /^application\/json/)
    const spec = (await response.json()) as any
    assert.match(spec.openapi, /^3\.1\./)
    const validator = new Validator()
    const result = await validator.validate(structuredClone(spec))
    assert.deepStrictEqual(result.errors ?? [], [], "validator errors")
    assert.isTrue(result.valid)
    assert.strictEqual(validator.version, "3.1")

    const documented = new Map<string, any>()
    for (const [path, item] of Object.entries<any>(spec.paths)) {
      for (const [method, operation] of Object.entries<any>(item)) {
        documented.set(`${method.toUpperCase()} ${path.replace(/\{([^}]+)\}/g, ":$1")}`, operation)
      }
    }
    const served = adminRoutes(server)
    assert.isAbove(served.length, 25)
    assert.deepStrictEqual(
      served.filter((route) => !documented.has(route)),
      [],
      "served admin routes missing from /openapi.json"
    )
    assert.deepStrictEqual(
      [...documented.keys()].filter((route) => !served.includes(route)),
      [],
      "documented routes the server does not serve"
    )
    for (const [route, operation] of documented) {
      const [method, path] = route.split(" ") as [string, string]
      const access = Access.of(method, path)
      if (access === "public") assert.deepStrictEqual(operation.security, [], route)
      else if (access === "operator") assert.deepStrictEqual(operation.security, [{ operatorKey: [] }], route)
      else {
        assert.deepStrictEqual(operation.security, [{ apiKey: [] }], route)
        assert.strictEqual(operation["x-openaudience-permission"], access, route)
      }
      for (const [status, answer] of Object.entries<any>(operation.responses)) {
        if (Number(status) >= 400) assert.property(answer.content, "application/problem+json", `${route} ${status}`)
      }
    }
  })

  it("has a reference page served without scripts or other origins", async () => {
    const response = await fetch(`${server.url}/docs`)
    assert.strictEqual(response.status, 200)
    assert.match(response.headers.get("content-type") ?? "", /^text\/html/)
    assert.include(response.headers.get("content-security-policy") ?? "", "default-src 'none'")
    const html = await response.text()
    assert.notMatch(html, /<script/i)
    assert.notMatch(html, /(?:src|href)\s*=\s*["']?(?:https?:)?\/\//i, "a resource from another origin")
    for (const route of adminRoutes(server)) {
      const [method, path] = route.split(" ") as [string, string]
      const shown = path.replace(/:(\w+)/g, "{$1}")
      assert.include(html, `${method}</span> <code>${shown}</code>`, route)
    }
  })

  it("refuses a request without a key before reading its body or parameters", async () => {
    for (const [method, path, body] of [
      ["POST", "/v1/sites", { siteKey: 5 }],
      ["POST", "/v1/audiences", "not an object"],
      ["GET", "/v1/events?limit=zero", undefined],
      ["GET", "/v1/audiences/x/stats?days=-1", undefined]
    ] as const) {
      const answer = await call(server.url, "not-a-key", method, path, body)
      assert.strictEqual(answer.status, 401, `${method} ${path}`)
    }
    const operatorOnly = await call(server.url, adminKey, "POST", "/v1/tenants", { name: 7 })
    assert.strictEqual(operatorOnly.status, 401, "an API key is not the operator key")
  })

  it("names the query parameter a schema refuses", async () => {
    for (const [path, field] of [
      ["/v1/events?limit=0", "limit"],
      ["/v1/events?limit=abc", "limit"],
      ["/v1/stats/daily?days=367", "days"],
      ["/v1/audit?limit=1001", "limit"],
      ["/v1/inquiries?status=maybe", "status"]
    ] as const) {
      const answer = await call(server.url, owner, "GET", path)
      assert.strictEqual(answer.status, 400, path)
      assert.strictEqual(answer.body.type, "https://openaudience.dev/problems/invalid-parameter", path)
      assert.strictEqual(answer.body.field, field, path)
      // The same request from a key without the permission is refused for that, not for its parameters.
      if (path.startsWith("/v1/inquiries") || path.startsWith("/v1/audit")) {
        assert.strictEqual((await call(server.url, adminKey, "GET", path)).status, 403, path)
      }
    }
  })

  it("adds a site whose key holds a long number, and audits it; a key that reads as a card number is redacted", async () => {
    /** A number of `length` digits passing the Luhn check (what a card number detector looks for). */
    const luhnValid = (length: number): string => {
      for (;;) {
        let body = String(1 + Math.floor(Math.random() * 9))
        while (body.length < length) body += String(Math.floor(Math.random() * 10))
        let sum = 0
        for (let i = 0; i < body.length; i++) {
          let d = Number(body[body.length - 1 - i])
          if (i % 2 === 1) d = d * 2 > 9 ? d * 2 - 9 : d * 2
          sum += d
        }
        if (sum % 10 === 0) return body
      }
    }
    const cases = [
      { key: `shop-${luhnValid(13)}`, audited: (key: string) => key },
      { key: `${luhnValid(16)}_eu`, audited: (key: string) => key },
      { key: luhnValid(16), audited: () => "[redacted]" }
    ]
    for (const { audited, key } of cases) {
      const added = await call(server.url, adminKey, "POST", "/v1/sites", {
        siteKey: key,
        origins: ["https://numbers.example"]
      })
      assert.strictEqual(added.status, 201, JSON.stringify({ key, added: added.body }))
      assert.strictEqual(added.body.siteKey, key)
      const entries = (await call(server.url, owner, "GET", "/v1/audit?limit=1000")).body.entries as Array<{
        action: string
        outcome: string
        details: Record<string, unknown>
      }>
      const last = entries.filter((e) => e.action === "site.add").at(-1)
      assert.deepStrictEqual([last?.outcome, last?.details], ["success", { site: audited(key) }], key)
    }
  })

  it("decodes bodies by schema: any field made wrong is named by its path, and nothing is written", async () => {
    const before = await call(server.url, adminKey, "GET", "/v1/sites")
    assert.strictEqual(before.status, 200)
    /** A valid site body, and one field of it replaced by a value of the wrong kind (or a field added). */
    const wrong = fc.oneof(
      fc.constant(5),
      fc.constant(null),
      fc.boolean(),
      fc.constant({}),
      fc.constant([1]),
      fc.string({ maxLength: 3 }).map((s) => `${s}\u0000`)
    )
    const mutation = fc.oneof(
      fc.record({ field: fc.constant("siteKey"), path: fc.constant("siteKey"), value: wrong }),
      fc.record({ field: fc.constant("origins"), path: fc.constant("origins"), value: wrong }),
      fc.nat({ max: 2 }).chain((i) =>
        fc.record({
          field: fc.constant("origins"),
          path: fc.constant(`origins[${i}]`),
          index: fc.constant(i),
          value: fc.oneof(fc.constant(5), fc.constant("not an origin"), fc.constant("https://a.example/path"))
        })
      ),
      fc.record({ field: fc.constant("cookieless"), path: fc.constant("cookieless"), value: fc.constant("yes") }),
      fc.record({ field: fc.constant("childDirected"), path: fc.constant("childDirected"), value: fc.constant(1) }),
      fc.record({ field: fc.constant("urlParams"), path: fc.constant("urlParams"), value: fc.constant("utm_source") }),
      fc
        .stringMatching(/^[a-z][a-zA-Z]{0,11}$/)
        .filter((name) => !["siteKey", "origins", "urlParams", "policy", "cookieless", "childDirected"].includes(name))
        .map((name) => ({ field: name, path: name, value: 1 as unknown }))
    )
    await fc.assert(
      fc.asyncProperty(mutation, async (m) => {
        const body: Record<string, any> = {
          siteKey: `prop-${Math.random().toString(36).slice(2, 10)}`,
          origins: ["https://a.example", "https://b.example", "https://c.example"]
        }
        if ("index" in m) body.origins[m.index as number] = m.value
        else body[m.field] = m.value
        const answer = await call(server.url, adminKey, "POST", "/v1/sites", body)
        assert.strictEqual(answer.status, 400, JSON.stringify({ body, answer }))
        assert.strictEqual(answer.body.type, "https://openaudience.dev/problems/invalid-body")
        assert.isTrue(
          answer.body.field === m.path || /^[.[]/.test(answer.body.field.slice(m.path.length)),
          `${answer.body.field} names ${m.path}: ${answer.body.detail}`
        )
        assert.isTrue(answer.body.detail.startsWith(`${answer.body.field}: `), answer.body.detail)
      }),
      { numRuns: 40, seed: 1205 }
    )
    const after = await call(server.url, adminKey, "GET", "/v1/sites")
    assert.deepStrictEqual(after.body, before.body, "a refused body wrote nothing")
  })

  it("names nested fields and lists every field at fault", async () => {
    const answer = await call(server.url, operatorKey, "POST", "/v1/tenants/demo/keys", {
      role: "superuser",
      expiresAt: 12,
      extra: true
    })
    assert.strictEqual(answer.status, 400)
    const fields = (answer.body.errors as Array<{ field: string }>).map((error) => error.field).sort()
    assert.deepStrictEqual(fields, ["expiresAt", "extra", "role"])
    const invite = await call(server.url, owner, "POST", "/v1/users/invitations", { email: ["a@b.example"] })
    assert.strictEqual(invite.status, 400)
    assert.strictEqual(invite.body.field, "email")
  })
})
