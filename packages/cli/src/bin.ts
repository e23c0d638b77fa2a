#!/usr/bin/env node
/**
 * The `openaudience` executable (see `Cli`).
 *
 * @since 0.1.0
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as Cli from "./Cli.js"

// Failures were printed by `Cli.run`; the runtime only sets the exit code.
NodeRuntime.runMain(Cli.run(process.argv), { disableErrorReporting: true })
