/**
 * The server's Prometheus metrics, served at `GET /metrics`: one prom-client registry per server holding the
 * collector's counters (@openaudience/collector/prometheus), the write path's (storage-sql's `EventWriter`
 * observer), the workers' lag (storage-sql's `WorkerLag`, read when scraped) and prom-client's standard process
 * and Node.js metrics. Counting on the hot path is a plain increment; the text format is rendered per scrape.
 */
import type * as SqlClient from "@effect/sql/SqlClient"
import type { Metrics as CollectorMetrics } from "@openaudience/collector"
import * as Prometheus from "@openaudience/collector/prometheus"
import { Relay } from "@openaudience/eventlog"
import { WorkerLag } from "@openaudience/storage-sql"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from "prom-client"
import { ServerConfig } from "./ServerConfig.js"

/** The collector's counters, the write path's observer (storage-sql's `EventWriter.Observer`) and the scrape. */
export interface MetricsShape extends Required<CollectorMetrics.Metrics> {
  readonly observeCommit: (events: number, millis: number) => void
  readonly observeAppend: (events: number, millis: number) => void
  /** Reads the number of acknowledged events not yet in the database (the append log's backlog). */
  readonly pendingFrom: (read: () => number) => void
  /** The text exposition of every metric, the workers' lag read now. */
  readonly render: Effect.Effect<string>
  readonly contentType: string
}

export class Metrics extends Context.Tag("@openaudience/example-server/Metrics")<Metrics, MetricsShape>() {}

/** Group commits take milliseconds; a second is far beyond any healthy one. */
const commitBuckets = [0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1]
/** One O_DSYNC write: well under a millisecond on a good disk, tens on a slow one. */
const appendBuckets = [0.0002, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25]

/** The metrics, with `lag` read at every scrape. */
export const make = (lag: Effect.Effect<ReadonlyArray<WorkerLag.Lag>>): MetricsShape => {
  const registry = new Registry()
  const registers = [registry]
  collectDefaultMetrics({ register: registry })
  const collector = Prometheus.make(registry)
  const commitSeconds = new Histogram({
    name: "oa_commit_duration_seconds",
    help: "Group-commit transaction time.",
    buckets: commitBuckets,
    registers
  })
  const committed = new Counter({
    name: "oa_committed_events_total",
    help: "Events written by group commits.",
    registers
  })
  const appendSeconds = new Histogram({
    name: "oa_append_duration_seconds",
    help: "Append-log group time until durable (one O_DSYNC write).",
    buckets: appendBuckets,
    registers
  })
  const appended = new Counter({
    name: "oa_appended_events_total",
    help: "Pixel events made durable in the append log.",
    registers
  })
  let pending = () => 0
  new Gauge({
    name: "oa_store_pending_events",
    help: "Acknowledged events not yet in the database.",
    registers,
    collect() {
      this.set(pending())
    }
  })
  const lagSeconds = new Gauge({
    name: "oa_worker_lag_seconds",
    help: "Age of the oldest event log record a worker has not applied yet (0 when caught up), by consumer.",
    labelNames: ["consumer"] as const,
    registers
  })
  const lagRecords = new Gauge({
    name: "oa_worker_lag_records",
    help: "Event log records appended after a worker's committed offset, by consumer.",
    labelNames: ["consumer"] as const,
    registers
  })
  return {
    ...collector,
    observeCommit: (events, millis) => {
      commitSeconds.observe(millis / 1000)
      committed.inc(events)
    },
    observeAppend: (events, millis) => {
      appendSeconds.observe(millis / 1000)
      appended.inc(events)
    },
    pendingFrom: (read) => {
      pending = read
    },
    render: Effect.flatMap(lag, (lags) => {
      lagSeconds.reset()
      lagRecords.reset()
      for (const { consumer, records, seconds } of lags) {
        lagSeconds.set({ consumer }, seconds)
        lagRecords.set({ consumer }, records)
      }
      return Effect.promise(() => registry.metrics())
    }),
    contentType: registry.contentType
  }
}

/**
 * The metrics over the database in context: the lag of the SQL event log's consumers (the standard workers', or the
 * NATS relay's when JetStream is the log).
 */
export const layer = Layer.effect(
  Metrics,
  Effect.gen(function* () {
    const config = yield* ServerConfig
    const consumers = config.eventLog._tag === "Sql" ? WorkerLag.standardConsumers : [Relay.consumer]
    const context = yield* Effect.context<SqlClient.SqlClient>()
    // A scrape still answers when the lag cannot be read (the lag metrics are then absent, and the failure logged).
    const read = WorkerLag.read(consumers).pipe(
      Effect.provide(context),
      Effect.catchAll((error) => Effect.as(Effect.logWarning("the workers' lag could not be read", error), []))
    )
    return make(read)
  })
)
