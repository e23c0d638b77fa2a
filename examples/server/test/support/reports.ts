/**
 * The partner-report scenario shared by the SQLite and PostgreSQL tests: events seeded through the browser endpoint `POST /collect`, each visitor from its own client network
 * (product views in categories A, B, C, D and E, conversions in A and in A+B), report requests, and the
 * differencing check an attacker would run on what several reports publish.
 */
import { randomUUID } from "node:crypto"
import { Ip } from "@openaudience/anonymizer"
import { WireFormat } from "@openaudience/pixel"
import * as Either from "effect/Either"
import { fullConsent, tcString, VENDOR } from "../../../../packages/consent/test/fixtures/reference.js"
import { adminKey } from "./server.js"

export const userAgents = {
  chrome:
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
  firefox: "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:121.0) Gecko/20100101 Firefox/121.0",
  iphone:
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1"
} as const

/** A TC string that allows identifiers but not measurement (no purpose 7 consent). */
export const noMeasurement = tcString({
  ...fullConsent,
  purposeConsents: [1, 2, 3, 4],
  purposeLegitimateInterests: [2],
  disclosedVendors: [VENDOR, 755]
})

const day = (offset: number) => new Date(Date.now() + offset * 86_400_000).toISOString().slice(0, 10)

/** A range around today, so a test running across midnight still covers every event. */
export const range = () => ({ from: day(-1), to: day(1) })

/**
 * The proxies the report servers trust (loopback), so that seeding can give each visitor its own client network:
 * k-anonymity also asks for k distinct networks, and a server-to-server call has no client network at all.
 */
export const trustedProxies = Either.getOrThrow(Ip.trustedProxies("loopback"))

let network = 0

/**
 * Sends each visitor's events through the browser endpoint from its own client network (`10.x.y.0/24`), with the
 * event's user agent; events without a visitor come from one more network (an `x-forwarded-for` in `headers` wins).
 */
export const collect = async (url: string, events: ReadonlyArray<any>, headers: Record<string, string> = {}) => {
  const groups = new Map<string, Array<any>>()
  for (const event of events) {
    const key = `${event.visitorId ?? ""}|${event.userAgent ?? ""}`
    const group = groups.get(key)
    if (group === undefined) groups.set(key, [event])
    else group.push(event)
  }
  for (const group of groups.values()) {
    const n = network++
    const { userAgent, ...first } = group[0]
    const { bodies } = WireFormat.encodeBatch(group.map(({ userAgent: _, ...event }) => event))
    for (const body of bodies) {
      const response = await fetch(`${url}/collect`, {
        method: "POST",
        headers: {
          "content-type": "text/plain;charset=UTF-8",
          "x-forwarded-for": `10.${(n >> 8) & 255}.${n & 255}.7`,
          ...(userAgent === undefined ? {} : { "user-agent": userAgent }),
          ...headers
        },
        body
      })
      const answer = (await response.json()) as { accepted?: number; rejected?: number }
      if (response.status !== 200 || answer.rejected) {
        throw new Error(`seeding ${first.id} failed: ${response.status} ${JSON.stringify(answer).slice(0, 500)}`)
      }
    }
  }
}

/**
 * Product views (measured: 120 distinct visitors, 133 events):
 * - A: 60 visitors (Chrome, country unknown), 10 of them twice: 70 events;
 * - B: 5 visitors (Mobile Safari, country unknown);
 * - C: 3 identifier-free events (Chrome, country unknown): 0 known visitors;
 * - D: 55 visitors (Firefox, US);
 * - E: 60 visitors whose consent forbids measurement (stored, never counted).
 * Conversions: 60 visitors buying in A, 55 buying in A and B ("mixed").
 * Each visitor comes from its own client network (see `collect`).
 */
export const seed = async (url: string) => {
  const run = randomUUID().slice(0, 8)
  const id = (prefix: string, i: number) => `evt_${run}_${prefix}_${i}`
  const visitor = (group: string, i: number) => `vis_${run}_${group}_${i}`
  const view = (category: string, eventId: string, visitorId: string | undefined, userAgent: string) => ({
    type: "product_view",
    id: eventId,
    site: "demo",
    productId: `sku-${category}`,
    category,
    userAgent,
    ...(visitorId === undefined ? {} : { visitorId })
  })
  const a = Array.from({ length: 60 }, (_, i) => view("A", id("a", i), visitor("a", i), userAgents.chrome))
  const again = Array.from({ length: 10 }, (_, i) => view("A", id("a2", i), visitor("a", i), userAgents.chrome))
  const b = Array.from({ length: 5 }, (_, i) => view("B", id("b", i), visitor("b", i), userAgents.iphone))
  const c = Array.from({ length: 3 }, (_, i) => view("C", id("c", i), undefined, userAgents.chrome))
  const d = Array.from({ length: 55 }, (_, i) => view("D", id("d", i), visitor("d", i), userAgents.firefox))
  const e = Array.from({ length: 60 }, (_, i) => ({
    ...view("E", id("e", i), visitor("e", i), userAgents.chrome),
    consent: { tcf: noMeasurement }
  }))
  const conversion = (i: number, categories: ReadonlyArray<string>, group: string) => ({
    type: "conversion",
    id: id(`conv_${group}`, i),
    site: "demo",
    visitorId: visitor(`buyer_${group}`, i),
    orderId: `order-${run}-${group}-${i}`,
    conversionType: "purchase",
    currency: "EUR",
    items: categories.map((category, n) => ({
      productId: `sku-${category}-${n}`,
      quantity: 1,
      unitPrice: 1000,
      category
    }))
  })
  await collect(url, [...a, ...again, ...b, ...c, ...e])
  await collect(url, d, { "x-country": "US" })
  await collect(url, [
    ...Array.from({ length: 60 }, (_, i) => conversion(i, ["A"], "a")),
    ...Array.from({ length: 55 }, (_, i) => conversion(i, ["A", "B", "A"], "ab"))
  ])
}

export interface Cell {
  readonly dimensions: Record<string, string>
  readonly count: number
  readonly visitors: number
}

export interface ReportBody {
  readonly report: string
  readonly from: string
  readonly to: string
  readonly by: ReadonlyArray<string>
  readonly k: number
  readonly cells: ReadonlyArray<Cell>
  readonly totals: ReadonlyArray<Cell>
  readonly suppressed: number
  readonly privacy: {
    readonly mechanism: string
    readonly epsilon: number | null
    readonly remainingEpsilon: number | null
    readonly [key: string]: unknown
  }
}

/** `GET /v1/reports/<name>?…` with the admin key (or `key`, or none for `null`); returns the status and the parsed body. */
export const report = async (
  url: string,
  name: string,
  params: Record<string, string>,
  key: string | null = adminKey
): Promise<{ status: number; contentType: string | null; body: any }> => {
  const response = await fetch(`${url}/v1/reports/${name}?${new URLSearchParams(params)}`, {
    headers: key === null ? {} : { authorization: `Bearer ${key}` }
  })
  return { status: response.status, contentType: response.headers.get("content-type"), body: await response.json() }
}

/** Fails the test unless the answer is 200; returns the report. */
export const ok = async (url: string, name: string, params: Record<string, string>): Promise<ReportBody> => {
  const answer = await report(url, name, params)
  if (answer.status !== 200) throw new Error(`report answered ${answer.status}: ${JSON.stringify(answer.body)}`)
  return answer.body as ReportBody
}

const covers = (coarse: Record<string, string>, fine: Record<string, string>) =>
  Object.entries(coarse).every(([name, value]) => fine[name] === value)

/**
 * The differencing attack over several reports of the same range: for every published number X (a cell or a
 * total of any report) and every report R broken down by at least X's dimensions, X minus the published cells
 * of R that X covers is what the attacker learns about R's withheld cells under X. Returns every difference that
 * describes some events but fewer than k visitors (each visitor difference is a lower bound of the distinct
 * visitors in the withheld remainder).
 */
export const differencing = (reports: ReadonlyArray<ReportBody>, k: number) => {
  const leaks: Array<{ readonly total: Cell; readonly by: ReadonlyArray<string>; count: number; visitors: number }> = []
  const published = reports.flatMap((r) => [...r.cells, ...r.totals])
  for (const total of published) {
    for (const r of reports) {
      if (!Object.keys(total.dimensions).every((name) => r.by.includes(name))) continue
      let count = total.count
      let visitors = total.visitors
      for (const cell of r.cells) {
        if (!covers(total.dimensions, cell.dimensions)) continue
        count -= cell.count
        visitors -= cell.visitors
      }
      if (count !== 0 && visitors < k) leaks.push({ total, by: r.by, count, visitors })
    }
  }
  return leaks
}
