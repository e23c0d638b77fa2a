/**
 * Consent is enforced by the collector whatever the tag does: every combination of request signals (Sec-GPC, DNT,
 * the opt-out cookie, the visitor's jurisdiction) and forwarded signals (flags, TC and GPP strings built with the IAB
 * reference encoders, malformed strings) is sent, and the database itself is then read: an event whose signals forbid
 * an identifier must have none stored.
 */
import * as SqlClient from "@effect/sql/SqlClient"
import * as SqliteClient from "@effect/sql-sqlite-node/SqliteClient"
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { Collect } from "@openaudience/collector"
import { WireFormat } from "@openaudience/pixel"
import * as Effect from "effect/Effect"
import * as fc from "effect/FastCheck"
import { join } from "node:path"
import { mutations } from "../../../packages/consent/test/fixtures/mutations.js"
import { fullConsent, gppString, tcString } from "../../../packages/consent/test/fixtures/reference.js"
import { inspect, startServer, type TestServer } from "./support/server.js"

let server: TestServer
beforeAll(async () => {
  server = await startServer({ countryHeader: "x-country", regionHeader: "x-region" })
})
afterAll(() => server.stop())

const strings = {
  tcf: {
    granted: tcString(fullConsent),
    denied: tcString({ ...fullConsent, purposeConsents: [2, 3, 4, 7], vendorConsents: [] }),
    malformed: "CQ!!not-a-tc-string"
  },
  gpp: {
    optedOut: gppString({
      usnat: { SaleOptOutNotice: 1, SaleOptOut: 1, TargetedAdvertisingOptOutNotice: 1, TargetedAdvertisingOptOut: 1 }
    }),
    child: gppString({ usnat: { KnownChildSensitiveDataConsents: [1, 1, 1] } }),
    malformed: "DBABMA~garbage~~"
  }
}

interface Combo {
  readonly secGpc: boolean
  readonly dntHeader: boolean
  readonly cookie: boolean
  readonly tagGpc: boolean
  readonly tagDnt: boolean
  readonly tagOptout: boolean
  readonly tcf: keyof typeof strings.tcf | "none"
  readonly gpp: keyof typeof strings.gpp | "none"
  readonly where: "unknown" | "DE" | "US-CA" | "BR"
}

const combo: fc.Arbitrary<Combo> = fc.record({
  secGpc: fc.boolean(),
  dntHeader: fc.boolean(),
  cookie: fc.boolean(),
  tagGpc: fc.boolean(),
  tagDnt: fc.boolean(),
  tagOptout: fc.boolean(),
  tcf: fc.constantFrom("none", "granted", "denied", "malformed"),
  gpp: fc.constantFrom("none", "optedOut", "child", "malformed"),
  where: fc.constantFrom("unknown", "DE", "US-CA", "BR")
})

/**
 * Written from the rules, not from the decision code: any opt-out signal, a child signal, a consent string
 * that cannot be read, and in the EU anything but a valid TC string granting consent, forbids an identifier.
 */
const forbidsIdentifier = (c: Combo): boolean =>
  c.secGpc ||
  c.dntHeader ||
  c.cookie ||
  c.tagGpc ||
  c.tagDnt ||
  c.tagOptout ||
  c.gpp !== "none" ||
  c.tcf === "malformed" ||
  c.tcf === "denied" ||
  (c.where === "DE" && c.tcf !== "granted")

let counter = 0
const send = async (c: Combo): Promise<string> => {
  const id = `evt_consent_${(counter++).toString(36).padStart(6, "0")}_${Date.now().toString(36)}`
  const consent: Record<string, unknown> = {}
  if (c.tagGpc) consent.gpc = true
  if (c.tagDnt) consent.dnt = true
  if (c.tagOptout) consent.optout = true
  if (c.tcf !== "none") consent.tcf = strings.tcf[c.tcf]
  if (c.gpp !== "none") consent.gpp = strings.gpp[c.gpp]
  const event = {
    type: "product_view",
    id,
    site: "demo",
    visitorId: "vis_consent_property_0001",
    productId: "sku-boots",
    ...(Object.keys(consent).length === 0 ? {} : { consent })
  }
  const headers: Record<string, string> = {}
  if (c.secGpc) headers["sec-gpc"] = "1"
  if (c.dntHeader) headers.dnt = "1"
  if (c.cookie) headers.cookie = "oa_optout=1"
  if (c.where !== "unknown") {
    const [country, region] = c.where.split("-")
    headers["x-country"] = country!
    if (region !== undefined) headers["x-region"] = region
  }
  const response = await fetch(`${server.url}/px.gif?${WireFormat.encodeQuery(event as never)}`, { headers })
  assert.strictEqual(response.status, 200, `${JSON.stringify(c)}: ${await response.text()}`)
  return id
}

/** The visitors stored for the events of `ids` (the ids their senders chose, from a browser or a server). */
const storedVisitors = (ids: ReadonlyArray<string>) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const stored = ids.flatMap((id) => [Collect.storedId(id, "browser"), Collect.storedId(id, "server")])
    const rows = yield* sql<{ event_id: string; visitor: string | null }>`
      SELECT event_id, visitor FROM events WHERE tenant = 'demo' AND ${sql.in("event_id", stored)}`
    return new Map(rows.map((row) => [Collect.sentId(row.event_id).id, row.visitor]))
  }).pipe(
    Effect.provide(SqliteClient.layer({ filename: join(server.dataDir, "test.db"), readonly: true })),
    Effect.runPromise
  )

describe("consent enforcement at the collector", () => {
  it("never stores an identifier for an event whose signals forbid one (property, checked in the database)", async () => {
    const sent: Array<[string, Combo]> = []
    await fc.assert(
      fc.asyncProperty(combo, async (c) => {
        sent.push([await send(c), c])
      }),
      { numRuns: 200 }
    )
    // The plain visit of the demo policy (unknown jurisdiction, opt-out model) keeps an identifier, so the
    // property below is not vacuous.
    const plain: Combo = {
      secGpc: false,
      dntHeader: false,
      cookie: false,
      tagGpc: false,
      tagDnt: false,
      tagOptout: false,
      tcf: "none",
      gpp: "none",
      where: "unknown"
    }
    sent.push([await send(plain), plain])
    // A pixel is answered once durable in the collector's append log and reaches the database right after; the
    // inspector answers once every acknowledged pixel is there, so the direct read below sees them all.
    await inspect(server.url, 1)
    const visitors = await storedVisitors(sent.map(([id]) => id))
    let forbidden = 0
    for (const [id, c] of sent) {
      assert.isTrue(visitors.has(id), `event ${id} was stored (counted without identifier at least)`)
      if (forbidsIdentifier(c)) {
        forbidden++
        assert.isNull(visitors.get(id), `identifier stored despite ${JSON.stringify(c)}`)
      }
    }
    assert.isString(visitors.get(sent[sent.length - 1]![0]))
    assert.isAbove(forbidden, 100)
  })

  it("decides by jurisdiction: EU opt-in needs TCF consent, US and unknown are opt-out", async () => {
    const base: Combo = {
      secGpc: false,
      dntHeader: false,
      cookie: false,
      tagGpc: false,
      tagDnt: false,
      tagOptout: false,
      tcf: "none",
      gpp: "none",
      where: "unknown"
    }
    const cases: Array<[Combo, boolean]> = [
      [{ ...base, where: "DE" }, false],
      [{ ...base, where: "DE", tcf: "granted" }, true],
      [{ ...base, where: "DE", tcf: "denied" }, false],
      [{ ...base, where: "US-CA" }, true],
      [{ ...base, where: "US-CA", secGpc: true }, false],
      [{ ...base, where: "unknown" }, true],
      [{ ...base, where: "unknown", dntHeader: true }, false]
    ]
    for (const [c, identified] of cases) {
      const id = await send(c)
      const stored = (await inspect(server.url, 5)).find((e) => e.id === id)
      assert.strictEqual(stored.visitor !== null, identified, JSON.stringify(c))
      assert.strictEqual(stored.consent.decision.identifier, identified)
      assert.strictEqual(stored.consent.model, c.where === "DE" ? "opt-in" : "opt-out")
      assert.strictEqual(stored.consent.policy, "2026-11-29.1")
    }
  })

  it("records child signals and why a malformed string failed closed, without storing the strings", async () => {
    const base: Combo = {
      secGpc: false,
      dntHeader: false,
      cookie: false,
      tagGpc: false,
      tagDnt: false,
      tagOptout: false,
      tcf: "none",
      gpp: "none",
      where: "US-CA"
    }
    const childId = await send({ ...base, gpp: "child" })
    const malformedId = await send({ ...base, tcf: "malformed" })
    const events = await inspect(server.url, 5)
    const childEvent = events.find((e) => e.id === childId)
    assert.isTrue(childEvent.consent.decision.child)
    assert.isNull(childEvent.visitor)
    const malformed = events.find((e) => e.id === malformedId)
    assert.isNull(malformed.visitor)
    assert.isTrue(malformed.consent.decision.reasons.some((r: string) => r.startsWith("tcf:invalid")))
    assert.notInclude(JSON.stringify(events), strings.gpp.child)
    assert.notInclude(JSON.stringify(events), strings.tcf.malformed)
  })

  it("fails closed on random and mutated consent strings from the tag, never with a server error", async () => {
    const text = fc
      .oneof(mutations(strings.tcf.granted), mutations(strings.gpp.optedOut), fc.string({ maxLength: 300 }))
      .filter((t) => t.length > 0 && t.isWellFormed() && !t.includes("\u0000"))
    const ids: Array<string> = []
    await fc.assert(
      fc.asyncProperty(text, fc.constantFrom("tcf", "gpp"), async (value, kind) => {
        const id = `evt_consent_fuzz_${(counter++).toString(36).padStart(6, "0")}`
        const response = await fetch(`${server.url}/v1/events`, {
          method: "POST",
          headers: { authorization: "Bearer test-admin-key", "content-type": "application/json", "x-country": "DE" },
          body: JSON.stringify([
            { type: "page_view", id, site: "demo", visitorId: "vis_consent_fuzz_01", consent: { [kind]: value } }
          ])
        })
        assert.strictEqual(response.status, 200, await response.text())
        ids.push(id)
      }),
      { numRuns: 150 }
    )
    // In the EU only a valid TC string granting consent allows an identifier; a mutated one almost never does, and
    // whatever was decided, the receipt says why.
    const visitors = await storedVisitors(ids)
    const events = await inspect(server.url, 200)
    for (const id of ids) {
      assert.isTrue(visitors.has(id))
      const stored = events.find((e) => e.id === id)
      assert.isDefined(stored)
      if (stored.visitor === null) assert.isAbove(stored.consent.decision.reasons.length, 0)
    }
  })
})
