/**
 * The objection scenario shared by the SQLite and PostgreSQL tests: visitors of the demo shop enter an audience
 * through the pixel, then some of them object (Global Privacy Control, Do Not Track, the opt-out cookie), each
 * carrying the visitor id their browser had. Their memberships end within seconds, their history before the
 * objection no longer counts (not for the members, not for a preview, not for an explanation), and the others are
 * untouched.
 */
import { assert } from "@effect/vitest"
import { WireFormat } from "@openaudience/pixel"
import { randomUUID } from "node:crypto"
import { call, eventually, settledStats } from "./audiences.js"

const browser =
  "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15"

/** Two lamp views within 30 days make a member. */
const rule = {
  version: 1,
  conditions: [
    {
      kind: "event",
      event: "product_view",
      where: { category: "lamps" },
      compare: { op: "gte", value: 2 },
      window: { days: 30 }
    }
  ]
} as const

let n = 0
const pixel = async (url: string, visitorId: string, headers: Record<string, string> = {}) => {
  const event = {
    type: "product_view" as const,
    id: `objsc_${randomUUID().slice(0, 8)}_${n++}`,
    site: "demo",
    visitorId,
    productId: `lamp-${n % 7}`,
    category: "lamps"
  }
  const response = await fetch(`${url}/px.gif?${WireFormat.encodeQuery(event)}`, {
    headers: { "user-agent": browser, ...headers }
  })
  assert.strictEqual(response.status, 200)
  await response.arrayBuffer()
}

const members = async (url: string, id: string) => (await call(url, "GET", `/v1/audiences/${id}/stats`)).body.members

const isMember = async (url: string, id: string, visitor: string) => {
  const explained = await call(url, "GET", `/v1/audiences/${id}/explain?visitor=${encodeURIComponent(visitor)}`)
  assert.strictEqual(explained.status, 200, JSON.stringify(explained.body))
  return explained.body.explanation.member as boolean
}

export const objectionScenario = async (url: string) => {
  const run = randomUUID().slice(0, 8)
  const created = await call(url, "POST", "/v1/audiences", { id: `lamps-${run}`, name: "Lamp lovers", rule })
  assert.strictEqual(created.status, 201, JSON.stringify(created.body))
  const id = created.body.id as string
  const visitors = Array.from({ length: 8 }, (_, i) => `${run}${i.toString(16).padStart(24, "0")}`)
  for (const visitor of visitors) {
    await pixel(url, visitor)
    await pixel(url, visitor)
  }
  await settledStats(url, id)
  await eventually("8 members", async () => ((await members(url, id)) === 8 ? true : undefined))

  // The pseudonyms, read from stored events (the server never stores the ids the browsers hold).
  const stored = await call(url, "GET", "/v1/events?limit=1000")
  const identified = stored.body.events.filter((e: any) => e.visitor !== null && e.data.category === "lamps")
  const pseudonyms = [...new Set<string>(identified.map((e: any) => e.visitor))]
  assert.lengthOf(pseudonyms, 8)
  for (const pseudonym of pseudonyms) assert.isTrue(await isMember(url, id, pseudonym))

  // Three visitors object, each their own way, with the id their browser had (as the tag sends it once).
  await pixel(url, visitors[0]!, { "sec-gpc": "1" })
  await pixel(url, visitors[1]!, { dnt: "1" })
  await pixel(url, visitors[2]!, { cookie: "oa_optout=1" })
  // Memberships end at once (the worker applies the objection records within a poll or two).
  await eventually("objectors leave the audience", async () => ((await members(url, id)) === 5 ? true : undefined), 5)
  const after = await call(url, "GET", "/v1/events?limit=1000")
  const objections = after.body.events.filter((e: any) => e.type === "objection")
  assert.lengthOf(objections, 3)
  const objectors = new Set<string>(objections.map((e: any) => e.visitor))
  for (const pseudonym of pseudonyms) assert.strictEqual(await isMember(url, id, pseudonym), !objectors.has(pseudonym))
  for (const objection of objections)
    assert.deepStrictEqual(objection.data, {}, "an objection record holds nothing else")

  // The history before an objection is not used again: a preview counts only the five others…
  const preview = await call(url, "POST", "/v1/audiences/preview", { rule })
  assert.strictEqual(preview.status, 200, JSON.stringify(preview.body))
  assert.strictEqual(preview.body.size.value, 5)
  // …and one visitor who comes back without an objection starts from nothing: one view is not two.
  await pixel(url, visitors[0]!)
  await new Promise((resolve) => setTimeout(resolve, 1_500))
  assert.strictEqual(await members(url, id), 5, "one view after the objection does not make a member")
  await pixel(url, visitors[0]!)
  await eventually("two new views make a member again", async () => ((await members(url, id)) === 6 ? true : undefined))
}
