/**
 * The audiences admin API scenario shared by the SQLite and PostgreSQL tests: events through `POST /v1/events`,
 * audiences through `/v1/audiences`, the embedded worker applying them.
 */
import { assert } from "@effect/vitest"
import { randomUUID } from "node:crypto"
import { adminKey } from "./server.js"

export const call = async (
  url: string,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {}
): Promise<{ status: number; type: string | null; body: any }> => {
  const response = await fetch(`${url}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${adminKey}`,
      ...(body === undefined ? {} : { "content-type": "application/json" }),
      ...headers
    },
    ...(body === undefined ? {} : { body: typeof body === "string" ? body : JSON.stringify(body) })
  })
  const text = await response.text()
  return {
    status: response.status,
    type: response.headers.get("content-type"),
    body: text === "" ? null : JSON.parse(text)
  }
}

export const sendEvents = async (url: string, events: ReadonlyArray<unknown>) => {
  const answer = await call(url, "POST", "/v1/events", events)
  if (answer.status !== 200 || answer.body.events.some((e: { status: string }) => e.status !== "accepted")) {
    throw new Error(`sending events failed: ${answer.status} ${JSON.stringify(answer.body).slice(0, 500)}`)
  }
}

/** Polls `check` until it returns a value (the embedded worker runs every 250 ms); fails after `seconds`. */
export const eventually = async <A>(what: string, check: () => Promise<A | undefined>, seconds = 30): Promise<A> => {
  const deadline = Date.now() + seconds * 1000
  let last: unknown
  for (;;) {
    try {
      const value = await check()
      if (value !== undefined) return value
    } catch (error) {
      last = error
    }
    if (Date.now() > deadline)
      throw new Error(`${what}: not reached in ${seconds} s${last ? ` (${String(last)})` : ""}`)
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}

/** Waits until the worker has applied every edit, then returns the audience's statistics. */
export const settledStats = (url: string, id: string, members?: number) =>
  eventually(`stats of ${id}`, async () => {
    const stats = await call(url, "GET", `/v1/audiences/${id}/stats`)
    if (stats.status !== 200) throw new Error(`stats answered ${stats.status}: ${JSON.stringify(stats.body)}`)
    if (stats.body.sync.state !== "ready") return undefined
    if (members !== undefined && stats.body.members !== members) return undefined
    return stats.body
  })

export const rules = {
  twoShoeViews: {
    version: 1,
    conditions: [
      {
        kind: "event",
        event: "product_view",
        where: { category: "shoes" },
        compare: { op: "gte", value: 2 },
        window: { days: 14 }
      }
    ]
  },
  hats: {
    version: 1,
    conditions: [{ kind: "event", event: "product_view", where: { category: "hats" }, window: { days: 30 } }]
  }
} as const

/** Product views for `visitors` visitors (ids `vis_<run>_<i>`), `times` each, in `category`. */
export const views = (run: string, visitors: number, times: number, category: string, productId = "sku-1") =>
  Array.from({ length: visitors * times }, (_, n) => ({
    type: "product_view",
    id: `evt_${run}_${category}_${n}_${randomUUID().slice(0, 6)}`,
    site: "demo",
    visitorId: `vis_${run}_${n % visitors}`,
    productId,
    category
  }))

/** The whole API scenario against a running server. */
export const scenario = async (url: string) => {
  const run = randomUUID().slice(0, 8)
  // History before any audience exists: 60 visitors view shoes twice, 10 view hats once.
  await sendEvents(url, views(run, 60, 2, "shoes"))
  await sendEvents(url, views(`${run}h`, 10, 1, "hats"))

  // Preview before activating: 60 would qualify, so it would be targetable (k = 50).
  const preview = await call(url, "POST", "/v1/audiences/preview", { rule: rules.twoShoeViews })
  assert.strictEqual(preview.status, 200, JSON.stringify(preview.body))
  assert.deepStrictEqual(preview.body.size, { value: 60, exact: true, low: 60, high: 60 })
  assert.isTrue(preview.body.targetable)
  assert.strictEqual(preview.body.visitors, 70)
  assert.strictEqual(preview.body.events, 130)

  const created = await call(url, "POST", "/v1/audiences", {
    id: `shoes-${run}`,
    name: "Shoe fans",
    rule: rules.twoShoeViews
  })
  assert.strictEqual(created.status, 201, JSON.stringify(created.body))
  const id = created.body.id as string
  assert.deepStrictEqual(
    { ...created.body, createdAt: undefined, updatedAt: undefined },
    {
      id,
      name: "Shoe fans",
      status: "active",
      version: 1,
      rule: rules.twoShoeViews,
      createdAt: undefined,
      updatedAt: undefined
    }
  )
  const stats = await settledStats(url, id, 60)
  assert.isTrue(stats.targetable)
  assert.strictEqual(stats.k, 50)
  assert.strictEqual(stats.sync.processed, stats.sync.total)
  assert.deepStrictEqual(
    stats.daily.map((d: { entered: number }) => d.entered).reduce((a: number, b: number) => a + b, 0),
    60
  )

  // A small audience stays below the floor: not targetable.
  const hats = await call(url, "POST", "/v1/audiences", {
    name: "Hats",
    rule: rules.hats
  })
  assert.strictEqual(hats.status, 201)
  assert.match(hats.body.id, /^aud_[0-9a-f]{16}$/)
  const hatStats = await settledStats(url, hats.body.id, 10)
  assert.isFalse(hatStats.targetable, "10 members is below k = 50")

  // New events are applied by the worker as they arrive.
  await sendEvents(url, views(`${run}n`, 5, 2, "shoes"))
  await settledStats(url, id, 65)

  // Explanation for a member.
  const visitors = await call(url, "GET", "/v1/events?limit=1")
  const visitor = visitors.body.events[0].visitor as string
  const explained = await call(url, "GET", `/v1/audiences/${id}/explain?visitor=${encodeURIComponent(visitor)}`)
  assert.strictEqual(explained.status, 200, JSON.stringify(explained.body))
  assert.isTrue(explained.body.explanation.member)
  assert.isAbove(explained.body.summary.length, 0)

  // Edit: three views needed now: nobody qualifies; the version grows.
  const edited = await call(url, "PUT", `/v1/audiences/${id}`, {
    name: "Shoe addicts",
    rule: {
      ...rules.twoShoeViews,
      conditions: [{ ...rules.twoShoeViews.conditions[0], compare: { op: "gte", value: 3 } }]
    }
  })
  assert.strictEqual(edited.status, 200, JSON.stringify(edited.body))
  assert.strictEqual(edited.body.version, 2)
  assert.strictEqual(edited.body.name, "Shoe addicts")
  const after = await settledStats(url, id, 0)
  assert.isFalse(after.targetable)
  assert.strictEqual(after.version, 2)

  // List, delete, gone.
  const listed = await call(url, "GET", "/v1/audiences")
  assert.includeMembers(
    listed.body.audiences.map((a: { id: string }) => a.id),
    [id, hats.body.id]
  )
  assert.strictEqual((await call(url, "DELETE", `/v1/audiences/${hats.body.id}`)).status, 204)
  assert.strictEqual((await call(url, "DELETE", `/v1/audiences/${hats.body.id}`)).status, 404)
  assert.strictEqual((await call(url, "GET", `/v1/audiences/${hats.body.id}`)).status, 404)
  assert.strictEqual((await call(url, "GET", `/v1/audiences/${hats.body.id}/stats`)).status, 404)
  return { id }
}
