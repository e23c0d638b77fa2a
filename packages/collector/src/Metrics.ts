/**
 * What the collector counts: each event's outcome and each request's answer. Plain synchronous callbacks, because
 * the hot path calls them per event; a server passes its own counters (Prometheus, OpenTelemetry), and `none`
 * counts nothing. Labels are bounded sets (event types, outcomes, routes, statuses), never user input.
 *
 * @since 0.1.0
 */
import type { Pii } from "@openaudience/anonymizer"

/**
 * What became of one event: stored (`accepted`), already stored (`duplicate`), not stored because its consent
 * decision forbids it (`dropped`) or a bot sent it (`bot`), invalid (`rejected`), or lost to a store failure
 * (`failed`, the sender was told to retry).
 *
 * @since 0.1.0
 * @category models
 */
export type EventOutcome = "accepted" | "duplicate" | "dropped" | "bot" | "rejected" | "failed"

/**
 * The collector's routes, as counted: `pixel` (`GET /px.gif`), `collect` (`POST /collect`) and `events`
 * (`POST /v1/events`, server to server).
 *
 * @since 0.1.0
 * @category models
 */
export type Route = "pixel" | "collect" | "events"

/**
 * The counters the collector reports to.
 *
 * @since 0.1.0
 * @category models
 */
export interface Metrics {
  /** One event's outcome; `type` is the event type, or `"unknown"` when it could not be decoded. */
  readonly countEvent: (type: string, outcome: EventOutcome) => void
  /** One request answered, by route and HTTP status. */
  readonly countRequest: (route: Route, status: number) => void
  /**
   * One free-text field of a stored event replaced by a redaction marker: `field` is its path in the event schema
   * (`productId`, `items[].category`), `kind` what was found in it. Optional: counters without it count nothing.
   */
  readonly countRedaction?: (field: string, kind: Pii.Kind) => void
}

/**
 * Counts nothing.
 *
 * @since 0.1.0
 * @category constructors
 */
export const none: Metrics = {
  countEvent: () => {},
  countRequest: () => {},
  countRedaction: () => {}
}
