/**
 * The events the browser tag and the server-to-server API send: page view, product view, add to cart,
 * conversion and engagement, all sharing one context (event id, site key, timestamps, page, visitor, consent
 * signals as sent). Decoding is strict: unknown fields, unbounded strings, fractional or negative money and
 * unknown currencies are rejected with a message that names the field.
 *
 * @since 0.1.0
 */
import * as Either from "effect/Either"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import * as Currency from "./Currency.js"
import { boundedInt, boundedString, Flag } from "./internal/fields.js"
import { describe } from "./internal/describe.js"
import { fastDecode } from "./internal/fastDecode.js"
import * as Money from "./Money.js"

const opt = <S extends Schema.Schema.All>(schema: S) => Schema.optionalWith(schema, { exact: true })

/**
 * An event id: 8 to 64 URL-safe characters, chosen by the sender and used for idempotency.
 *
 * @since 0.1.0
 * @category schemas
 */
export const EventId = boundedString(8, 64, {
  pattern: /^[A-Za-z0-9_-]+$/,
  alphabet: "url-safe",
  what: "an event id of 8 to 64 characters from A-Z a-z 0-9 _ -"
}).annotations({ identifier: "EventId" })

/**
 * A site key: 1 to 64 characters, lowercase letters, digits, `_` and `-`.
 *
 * @since 0.1.0
 * @category schemas
 */
export const SiteKey = boundedString(1, 64, {
  pattern: /^[a-z0-9][a-z0-9_-]*$/,
  alphabet: "site",
  what: "a site key of 1 to 64 characters from a-z 0-9 _ -"
}).annotations({ identifier: "SiteKey" })

/**
 * A first-party visitor id as the tag keeps it on the site's own domain.
 *
 * @since 0.1.0
 * @category schemas
 */
export const VisitorId = boundedString(8, 64, {
  pattern: /^[A-Za-z0-9_-]+$/,
  alphabet: "url-safe",
  what: "a visitor id of 8 to 64 characters from A-Z a-z 0-9 _ -"
}).annotations({ identifier: "VisitorId" })

/**
 * Epoch milliseconds, from 2000-01-01 to 2100-01-01.
 *
 * @since 0.1.0
 * @category schemas
 */
export const Timestamp = boundedInt(946_684_800_000, 4_102_444_800_000, "epoch milliseconds between 2000 and 2100")

/**
 * A product id or SKU.
 *
 * @since 0.1.0
 * @category schemas
 */
export const ProductId = boundedString(1, 128)

/**
 * A product category label.
 *
 * @since 0.1.0
 * @category schemas
 */
export const Category = boundedString(1, 128)

/**
 * A quantity of items: 1 to 10,000.
 *
 * @since 0.1.0
 * @category schemas
 */
export const Quantity = boundedInt(1, 10_000, "a quantity from 1 to 10000")

/**
 * Consent signals exactly as the sender saw them. They are evidence for the server's own decision, never the
 * decision itself. `gdprApplies` is the page's IAB TCF CMP answer (`__tcfapi` `gdprApplies`): whether the GDPR
 * applies to this visitor (added in schema version 1-0-1).
 *
 * @since 0.1.0
 * @category schemas
 */
export const ConsentSignals = Schema.Struct({
  gpc: opt(Flag),
  dnt: opt(Flag),
  optout: opt(Flag),
  tcf: opt(boundedString(1, 4096)),
  gpp: opt(boundedString(1, 4096)),
  gdprApplies: opt(Flag)
}).annotations({ identifier: "ConsentSignals" })

/**
 * @since 0.1.0
 * @category models
 */
export type ConsentSignals = typeof ConsentSignals.Type

/**
 * Fields every event carries.
 *
 * @since 0.1.0
 * @category schemas
 */
export const context = {
  id: EventId,
  site: SiteKey,
  clientTs: opt(Timestamp),
  serverTs: opt(Timestamp),
  url: opt(boundedString(1, 2048)),
  referrer: opt(boundedString(1, 2048)),
  userAgent: opt(boundedString(1, 512)),
  visitorId: opt(VisitorId),
  consent: opt(ConsentSignals)
}

const currencyRequired =
  (priced: (event: any) => boolean) =>
  (event: { readonly currency?: string | undefined }): true | Schema.FilterIssue =>
    event.currency === undefined && priced(event)
      ? { path: ["currency"], message: "is required when a price or value is given" }
      : true

const strict = { parseOptions: { onExcessProperty: "error" as const } }

/**
 * A page was viewed.
 *
 * @since 0.1.0
 * @category schemas
 */
export const PageView = Schema.Struct({
  type: Schema.Literal("page_view"),
  ...context
}).annotations({ identifier: "PageView", title: "page_view", ...strict })

/**
 * A product detail page was viewed.
 *
 * @since 0.1.0
 * @category schemas
 */
export const ProductView = Schema.Struct({
  type: Schema.Literal("product_view"),
  ...context,
  productId: ProductId,
  category: opt(Category),
  unitPrice: opt(Money.MinorUnits),
  currency: opt(Currency.CurrencyCode)
}).pipe(
  Schema.filter(currencyRequired((e) => e.unitPrice !== undefined)),
  Schema.annotations({ identifier: "ProductView", title: "product_view", ...strict })
)

/**
 * A product was added to the cart.
 *
 * @since 0.1.0
 * @category schemas
 */
export const AddToCart = Schema.Struct({
  type: Schema.Literal("add_to_cart"),
  ...context,
  productId: ProductId,
  quantity: Quantity,
  category: opt(Category),
  unitPrice: opt(Money.MinorUnits),
  currency: opt(Currency.CurrencyCode)
}).pipe(
  Schema.filter(currencyRequired((e) => e.unitPrice !== undefined)),
  Schema.annotations({ identifier: "AddToCart", title: "add_to_cart", ...strict })
)

/**
 * One line of an order.
 *
 * @since 0.1.0
 * @category schemas
 */
export const LineItem = Schema.Struct({
  productId: ProductId,
  quantity: Quantity,
  unitPrice: Money.MinorUnits,
  category: opt(Category)
}).annotations({ identifier: "LineItem", ...strict })

/**
 * The kinds of conversion.
 *
 * @since 0.1.0
 * @category schemas
 */
export const ConversionType = Schema.Literal("purchase", "lead", "signup", "subscription", "other").annotations({
  identifier: "ConversionType",
  message: (issue) => ({
    message: `expected one of purchase, lead, signup, subscription, other, got ${describe(issue.actual)}`,
    override: true
  })
})

/**
 * A conversion: a purchase with its line items, or a lead, signup or subscription.
 *
 * @since 0.1.0
 * @category schemas
 */
export const Conversion = Schema.Struct({
  type: Schema.Literal("conversion"),
  ...context,
  orderId: boundedString(1, 128),
  conversionType: ConversionType,
  currency: opt(Currency.CurrencyCode),
  value: opt(Money.MinorUnits),
  items: Schema.Array(LineItem).pipe(
    Schema.maxItems(100, {
      message: (issue) =>
        Array.isArray(issue.actual)
          ? `expected at most 100 line items, got ${issue.actual.length}`
          : `expected an array of line items, got ${describe(issue.actual)}`
    })
  )
}).pipe(
  Schema.filter(currencyRequired((e) => e.value !== undefined || e.items.length > 0)),
  Schema.annotations({ identifier: "Conversion", title: "conversion", ...strict })
)

/**
 * On-site behaviour: an element clicked, scroll depth, time on page, a coarse pointer position.
 *
 * @since 0.1.0
 * @category schemas
 */
export const Engagement = Schema.Struct({
  type: Schema.Literal("engagement"),
  ...context,
  element: opt(boundedString(1, 128)),
  scrollDepth: opt(boundedInt(0, 100, "a scroll depth percentage from 0 to 100")),
  timeOnPage: opt(boundedInt(0, 86_400_000, "milliseconds from 0 to 86400000")),
  pointerX: opt(boundedInt(0, 100, "a coarse pointer position from 0 to 100")),
  pointerY: opt(boundedInt(0, 100, "a coarse pointer position from 0 to 100"))
}).annotations({ identifier: "Engagement", title: "engagement", ...strict })

/**
 * Any event.
 *
 * @since 0.1.0
 * @category schemas
 */
export const Event = Schema.Union(PageView, ProductView, AddToCart, Conversion, Engagement).annotations({
  identifier: "Event"
})

/**
 * @since 0.1.0
 * @category models
 */
export type Event = typeof Event.Type

/**
 * @since 0.1.0
 * @category models
 */
export type PageView = typeof PageView.Type
/**
 * @since 0.1.0
 * @category models
 */
export type ProductView = typeof ProductView.Type
/**
 * @since 0.1.0
 * @category models
 */
export type AddToCart = typeof AddToCart.Type
/**
 * @since 0.1.0
 * @category models
 */
export type Conversion = typeof Conversion.Type
/**
 * @since 0.1.0
 * @category models
 */
export type Engagement = typeof Engagement.Type
/**
 * @since 0.1.0
 * @category models
 */
export type LineItem = typeof LineItem.Type

/**
 * The event type names.
 *
 * @since 0.1.0
 * @category models
 */
export type EventType = Event["type"]

/**
 * Every event type, in a stable order.
 *
 * @since 0.1.0
 * @category constants
 */
export const eventTypes: ReadonlyArray<EventType> = [
  "page_view",
  "product_view",
  "add_to_cart",
  "conversion",
  "engagement"
]

/**
 * The schema of each event type.
 *
 * @since 0.1.0
 * @category schemas
 */
export const schemas = {
  page_view: PageView,
  product_view: ProductView,
  add_to_cart: AddToCart,
  conversion: Conversion,
  engagement: Engagement
} as const

/**
 * A decoding failure: the first problem, as `path: message`, and every problem found.
 *
 * @since 0.1.0
 * @category errors
 */
export class EventDecodeError extends Schema.TaggedError<EventDecodeError>()("EventDecodeError", {
  field: Schema.String,
  message: Schema.String,
  issues: Schema.Array(Schema.Struct({ field: Schema.String, message: Schema.String }))
}) {}

/**
 * Renders a property path as `items[0].unitPrice` (`root` names the empty path).
 *
 * @since 0.1.0
 * @category formatting
 */
export const formatPath = (path: ReadonlyArray<PropertyKey>, root = "event"): string => {
  let out = ""
  for (const key of path) {
    if (typeof key === "number") out += `[${key}]`
    else out += out === "" ? String(key) : `.${String(key)}`
  }
  return out === "" ? root : out
}

/**
 * The message of a schema issue in the words decoding errors use: "is required", "is not a known field", or the
 * schema's own message.
 *
 * @since 0.1.0
 * @category formatting
 */
export const issueMessage = (issue: ParseResult.ArrayFormatterIssue): string => {
  switch (issue._tag) {
    case "Missing":
      return "is required"
    case "Unexpected":
      return "is not a known field"
    default:
      return issue.message
  }
}

const typeIssue = (input: unknown): ParseResult.ArrayFormatterIssue | undefined => {
  if (typeof input !== "object" || input === null || Array.isArray(input)) {
    return { _tag: "Type", path: [], message: `expected an event object, got ${describe(input)}` }
  }
  const type = (input as { type?: unknown }).type
  if (typeof type !== "string" || !Object.hasOwn(schemas, type)) {
    return {
      _tag: "Type",
      path: ["type"],
      message: `expected one of ${eventTypes.join(", ")}, got ${describe(type)}`
    }
  }
  return undefined
}

/**
 * Turns schema issues into an {@link EventDecodeError}.
 *
 * @since 0.1.0
 * @category errors
 */
export const toDecodeError = (issues: ReadonlyArray<ParseResult.ArrayFormatterIssue>): EventDecodeError => {
  const rendered = issues.map((issue) => ({ field: formatPath(issue.path), message: issueMessage(issue) }))
  const first = rendered[0] ?? { field: "event", message: "is invalid" }
  return new EventDecodeError({ field: first.field, message: `${first.field}: ${first.message}`, issues: rendered })
}

/**
 * The error of a failed schema decode, every issue with its path. Never throws: a value the schema's formatter cannot
 * print (an array given an own `constructor`, say) gives one issue at the event's root instead.
 *
 * @since 0.3.0
 * @category decoding
 */
export const fromParseError = (error: ParseResult.ParseError): EventDecodeError => {
  let issues: ReadonlyArray<ParseResult.ArrayFormatterIssue>
  try {
    issues = ParseResult.ArrayFormatter.formatErrorSync(error)
  } catch {
    issues = [{ _tag: "Type", path: [], message: "is invalid, with a value that cannot be shown" }]
  }
  return toDecodeError(issues)
}

const decoders = Object.fromEntries(
  eventTypes.map((type) => [
    type,
    Schema.decodeUnknownEither(schemas[type] as Schema.Schema<Event, any>, { errors: "all", onExcessProperty: "error" })
  ])
) as Record<EventType, (input: unknown) => Either.Either<Event, ParseResult.ParseError>>

/**
 * Decodes untrusted input (for example a parsed JSON body) into an event, synchronously. Never throws.
 *
 * @since 0.1.0
 * @category decoding
 */
export const decodeUnknown = (input: unknown): Either.Either<Event, EventDecodeError> => {
  // Valid events take a hand-written fast path (several times cheaper than the schema decode, and held to the
  // schemas' decisions by property tests); anything else gets the full schema decode and its precise message.
  const fast = fastDecode(input)
  if (fast !== undefined) return Either.right(fast as Event)
  const early = typeIssue(input)
  if (early !== undefined) return Either.left(toDecodeError([early]))
  const result = decoders[(input as { type: EventType }).type](input)
  return Either.isRight(result) ? Either.right(result.right) : Either.left(fromParseError(result.left))
}

/**
 * Encodes an event to its JSON form (the form the server-to-server API accepts).
 *
 * @since 0.1.0
 * @category encoding
 */
export const encode: (event: Event) => unknown = Schema.encodeSync(Event)
