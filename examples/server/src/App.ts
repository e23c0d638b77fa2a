/**
 * The whole reference server as one layer: configuration, database (SQLite by default, PostgreSQL by URL),
 * migrations, the event store and event log, the group-commit writer, the worker (embedded shape) and the
 * HTTP listener. Tests build it with their own
 * configuration; `main.ts` runs it.
 */
import * as NodeContext from "@effect/platform-node/NodeContext"
import { SqlEventLog } from "@openaudience/eventlog"
import { Worker } from "@openaudience/example-worker"
import { Database, EventStore, Migrations } from "@openaudience/storage-sql"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Committer from "./Committer.js"
import * as GroupCommit from "./GroupCommit.js"
import * as HttpServer from "./HttpServer.js"
import * as Metrics from "./Metrics.js"
import { ServerConfig } from "./ServerConfig.js"
import * as Tenants from "./Tenants.js"

const database = Layer.unwrapEffect(Effect.map(ServerConfig, (config) => Database.layerFromUrl(config.databaseUrl)))

const storage = Layer.mergeAll(EventStore.layer, SqlEventLog.layer).pipe(
  Layer.provideMerge(Migrations.layer),
  Layer.provideMerge(database)
)

/** Everything below the HTTP listener. */
export const services = Layer.mergeAll(GroupCommit.layer, Tenants.layer, Worker.layer).pipe(
  Layer.provideMerge(Committer.layer),
  Layer.provideMerge(Metrics.layer),
  Layer.provideMerge(storage)
)

/** The server, given its configuration. */
export const layer = HttpServer.layer.pipe(Layer.provideMerge(services), Layer.provideMerge(NodeContext.layer))

/** Logs where to find things once the server listens. */
export const announce = Effect.gen(function* () {
  const { url } = yield* HttpServer.Listening
  const config = yield* ServerConfig
  const lines = [
    `OpenAudience listening on ${url}`,
    `  tag:       ${url}/tag.js`,
    `  pixel:     ${url}/px.gif   batch: POST ${url}/collect`,
    `  events:    POST ${url}/v1/events   inspector: GET ${url}/v1/events?limit=20`,
    `  health:    ${url}/healthz   metrics: ${url}/metrics`,
    `  database:  ${config.databaseUrl.replace(/\/\/[^@/]*@/, "//***@")}`
  ]
  if (config.demo) {
    lines.push(
      `  demo shop: ${url}/demo/shop/`,
      `  demo admin key: set by OA_DEMO_ADMIN_KEY (default "demo-admin-key"), e.g.`,
      `    curl -H 'Authorization: Bearer demo-admin-key' '${url}/v1/events?limit=5'`
    )
  }
  yield* Effect.log(lines.join("\n"))
})
