/**
 * Starting a worker thread from a module file, never from source text. A built package starts the thread's `.js`
 * module directly; from TypeScript sources (tsx, vitest) the thread first registers tsx through `tsThread.mjs`, a
 * plain module beside this one, and then imports the `.ts` module.
 */
import { readlinkSync } from "node:fs"
import { setPriority } from "node:os"
import { Worker, type WorkerOptions } from "node:worker_threads"

/** The URL of the module `name` (without extension) beside `base` (a module's `import.meta.url`): `.ts` or `.js` like it. */
export const moduleUrl = (name: string, base: string): URL =>
  new URL(`${name}${new URL(base).pathname.endsWith(".ts") ? ".ts" : ".js"}`, base)

/** Starts a worker thread running the module at `entry`. */
export const start = (entry: URL, options: WorkerOptions = {}): Worker => {
  if (!entry.pathname.endsWith(".ts")) return new Worker(entry, options)
  return new Worker(new URL("./tsThread.mjs", import.meta.url), {
    ...options,
    argv: [entry.href, ...(options.argv ?? [])]
  })
}

/**
 * Lowers the calling thread's CPU priority to `nice` (default 10): for threads whose work may lag (storing
 * acknowledged events, deriving state) while the event loop answering requests should not, on a small machine where
 * they share the cores. Linux only (a thread's id is read from `/proc/thread-self`); elsewhere it keeps the process's
 * priority.
 */
export const lowerPriority = (nice = 10): void => {
  try {
    const tid = Number(readlinkSync("/proc/thread-self").split("/").pop())
    if (Number.isSafeInteger(tid) && tid > 0) setPriority(tid, nice)
  } catch {
    // Not Linux, or not allowed: the default priority.
  }
}
