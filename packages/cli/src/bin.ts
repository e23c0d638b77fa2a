#!/usr/bin/env node
/**
 * The `openaudience` executable (see `Cli`).
 *
 * @since 0.1.0
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as Cli from "./Cli.js"

// Failures were printed by `Cli.run`; the runtime only sets the exit code. Logs go to stderr (`Cli.run` sets its
// logger), never to stdout, where `--json` prints its one value: so the runtime's own pretty logger is off.
// The exit code is the failure's (1; 3 or 4 for `dsar erase`).
NodeRuntime.runMain(Cli.run(process.argv), {
  disableErrorReporting: true,
  disablePrettyLogger: true,
  teardown: (exit, onExit) => onExit(Cli.exitCodeOf(exit))
})
