/**
 * Runs the reference server (and, in the embedded shape, the worker in the same process) until SIGINT/SIGTERM:
 * then it stops accepting, commits what is queued, and exits 0.
 */
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as Config from "effect/Config"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as App from "./App.js"
import * as ServerConfig from "./ServerConfig.js"

/** One logger for everything: JSON lines with OA_LOG_FORMAT=json, pretty otherwise. */
const logging = Layer.unwrapEffect(
  Effect.map(Config.literal("json", "pretty")("OA_LOG_FORMAT").pipe(Config.withDefault("pretty")), (format) =>
    format === "json" ? Logger.json : Logger.pretty
  )
)

const main = Layer.launch(
  Layer.effectDiscard(App.announce).pipe(
    Layer.provideMerge(App.layer),
    Layer.provide(ServerConfig.layer),
    Layer.provide(NodeContext.layer)
  )
)

NodeRuntime.runMain(main.pipe(Effect.tapErrorCause(Effect.logError), Effect.provide(logging)), {
  disablePrettyLogger: true
})
