/**
 * The audiences admin API on SQLite: the whole lifecycle (preview, create, worker backfill, live events, explain,
 * edit, delete) and bad input: every refusal is a problem naming the field, never a 5xx.
 */
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { call, rules, scenario } from "./support/audiences.js"
import { startServer, type TestServer } from "./support/server.js"

describe("audiences admin API (SQLite)", () => {
  let server: TestServer
  beforeAll(async () => {
    server = await startServer()
  })
  afterAll(async () => {
    await server?.stop()
  })

  it("previews, creates, backfills, follows events, explains, edits and deletes", { timeout: 120_000 }, async () => {
    await scenario(server.url)
  })

  it("needs the admin key", async () => {
    const none = await fetch(`${server.url}/v1/audiences`)
    assert.strictEqual(none.status, 401)
    assert.strictEqual(none.headers.get("content-type"), "application/problem+json")
    const wrong = await call(server.url, "GET", "/v1/audiences", undefined, { authorization: "Bearer nope" })
    assert.strictEqual(wrong.status, 401)
  })

  it("refuses invalid rules with the path of the error, and expensive rules naming the limit", async () => {
    const bad = await call(server.url, "POST", "/v1/audiences", {
      name: "x",
      rule: { ...rules.twoShoeViews, conditions: [{ ...rules.twoShoeViews.conditions[0], window: { days: 9999 } }] }
    })
    assert.strictEqual(bad.status, 422)
    assert.strictEqual(bad.type, "application/problem+json")
    assert.strictEqual(bad.body.field, "rule.conditions[0].window.days")
    assert.match(bad.body.detail, /^rule\.conditions\[0\]\.window\.days: /)

    const deep = (n: number): unknown =>
      n === 0
        ? { kind: "event", event: "page_view" }
        : { kind: "all", conditions: [deep(n - 1), { kind: "event", event: "product_view" }] }
    const tooDeep = await call(server.url, "POST", "/v1/audiences", {
      name: "deep",
      rule: { version: 1, conditions: [deep(12)] }
    })
    assert.strictEqual(tooDeep.status, 422)
    assert.strictEqual(tooDeep.body.reason, "too-complex")
    assert.isString(tooDeep.body.limit)

    const missing = await call(server.url, "POST", "/v1/audiences", { name: "no rule" })
    assert.strictEqual(missing.status, 422)
    assert.strictEqual(missing.body.field, "rule")
  })

  it("refuses bad bodies, unknown fields, bad ids and duplicates with 4xx problems", async () => {
    const cases: Array<[unknown, number, string | undefined]> = [
      ["{not json", 400, undefined],
      [[1, 2], 400, undefined],
      [{ name: "", rule: rules.hats }, 400, "name"],
      [{ name: "x".repeat(201), rule: rules.hats }, 400, "name"],
      [{ name: "x", rule: rules.hats, status: "paused" }, 400, "status"],
      [{ name: "x", rule: rules.hats, colour: "red" }, 400, "colour"],
      [{ name: "x", rule: rules.hats, id: "Has Spaces" }, 400, "id"],
      [{ name: "x", rule: rules.hats, id: "../etc" }, 400, "id"]
    ]
    for (const [body, status, field] of cases) {
      const answer = await call(server.url, "POST", "/v1/audiences", body)
      assert.strictEqual(answer.status, status, JSON.stringify(body).slice(0, 80))
      assert.strictEqual(answer.type, "application/problem+json")
      if (field !== undefined) assert.strictEqual(answer.body.field, field)
    }
    const text = await call(server.url, "POST", "/v1/audiences", "name=x", { "content-type": "text/plain" })
    assert.strictEqual(text.status, 415)
    const huge = await call(server.url, "POST", "/v1/audiences", {
      name: "x",
      rule: rules.hats,
      pad: "x".repeat(70_000)
    })
    assert.strictEqual(huge.status, 413)

    const first = await call(server.url, "POST", "/v1/audiences", {
      id: "dup",
      name: "x",
      rule: rules.hats,
      status: "draft"
    })
    assert.strictEqual(first.status, 201)
    const again = await call(server.url, "POST", "/v1/audiences", { id: "dup", name: "y", rule: rules.hats })
    assert.strictEqual(again.status, 409)
    assert.strictEqual(
      (await call(server.url, "PUT", "/v1/audiences/missing", { name: "x", rule: rules.hats })).status,
      404
    )
    const badDays = await call(server.url, "GET", "/v1/audiences/dup/stats?days=0")
    assert.strictEqual(badDays.status, 400)
    assert.strictEqual(badDays.body.field, "days")
    const noVisitor = await call(server.url, "GET", "/v1/audiences/dup/explain")
    assert.strictEqual(noVisitor.status, 400)
    const draft = await call(server.url, "GET", "/v1/audiences/dup/explain?visitor=someone")
    assert.strictEqual(draft.status, 409, "a draft is not evaluated")
    const previewDraft = await call(server.url, "POST", "/v1/audiences/dup/preview")
    assert.strictEqual(previewDraft.status, 200, JSON.stringify(previewDraft.body))
    assert.strictEqual(previewDraft.body.id, "dup")
    assert.isFalse(previewDraft.body.targetable)
  })
})
