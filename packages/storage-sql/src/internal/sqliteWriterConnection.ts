/**
 * The connection a SQLite writer thread opens (`sqliteWriterThread.ts`, `adDecisionThread.ts`): WAL, each commit
 * synced (`synchronous = FULL`), and a busy timeout for the moments another connection holds the write lock.
 */
import Database from "better-sqlite3"

/** Opens `filename` as a writer thread does; throws what better-sqlite3 throws. */
export const openWriterConnection = (
  filename: string,
  busyTimeoutMs: number,
  options: Database.Options = {}
): Database.Database => {
  const db = new Database(filename, options)
  try {
    db.pragma("journal_mode = WAL")
    db.pragma("synchronous = FULL")
    db.pragma(`busy_timeout = ${Number(busyTimeoutMs)}`)
    return db
  } catch (error) {
    db.close()
    throw error
  }
}
