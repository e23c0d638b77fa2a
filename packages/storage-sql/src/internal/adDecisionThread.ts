/**
 * The ad decision writer thread's module (started by `adDecisionWriter.ts` through `thread.ts`, from this file: never
 * from source text). It owns one connection to the SQLite file (WAL, `synchronous = FULL`) and, per message, inserts
 * the rows into `ad_decisions` in one `BEGIN IMMEDIATE` transaction through prepared statements (a hundred rows per
 * statement, then one by one), so the statements, the commit's fsync and the WAL checkpoints it starts happen here
 * instead of on the thread answering ads. It answers only after COMMIT returned, or with why nothing was stored
 * (`unique` for a duplicate id, `busy` for a database another writer held past the busy timeout).
 *
 * Message in (`AdDecisionMessage`): `{ id, rows }` or `"close"`. Out (`AdDecisionReply`): `{ ready: true }` once
 * open, `{ fatal }` if it cannot open (or the table is missing), then `{ id, ok: true }` or `{ id, error, unique,
 * busy }` per message, in order.
 *
 * A message may carry budget charges too (the write-behind's flush): they are added to `ad_delivery` in the same
 * transaction, each as `SqlDeliveryStore`'s charge with no limit does it (one `UPDATE`; the campaign's row created
 * first when it has none), so a flush's decisions and the spend they cost are stored together or not at all. The
 * charged campaigns' rows are read back in that transaction and sent with the reply, so the caller need not read
 * them again.
 */
import type Database from "better-sqlite3"
import { parentPort, workerData } from "node:worker_threads"
import {
  adDecisionColumns,
  type AdDecisionData,
  type AdDecisionMessage,
  type AdDecisionReply,
  type AdDecisionRow,
  type DeliveryCharge
} from "./adDecisionProtocol.js"
import type { DeliveryRow } from "./deliveryRow.js"
import { openWriterConnection } from "./sqliteWriterConnection.js"
import { lowerPriority } from "./thread.js"

const data = workerData as AdDecisionData
const port = parentPort!
const reply = (message: AdDecisionReply) => port.postMessage(message)

/** Rows per multi-row INSERT: 13 parameters each, 1,300 in all, under SQLite's limit of 32,766. */
const rowsPerStatement = 100

const codeOf = (error: unknown): string => String((error as { readonly code?: unknown } | null)?.code ?? "")
const messageOf = (error: unknown): string => String((error as { readonly message?: unknown } | null)?.message ?? error)

// The ads are answered from memory; their log may lag a little when the cores are busy, the HTTP thread should not.
lowerPriority()

/** `SqlDeliveryStore`'s charge with no limit: today's spend restarts on a new day; the total only grows. */
const chargeSql =
  "UPDATE ad_delivery SET today = (CASE WHEN day_index = ? THEN today ELSE 0 END) + ?, day_index = ?, " +
  "total = total + ? WHERE campaign_id = ?"

const values = (rows: number) =>
  Array.from({ length: rows }, () => "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)").join(", ")

const open = (): Database.Database | undefined => {
  try {
    return openWriterConnection(data.filename, data.busyTimeoutMs, { fileMustExist: true })
  } catch (error) {
    reply({ fatal: messageOf(error) })
    port.close()
    return undefined
  }
}

const run = (db: Database.Database) => {
  let one: Database.Statement
  let many: Database.Statement
  try {
    one = db.prepare(`INSERT INTO ad_decisions (${adDecisionColumns}) VALUES ${values(1)}`)
    many = db.prepare(`INSERT INTO ad_decisions (${adDecisionColumns}) VALUES ${values(rowsPerStatement)}`)
  } catch (error) {
    reply({ fatal: messageOf(error) })
    db.close()
    port.close()
    return
  }
  // Prepared on the first charge: `ad_delivery` is another store's table (created by its own migration).
  let charge:
    | { readonly add: Database.Statement; readonly create: Database.Statement; readonly read: Database.Statement }
    | undefined
  /** Inserts the rows, adds the charges, and reads the charged campaigns' rows back, in one transaction. */
  const insert = db.transaction(
    (
      rows: ReadonlyArray<AdDecisionRow>,
      charges: ReadonlyArray<DeliveryCharge>
    ): Array<readonly [string, DeliveryRow]> => {
      let at = 0
      for (; at + rowsPerStatement <= rows.length; at += rowsPerStatement) {
        many.run(rows.slice(at, at + rowsPerStatement).flat())
      }
      for (; at < rows.length; at++) one.run(rows[at])
      if (charges.length === 0) return []
      charge ??= {
        add: db.prepare(chargeSql),
        create: db.prepare(
          "INSERT INTO ad_delivery (campaign_id, day_index, today, total, pacing) VALUES (?, 0, 0, 0, NULL) " +
            "ON CONFLICT (campaign_id) DO NOTHING"
        ),
        read: db.prepare("SELECT day_index, today, total, pacing FROM ad_delivery WHERE campaign_id = ?")
      }
      const deliveries: Array<readonly [string, DeliveryRow]> = []
      for (const [campaignId, day, cost] of charges) {
        if (charge.add.run(day, cost, day, cost, campaignId).changes === 0) {
          charge.create.run(campaignId)
          charge.add.run(day, cost, day, cost, campaignId)
        }
        const row = charge.read.get(campaignId) as DeliveryRow | undefined
        if (row !== undefined) deliveries.push([campaignId, row])
      }
      return deliveries
    }
  )
  port.on("message", (message: AdDecisionMessage) => {
    if (message === "close") {
      db.close()
      port.close()
      return
    }
    try {
      const deliveries = insert.immediate(message.rows, message.charges)
      reply({ id: message.id, ok: true, deliveries })
    } catch (error) {
      const code = codeOf(error)
      reply({
        id: message.id,
        error: messageOf(error),
        unique: code === "SQLITE_CONSTRAINT_PRIMARYKEY" || code === "SQLITE_CONSTRAINT_UNIQUE",
        busy: code.startsWith("SQLITE_BUSY") || code.startsWith("SQLITE_LOCKED")
      })
    }
  })
  reply({ ready: true })
}

const db = open()
if (db !== undefined) run(db)
