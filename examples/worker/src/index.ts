/**
 * The reference worker, importable so the server can run it in-process (embedded shape).
 */
export * as Audiences from "./Audiences.js"
export * as DailyCounts from "./DailyCounts.js"
export * as Worker from "./Worker.js"
/** Moved to @openaudience/eventlog; re-exported until the server imports it from there. */
export { StoredEvents } from "@openaudience/eventlog"
