import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { SaltStore, UserAgent } from "@openaudience/anonymizer"
import { DecisionCache, Policy } from "@openaudience/consent"
import type { Event } from "@openaudience/event-schema"
import { WireFormat } from "@openaudience/pixel"
import * as Effect from "effect/Effect"
import * as TestClock from "effect/TestClock"
import { Collect, Tenant } from "@openaudience/collector"
import { browserUserAgent } from "./support/browserFetch.js"
import { adminKey, inspect, startServer, type TestServer } from "./support/server.js"

const { requestContext, toStored } = Collect

let server: TestServer
beforeAll(async () => {
  server = await startServer({ demoCookieless: true })
})
afterAll(() => server.stop())

let n = 0
const pageView = (visitorId: string) => ({
  type: "page_view" as const,
  id: `evt_cookieless_${(n++).toString(36).padStart(5, "0")}`,
  site: "demo",
  visitorId
})

const send = async (event: ReturnType<typeof pageView>, headers: Record<string, string> = {}) => {
  const response = await fetch(`${server.url}/px.gif?${WireFormat.encodeQuery(event)}`, { headers })
  assert.strictEqual(response.status, 200)
  return (await inspect(server.url, 20)).find((e) => e.id === event.id)
}

const firefox = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"

describe("cookieless mode", () => {
  it("keys visitors by daily salt, truncated IP, generalized user agent and site, ignoring first-party ids", async () => {
    const a = await send(pageView("vis_first_party_aaaa"))
    const b = await send(pageView("vis_first_party_bbbb"))
    assert.isString(a.visitor)
    assert.strictEqual(a.visitor, b.visitor, "same address block, browser and site: one visitor, whatever the cookie")
    const other = await send(pageView("vis_first_party_aaaa"), { "user-agent": firefox })
    assert.notStrictEqual(other.visitor, a.visitor)
    const gpc = await send(pageView("vis_first_party_aaaa"), { "sec-gpc": "1" })
    assert.isNull(gpc.visitor, "consent still decides whether any identifier is kept")
    const s2s = await fetch(`${server.url}/v1/events`, {
      method: "POST",
      headers: { authorization: `Bearer ${adminKey}`, "content-type": "application/json" },
      body: JSON.stringify([pageView("vis_first_party_cccc")])
    })
    const stored = ((await s2s.json()) as any).events[0]
    assert.strictEqual(stored.status, "accepted")
    const row = (await inspect(server.url, 5)).find((e) => e.id === stored.id)
    assert.isNull(row.visitor, "a server-to-server call has no visitor address, so no cookieless key")
  })

  it.effect("cannot link a visitor across the salt's 48-hour life: the old key cannot be recomputed", () =>
    Effect.gen(function* () {
      const store = yield* SaltStore.SaltStore
      const tenant = Tenant.make(new Uint8Array(32).fill(3), {
        id: "t",
        name: "T",
        siteKeys: ["shop"],
        policy: Policy.demo,
        cookieless: true
      })
      const event: Event.Event = { type: "page_view", id: "evt_cookieless_clock", site: "shop" }
      const keyAt = (salt: SaltStore.Salt) => {
        const request = {
          ...requestContext(
            { "user-agent": browserUserAgent },
            {},
            { remoteAddress: "203.0.113.77", proxies: { cidrs: [], header: "x-forwarded-for" } }
          ),
          salt
        }
        const row = toStored(DecisionCache.make(), tenant, event, request, 0)
        if (typeof row === "string") throw new Error(row)
        return row.visitor
      }
      yield* store.rotate
      const first = yield* store.current
      const before = keyAt(first)
      assert.isString(before)
      assert.strictEqual(keyAt(first), before, "stable within the day")
      yield* TestClock.adjust("49 hours")
      yield* store.rotate
      const later = yield* store.current
      assert.notStrictEqual(keyAt(later), before)
      assert.isTrue(first.destroyed)
      assert.isTrue(first.isZeroed())
      assert.isNull(keyAt(first), "the destroyed salt yields no key at all")
      assert.isFalse(UserAgent.generalize(browserUserAgent).bot)
    }).pipe(Effect.provide(SaltStore.layerMemory))
  )
})
