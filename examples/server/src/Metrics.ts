/**
 * Prometheus metrics for the collector, kept as plain counters because the hot path updates them per request.
 * Rendered in the text exposition format at `GET /metrics`. Labels are bounded sets (event types, outcomes,
 * routes, status classes), never user input.
 */
import * as Context from "effect/Context"
import * as Layer from "effect/Layer"

export interface MetricsShape {
  readonly countEvent: (
    type: string,
    outcome: "accepted" | "duplicate" | "dropped" | "bot" | "rejected" | "failed"
  ) => void
  readonly countRequest: (route: string, status: number) => void
  /** One free-text field redacted for personal data, by field path and kind (both bounded sets). */
  readonly countRedaction: (field: string, kind: string) => void
  readonly observeCommit: (events: number, millis: number) => void
  /** One group of pixel events written to the append log, until durable. */
  readonly observeAppend: (events: number, millis: number) => void
  /** Reads the number of acknowledged events not yet in the database (the append log's backlog). */
  readonly pendingFrom: (read: () => number) => void
  readonly render: () => string
}

export class Metrics extends Context.Tag("@openaudience/example-server/Metrics")<Metrics, MetricsShape>() {}

const commitBuckets = [1, 2, 5, 10, 25, 50, 100, 250, 1000]

export const make = (): MetricsShape => {
  const events = new Map<string, number>()
  const requests = new Map<string, number>()
  const redactions = new Map<string, number>()
  const commitLatency = new Array<number>(commitBuckets.length).fill(0)
  let commits = 0
  let commitMillis = 0
  let committedEvents = 0
  let appends = 0
  let appendMillis = 0
  let appendedEvents = 0
  let pending = () => 0
  const bump = (map: Map<string, number>, key: string) => map.set(key, (map.get(key) ?? 0) + 1)
  const lines = (name: string, help: string, type: string, body: Array<string>) => [
    `# HELP ${name} ${help}`,
    `# TYPE ${name} ${type}`,
    ...body
  ]
  return {
    countEvent: (type, outcome) => bump(events, `type="${type}",outcome="${outcome}"`),
    countRequest: (route, status) => bump(requests, `route="${route}",status="${Math.floor(status / 100)}xx"`),
    countRedaction: (field, kind) => bump(redactions, `field="${field}",kind="${kind}"`),
    observeCommit: (n, millis) => {
      commits++
      commitMillis += millis
      committedEvents += n
      for (let i = 0; i < commitBuckets.length; i++) if (millis <= commitBuckets[i]!) commitLatency[i]!++
    },
    observeAppend: (n, millis) => {
      appends++
      appendMillis += millis
      appendedEvents += n
    },
    pendingFrom: (read) => {
      pending = read
    },
    render: () => {
      const out = [
        ...lines(
          "oa_events_total",
          "Events received by the collector, by type and outcome.",
          "counter",
          [...events].map(([labels, n]) => `oa_events_total{${labels}} ${n}`)
        ),
        ...lines(
          "oa_http_requests_total",
          "HTTP requests by route and status class.",
          "counter",
          [...requests].map(([labels, n]) => `oa_http_requests_total{${labels}} ${n}`)
        ),
        ...lines(
          "oa_redactions_total",
          "Free-text fields of stored events redacted for personal data, by field and kind.",
          "counter",
          [...redactions].map(([labels, n]) => `oa_redactions_total{${labels}} ${n}`)
        ),
        ...lines("oa_commit_duration_ms", "Group-commit transaction time.", "histogram", [
          ...commitBuckets.map((le, i) => `oa_commit_duration_ms_bucket{le="${le}"} ${commitLatency[i]}`),
          `oa_commit_duration_ms_bucket{le="+Inf"} ${commits}`,
          `oa_commit_duration_ms_sum ${commitMillis.toFixed(3)}`,
          `oa_commit_duration_ms_count ${commits}`
        ]),
        ...lines("oa_committed_events_total", "Events written by group commits.", "counter", [
          `oa_committed_events_total ${committedEvents}`
        ]),
        ...lines("oa_append_duration_ms", "Append-log group time until durable (one O_DSYNC write).", "summary", [
          `oa_append_duration_ms_sum ${appendMillis.toFixed(3)}`,
          `oa_append_duration_ms_count ${appends}`
        ]),
        ...lines("oa_appended_events_total", "Pixel events made durable in the append log.", "counter", [
          `oa_appended_events_total ${appendedEvents}`
        ]),
        ...lines("oa_store_pending_events", "Acknowledged events not yet in the database.", "gauge", [
          `oa_store_pending_events ${pending()}`
        ]),
        ...lines("oa_process_resident_memory_bytes", "Resident set size.", "gauge", [
          `oa_process_resident_memory_bytes ${process.memoryUsage.rss()}`
        ])
      ]
      return `${out.join("\n")}\n`
    }
  }
}

export const layer = Layer.sync(Metrics, make)
