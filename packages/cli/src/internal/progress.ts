/**
 * The progress of an export or an erasure across the registry's stores: one line on stderr, rewritten with `\r`
 * (`erasing: 7/21 stores`), shown only when stderr is a terminal, so pipes, files and tests see nothing of it.
 *
 * The stores of the registry are wrapped (`tracked`) to tell the progress of the running command (`with`) each time
 * they answered for every subject: an export reads each store once; an erasure counts every store (`checking`),
 * erases (`erasing`), then counts again (`verifying`).
 */
import type { Registry } from "@openaudience/dsar"
import * as Effect from "effect/Effect"
import * as FiberRef from "effect/FiberRef"

type Operation = "count" | "export" | "erase"

/** The progress of one command. */
interface Tracker {
  readonly step: (operation: Operation) => void
}

const current = FiberRef.unsafeMake<Tracker | undefined>(undefined)

/** Makes a tracker writing `label: phase done/total stores` lines with `write`. */
export const make = (
  label: string,
  stores: number,
  subjects: number,
  write: (text: string) => void
): Tracker & { readonly end: () => void } => {
  const calls: Record<Operation, number> = { count: 0, export: 0, erase: 0 }
  const per = Math.max(1, subjects)
  let shown = false
  return {
    step: (operation) => {
      calls[operation]++
      // Counting happens twice in an erasure: before erasing (checking) and after (verifying).
      const round = operation === "count" && calls.count > stores * per ? 1 : 0
      const done = Math.min(stores, Math.floor((calls[operation] - round * stores * per) / per))
      const phase =
        operation === "export"
          ? "exporting"
          : operation === "erase"
            ? "erasing"
            : round === 1
              ? "verifying"
              : "checking"
      write(`\r${label}: ${phase} ${done}/${stores} stores\x1b[K`)
      shown = true
    },
    end: () => {
      if (shown) write("\r\x1b[K")
    }
  }
}

/** A store that tells the running command's progress after each answer. */
export const tracked = (store: Registry.SubjectStore): Registry.SubjectStore => {
  const step =
    (operation: Operation) =>
    <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
      Effect.tap(effect, () =>
        Effect.flatMap(FiberRef.get(current), (tracker) => Effect.sync(() => tracker?.step(operation)))
      )
  return {
    ...store,
    count: (subject) => step("count")(store.count(subject)),
    export: (subject, options) => step("export")(store.export(subject, options)),
    erase: (subject) => step("erase")(store.erase(subject))
  }
}

/**
 * Runs `effect` showing its progress over `stores` stores and `subjects` subjects on stderr, when stderr is a
 * terminal; the line is cleared at the end.
 */
export const withProgress =
  (label: string, stores: number, subjects: number) =>
  <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> => {
    if (process.stderr.isTTY !== true) return effect
    return Effect.acquireUseRelease(
      Effect.sync(() => make(label, stores, subjects, (text) => process.stderr.write(text))),
      (tracker) => Effect.locally(effect, current, tracker),
      (tracker) => Effect.sync(tracker.end)
    )
  }
