/**
 * The collector's `Metrics` as Prometheus counters (prom-client), registered in a registry the app owns and serves
 * at its metrics endpoint. Counting stays a plain synchronous increment on the hot path; prom-client renders the
 * text format when the registry is scraped.
 *
 * Imported from `@openaudience/collector/prometheus`, not from the package entry, so that prom-client (an optional
 * peer dependency) is needed only by apps that use it.
 *
 * | Metric | Labels |
 * | --- | --- |
 * | `oa_events_total` | `type`, `outcome` (see `Metrics.EventOutcome`) |
 * | `oa_http_requests_total` | `route` (see `Metrics.Route`), `status` (the class: `2xx`, `4xx`, …) |
 * | `oa_redactions_total` | `field`, `kind` (see @openaudience/anonymizer's `Pii.Kind`) |
 *
 * @since 0.2.0
 */
import { Counter, type Registry } from "prom-client"
import type { Metrics } from "./Metrics.js"

/** Status classes by hundred, so a request does not build the label string. */
const statusClasses = ["0xx", "1xx", "2xx", "3xx", "4xx", "5xx"]

/**
 * Registers the collector's counters in `registry` and returns the `Metrics` that increment them (every method
 * present, so an app can also hand `countEvent` to other reporters, such as storage-sql's `EventWriter` observer).
 * Call it once per registry: prom-client refuses a second metric of the same name.
 *
 * @since 0.2.0
 * @category constructors
 */
export const make = (registry: Registry): Required<Metrics> => {
  const events = new Counter({
    name: "oa_events_total",
    help: "Events received by the collector, by type and outcome.",
    labelNames: ["type", "outcome"] as const,
    registers: [registry]
  })
  const requests = new Counter({
    name: "oa_http_requests_total",
    help: "HTTP requests answered by the collector, by route and status class.",
    labelNames: ["route", "status"] as const,
    registers: [registry]
  })
  const redactions = new Counter({
    name: "oa_redactions_total",
    help: "Free-text fields of stored events redacted for personal data, by field and kind.",
    labelNames: ["field", "kind"] as const,
    registers: [registry]
  })
  return {
    countEvent: (type, outcome) => events.inc({ type, outcome }),
    countRequest: (route, status) =>
      requests.inc({ route, status: statusClasses[Math.floor(status / 100)] ?? `${Math.floor(status / 100)}xx` }),
    countRedaction: (field, kind) => redactions.inc({ field, kind })
  }
}
