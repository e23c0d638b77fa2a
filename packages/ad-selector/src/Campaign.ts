/**
 * Campaigns as advertisers define them: a tier (exclusive, contract with a priority, remnant, house), a schedule,
 * budgets and a CPM bid in exact money, targeting, frequency caps and a recency block, a pacing mode and the
 * creatives to choose from. Decoded from JSON with `decode`, which fails with one message naming every broken
 * rule; the selector compiles decoded campaigns into an index once, at load time (`Selector.make`).
 *
 * @since 0.1.0
 */
import { Template } from "@openaudience/catalog"
import { Money } from "@openaudience/event-schema"
import * as Either from "effect/Either"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"

const Id = Schema.String.pipe(
  Schema.minLength(1),
  Schema.maxLength(128),
  Schema.pattern(/^[A-Za-z0-9._:-]+$/, { message: () => "expected an id of letters, digits, '.', '_', ':' or '-'" })
)

/**
 * Where a campaign stands in the order of delivery. Exclusive campaigns come first, then contracts by priority
 * (1 is served before 10), then remnant campaigns by expected value, then house campaigns (the publisher's own,
 * unpaid fill).
 *
 * @since 0.1.0
 * @category schemas
 */
export const Tier = Schema.Union(
  Schema.Struct({ kind: Schema.Literal("exclusive") }),
  Schema.Struct({
    kind: Schema.Literal("contract"),
    priority: Schema.Int.pipe(Schema.between(1, 10, { message: () => "a contract priority is an integer 1–10" }))
  }),
  Schema.Struct({ kind: Schema.Literal("remnant") }),
  Schema.Struct({ kind: Schema.Literal("house") })
).annotations({ identifier: "Tier" })

/**
 * @since 0.1.0
 * @category models
 */
export type Tier = typeof Tier.Type

/**
 * The rank of a tier in delivery order, lowest first: exclusive 0, contract priority p → p, remnant 11, house 12.
 *
 * @since 0.1.0
 * @category combinators
 */
export const tierRank = (tier: Tier): number => {
  switch (tier.kind) {
    case "exclusive":
      return 0
    case "contract":
      return tier.priority
    case "remnant":
      return 11
    case "house":
      return 12
  }
}

const Hour = Schema.Int.pipe(Schema.between(0, 23, { message: () => "an hour is an integer 0–23 (UTC)" }))
const Weekday = Schema.Int.pipe(
  Schema.between(0, 6, { message: () => "a day of the week is an integer 0 (Sunday) – 6 (Saturday), UTC" })
)

/**
 * When a campaign may serve: from `start` (an ISO date-time), until `end` (exclusive) if given, and only during
 * the listed `hours` (0–23) and `days` of the week (0 = Sunday) if given. All in UTC.
 *
 * @since 0.1.0
 * @category schemas
 */
export const Schedule = Schema.Struct({
  start: Schema.DateTimeUtc,
  end: Schema.optional(Schema.DateTimeUtc),
  hours: Schema.optional(Schema.Array(Hour)),
  days: Schema.optional(Schema.Array(Weekday))
}).annotations({ identifier: "Schedule" })

/**
 * @since 0.1.0
 * @category models
 */
export type Schedule = typeof Schedule.Type

/**
 * How much a campaign may spend: per UTC day and in all, in the currency of its bid.
 *
 * @since 0.1.0
 * @category schemas
 */
export const Budget = Schema.Struct({
  daily: Schema.optional(Money.Money),
  total: Schema.optional(Money.Money)
}).annotations({ identifier: "Budget" })

/**
 * @since 0.1.0
 * @category models
 */
export type Budget = typeof Budget.Type

/**
 * Device classes a campaign can target (the anonymizer's generalized device; bots are never served).
 *
 * @since 0.1.0
 * @category schemas
 */
export const Device = Schema.Literal("desktop", "mobile", "tablet", "other", "unknown")

/**
 * @since 0.1.0
 * @category models
 */
export type Device = typeof Device.Type

/**
 * Who and where a campaign may be shown to. Every list that is given must match; an absent list matches
 * everything.
 *
 * - `audiences.include`: the visitor is in any of these audiences of the campaign's tenant (personalized).
 * - `audiences.exclude`: the visitor is in none of these (personalized too: it reads the visitor's memberships).
 * - `recencyDays`: the visitor was seen on the advertiser's site within this many days (personalized).
 * - `sites.include` / `sites.exclude`: publisher site keys; `categories`: page categories; `devices`.
 *
 * Slot sizes are not targeted here: a campaign is eligible for a slot when it has a creative of that size.
 * Hours and days are in the schedule.
 *
 * @since 0.1.0
 * @category schemas
 */
export const Targeting = Schema.Struct({
  audiences: Schema.optional(
    Schema.Struct({
      include: Schema.optional(Schema.Array(Id)),
      exclude: Schema.optional(Schema.Array(Id))
    })
  ),
  recencyDays: Schema.optional(
    Schema.Int.pipe(Schema.between(1, 365, { message: () => "recencyDays is an integer 1–365" }))
  ),
  sites: Schema.optional(
    Schema.Struct({
      include: Schema.optional(Schema.Array(Id)),
      exclude: Schema.optional(Schema.Array(Id))
    })
  ),
  categories: Schema.optional(Schema.Array(Schema.String.pipe(Schema.minLength(1)))),
  devices: Schema.optional(Schema.Array(Device))
}).annotations({ identifier: "Targeting" })

/**
 * @since 0.1.0
 * @category models
 */
export type Targeting = typeof Targeting.Type

/**
 * What a frequency cap counts: impressions of one creative, of the campaign, or of every campaign of the
 * advertiser (the tenant).
 *
 * @since 0.1.0
 * @category schemas
 */
export const CapScope = Schema.Literal("creative", "campaign", "advertiser")

/**
 * The window a cap counts over: the current UTC hour, UTC day, week (Monday 00:00 UTC to Monday), or ever.
 *
 * @since 0.1.0
 * @category schemas
 */
export const CapWindow = Schema.Literal("hour", "day", "week", "lifetime")

/**
 * @since 0.1.0
 * @category models
 */
export type CapWindow = typeof CapWindow.Type

/**
 * At most `max` impressions of `scope` per visitor per `window`.
 *
 * @since 0.1.0
 * @category schemas
 */
export const Cap = Schema.Struct({
  scope: CapScope,
  window: CapWindow,
  max: Schema.Int.pipe(Schema.between(1, 1_000_000, { message: () => "a cap's max is an integer 1–1000000" }))
}).annotations({ identifier: "Cap" })

/**
 * @since 0.1.0
 * @category models
 */
export type Cap = typeof Cap.Type

const LandingUrl = Schema.String.pipe(
  Schema.filter(
    (s) => {
      if (!URL.canParse(s)) return false
      const { protocol } = new URL(s)
      return protocol === "https:" || protocol === "http:"
    },
    { message: () => "a landing URL is an absolute http(s) URL" }
  )
)

const Pixels = Schema.Int.pipe(Schema.between(1, 4096, { message: () => "a creative size is 1–4096 pixels" }))

/**
 * One ad: its size, kind (a static image or a product ad filled from the catalog), where a click leads, and what
 * to render (a product creative's `template`, checked to compile).
 *
 * @since 0.1.0
 * @category schemas
 */
export const Creative = Schema.Struct({
  id: Id,
  width: Pixels,
  height: Pixels,
  kind: Schema.Literal("static", "product"),
  landingUrl: LandingUrl,
  imageUrl: Schema.optional(LandingUrl),
  alt: Schema.optional(Schema.String.pipe(Schema.maxLength(200))),
  template: Schema.optional(
    Schema.String.pipe(
      Schema.maxLength(Template.maxLength),
      Schema.filter((source) => {
        const compiled = Template.compile(source)
        return Either.isRight(compiled) ? undefined : `the template does not compile: ${compiled.left.message}`
      })
    ).annotations({
      description:
        "a product creative's HTML template (@openaudience/catalog's Template: escaped {{product.*}} macros in a " +
        "{{#products}} block); without it the default template"
    })
  )
}).annotations({ identifier: "Creative" })

/**
 * @since 0.1.0
 * @category models
 */
export type Creative = typeof Creative.Type

/**
 * How far back a campaign's ads may earn a conversion: the last click within `clickDays` (1–90, default 7), else the
 * last viewable impression within `viewDays` (0–30, default 1; 0 never credits a view). A campaign without
 * `attribution` uses the defaults (see `attributionOf`).
 *
 * @since 0.1.0
 * @category schemas
 */
export const AttributionWindows = Schema.Struct({
  clickDays: Schema.optionalWith(
    Schema.Int.pipe(Schema.between(1, 90, { message: () => "attribution.clickDays is an integer 1–90" })),
    { default: () => 7 }
  ),
  viewDays: Schema.optionalWith(
    Schema.Int.pipe(Schema.between(0, 30, { message: () => "attribution.viewDays is an integer 0–30" })),
    { default: () => 1 }
  )
}).annotations({
  identifier: "AttributionWindows",
  description: "last click within clickDays (default 7), else last viewable impression within viewDays (default 1)"
})

/**
 * @since 0.1.0
 * @category models
 */
export type AttributionWindows = typeof AttributionWindows.Type

/**
 * The attribution windows of a campaign that names none: 7 days after a click, 1 day after a viewable impression.
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultAttribution: AttributionWindows = { clickDays: 7, viewDays: 1 }

const maxMinor = Math.floor(Number.MAX_SAFE_INTEGER / 1000)

const CampaignFields = Schema.Struct({
  id: Id,
  tenant: Id,
  name: Schema.String.pipe(Schema.maxLength(200)),
  status: Schema.Literal("active", "paused", "ended"),
  tier: Tier,
  schedule: Schedule,
  budget: Schema.optional(Budget),
  bid: Money.Money,
  targeting: Schema.optional(Targeting),
  caps: Schema.optional(Schema.Array(Cap)),
  recencyBlockSeconds: Schema.optional(
    Schema.Int.pipe(Schema.between(1, 31_536_000, { message: () => "recencyBlockSeconds is 1 s to a year" }))
  ),
  pacing: Schema.Literal("even", "asap"),
  creatives: Schema.NonEmptyArray(Creative),
  attribution: Schema.optional(AttributionWindows)
})

const problems = (c: typeof CampaignFields.Type): Array<string> => {
  const out: Array<string> = []
  const currency = c.bid.currency
  for (const [name, money] of [
    ["daily", c.budget?.daily],
    ["total", c.budget?.total]
  ] as const) {
    if (money === undefined) continue
    if (money.currency !== currency) out.push(`budget.${name} is in ${money.currency}, the bid in ${currency}`)
    if (money.amount > maxMinor) out.push(`budget.${name} is too large`)
  }
  if (c.bid.amount > maxMinor) out.push("bid is too large")
  if (c.tier.kind !== "house" && c.bid.amount === 0) out.push("a paid campaign's bid must be above zero")
  const ids = new Set<string>()
  for (const creative of c.creatives) {
    if (ids.has(creative.id)) out.push(`creative id ${creative.id} appears twice`)
    ids.add(creative.id)
  }
  const end = c.schedule.end
  if (end !== undefined && end.epochMillis <= c.schedule.start.epochMillis) out.push("schedule.end is not after start")
  if (c.schedule.hours?.length === 0) out.push("schedule.hours is empty: the campaign could never serve")
  if (c.schedule.days?.length === 0) out.push("schedule.days is empty: the campaign could never serve")
  if (c.pacing === "even" && c.budget?.daily === undefined && (c.budget?.total === undefined || end === undefined)) {
    out.push("even pacing needs a daily budget, or a total budget and an end")
  }
  return out
}

/**
 * A campaign. Beyond the field types, `decode` checks that budgets are in the bid's currency, paid campaigns bid
 * above zero, creative ids are unique, the schedule can serve, and even pacing has a budget to spread (a daily
 * budget, or a total budget and an end date).
 *
 * @since 0.1.0
 * @category schemas
 */
export const Campaign = CampaignFields.pipe(
  Schema.filter((c) => {
    const found = problems(c)
    return found.length === 0 ? undefined : found.join("; ")
  })
).annotations({ identifier: "Campaign" })

/**
 * @since 0.1.0
 * @category models
 */
export type Campaign = typeof Campaign.Type

/**
 * The JSON form of a campaign (dates as ISO strings).
 *
 * @since 0.1.0
 * @category models
 */
export type Encoded = typeof Campaign.Encoded

const decodeEither = Schema.decodeUnknownEither(Campaign, { errors: "all", onExcessProperty: "error" })

/**
 * Decodes a campaign from JSON, failing with a message that names every broken field.
 *
 * @since 0.1.0
 * @category decoding
 */
export const decode = (input: unknown): Either.Either<Campaign, string> => {
  try {
    return Either.mapLeft(decodeEither(input), (error) => ParseResult.TreeFormatter.formatErrorSync(error))
  } catch {
    // Effect's union decoding converts a tag value to text, which throws for an object such as {"toString": false}
    // (valid JSON): such a document is no campaign.
    return Either.left(unconvertible)
  }
}

const unconvertible = "a value is an object that cannot be read as text (it has a toString or valueOf field)"

/**
 * Encodes a campaign to its JSON form.
 *
 * @since 0.1.0
 * @category encoding
 */
export const encode: (campaign: Campaign) => Encoded = Schema.encodeSync(Campaign)

/**
 * Whether a campaign reads the visitor's data: audiences included or excluded, or recency. Such a campaign is
 * served only to a visitor with an identifier and personalization allowed, never on a child-directed site or to
 * a child.
 *
 * @since 0.1.0
 * @category predicates
 */
export const isPersonalized = (c: Campaign): boolean =>
  (c.targeting?.audiences?.include?.length ?? 0) > 0 ||
  (c.targeting?.audiences?.exclude?.length ?? 0) > 0 ||
  c.targeting?.recencyDays !== undefined

/**
 * Whether a campaign keeps per-visitor state: frequency caps or a recency block. Such a campaign is served only
 * to a visitor with an identifier whose counters could be read (caps fail closed), never with a child signal or on
 * a child-directed site.
 *
 * @since 0.1.0
 * @category predicates
 */
export const isCapped = (c: Campaign): boolean => (c.caps?.length ?? 0) > 0 || c.recencyBlockSeconds !== undefined

/**
 * A campaign's attribution windows: its own, else `defaultAttribution` (campaigns stored before windows existed).
 *
 * @since 0.1.0
 * @category combinators
 */
export const attributionOf = (c: Campaign): AttributionWindows => c.attribution ?? defaultAttribution
