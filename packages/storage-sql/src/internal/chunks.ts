/** Splitting long lists so no statement binds more values than SQLite (32,766) or PostgreSQL (65,535) accept. */

/** `items` in consecutive slices of at most `size` (none for an empty list). */
export const chunks = <A>(items: ReadonlyArray<A>, size: number): Array<ReadonlyArray<A>> => {
  const out: Array<ReadonlyArray<A>> = []
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size))
  return out
}
