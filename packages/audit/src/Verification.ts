/**
 * Checking the chain: read every entry in `seq` order and the stored head, recompute each hash, and stop at the
 * first entry that does not follow from the one before. An altered entry no longer matches its hash; a removed one
 * leaves a gap in `seq` (or, when renumbered, a `prevHash` that names a hash no entry has); a reordered one no longer
 * matches its hash at its new position; removing the last entries leaves the chain shorter than the head. The
 * result is plain JSON (`VerifyResult`), so a CLI can print it and an API answer it as it is.
 *
 * The limit: someone who can rewrite the whole table and the head consistently (recomputing every hash after the
 * change) is not detected, because every hash can be recomputed by anyone. Anchor the head elsewhere (print the
 * `head` of a successful run to a place the database's writers cannot change, and compare it later): every later
 * run must then still contain that entry with that hash.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"
import type { Entry, Head } from "./AuditEntry.js"
import { emptyHead, hashOf, Head as HeadSchema } from "./AuditEntry.js"

/**
 * Why the chain is broken at `seq`.
 *
 * - `SeqGap`: no entry has `seq` while later ones exist (an entry was removed).
 * - `HashMismatch`: the entry's fields do not give its `hash` (it was changed, or moved from another position).
 * - `PrevHashMismatch`: the entry's `prevHash` is not the previous entry's `hash` (an entry before it was removed
 *   or replaced and the rest renumbered).
 * - `Undecodable`: the stored entry cannot even be read (a field holds something that is not what it should be).
 * - `HeadMismatch`: the chain ends elsewhere than the stored head (its last entries were removed, entries were
 *   added without moving the head, or the head was changed); `seq` is the first position the two disagree on.
 *
 * @since 0.1.0
 * @category models
 */
export const Reason = Schema.Literal("SeqGap", "HashMismatch", "PrevHashMismatch", "Undecodable", "HeadMismatch")

/**
 * @since 0.1.0
 * @category models
 */
export type Reason = typeof Reason.Type

/**
 * The chain holds: `entries` entries were checked, and `head` is the last one's position and hash (the value to
 * anchor elsewhere).
 *
 * @since 0.1.0
 * @category models
 */
export const Verified = Schema.Struct({
  ok: Schema.Literal(true),
  entries: Schema.Int,
  head: HeadSchema
})

/**
 * The chain is broken at `seq` (everything before it holds), for `reason`, explained in `message`.
 *
 * @since 0.1.0
 * @category models
 */
export const Broken = Schema.Struct({
  ok: Schema.Literal(false),
  seq: Schema.Int,
  reason: Reason,
  message: Schema.String
})

/**
 * @since 0.1.0
 * @category models
 */
export interface Broken extends Schema.Schema.Type<typeof Broken> {}

/**
 * What `verify` answers: `{ ok: true, entries, head }` or `{ ok: false, seq, reason, message }`.
 *
 * @since 0.1.0
 * @category models
 */
export const VerifyResult = Schema.Union(Verified, Broken)

/**
 * @since 0.1.0
 * @category models
 */
export type VerifyResult = typeof VerifyResult.Type

/**
 * A stored row that could not be read back as an entry, at its position.
 *
 * @since 0.1.0
 * @category models
 */
export interface Undecodable {
  readonly _tag: "Undecodable"
  readonly seq: number
  readonly message: string
}

/**
 * A verification in progress, fed the entries in `seq` order (so that a store can page through a long log).
 *
 * @since 0.1.0
 * @category models
 */
export interface Verifier {
  /** Checks the next entry; the failure when the chain breaks there (stop feeding then). */
  readonly next: (entry: Entry | Undecodable) => Broken | undefined
  /** After the last entry: compares the end of the chain with the stored head. */
  readonly finish: (head: Head) => VerifyResult
}

const broken = (seq: number, reason: Reason, message: string): Broken => ({ ok: false, seq, reason, message })

/**
 * Starts a verification at the beginning of the log.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (): Verifier => {
  let last: Head = emptyHead
  return {
    next: (entry) => {
      const expected = last.seq + 1
      if (entry.seq !== expected) {
        return broken(expected, "SeqGap", `Entry ${expected} is missing: the next entry is ${entry.seq}`)
      }
      if ("_tag" in entry)
        return broken(entry.seq, "Undecodable", `Entry ${entry.seq} cannot be read: ${entry.message}`)
      const { hash, ...rest } = entry
      if (hashOf(rest) !== hash) {
        return broken(entry.seq, "HashMismatch", `Entry ${entry.seq} was changed: its fields do not give its hash`)
      }
      if (entry.prevHash !== last.hash) {
        return broken(
          entry.seq,
          "PrevHashMismatch",
          `Entry ${entry.seq} does not follow entry ${last.seq}: its previous hash is not that entry's hash`
        )
      }
      last = { seq: entry.seq, hash }
      return undefined
    },
    finish: (head) => {
      if (head.seq !== last.seq) {
        const seq = Math.min(head.seq, last.seq) + 1
        return broken(
          seq,
          "HeadMismatch",
          head.seq > last.seq
            ? `The log ends at entry ${last.seq} but its head is at ${head.seq}: entries from ${seq} were removed`
            : `The log goes on to entry ${last.seq} but its head is at ${head.seq}: entries from ${seq} were added outside the log`
        )
      }
      if (head.hash !== last.hash) {
        return broken(last.seq, "HeadMismatch", `The head's hash is not entry ${last.seq}'s hash`)
      }
      return { ok: true, entries: last.seq, head: last }
    }
  }
}

/**
 * Verifies a whole log held in memory: its entries in `seq` order and its stored head.
 *
 * @since 0.1.0
 * @category combinators
 */
export const verifyEntries = (entries: Iterable<Entry | Undecodable>, head: Head): VerifyResult => {
  const verifier = make()
  for (const entry of entries) {
    const failure = verifier.next(entry)
    if (failure !== undefined) return failure
  }
  return verifier.finish(head)
}
