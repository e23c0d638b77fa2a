/**
 * The text form of an event on the write path: one line per event, as the append log's segments hold it and the
 * SQLite writer thread reads it. A JSON array of the scalar columns, a tab, the payload's JSON text, a tab, the
 * consent receipt's JSON text (or `null`), and "\n". JSON text never holds a raw tab or newline, so the thread binds
 * the two JSON texts as they are, without parsing them again.
 */
import { StorageError } from "../StorageError.js"
import { isReceivedAt, type StoredEvent } from "../StoredEvent.js"

/** JSON texts of frozen consent receipts (shared between events, see consent's `Decision.receipts`), per object. */
const receiptTexts = new WeakMap<object, string>()

const consentText = (consent: unknown): string => {
  if (typeof consent !== "object" || consent === null || !Object.isFrozen(consent))
    return JSON.stringify(consent ?? null)
  let text = receiptTexts.get(consent)
  if (text === undefined) {
    text = JSON.stringify(consent)
    receiptTexts.set(consent, text)
  }
  return text
}

/** Why event `index` cannot be stored. (Not a closure in `eventLine`: it runs for every event.) */
const invalidAt = (index: number, problem: string) =>
  new StorageError({ reason: "InvalidInput", message: `Cannot store event #${index}: ${problem}` })

/**
 * One event as a line, or a `StorageError` if it cannot be stored: checked here so that a bad event fails its own
 * request and never a shared batch.
 */
export const eventLine = (event: StoredEvent, index = 0): string | StorageError => {
  if (typeof event.tenant !== "string" || event.tenant === "" || event.tenant.includes("\u0000"))
    return invalidAt(index, "tenant must be a non-empty string without NUL characters")
  if (typeof event.eventId !== "string" || event.eventId === "")
    return invalidAt(index, "eventId must be a non-empty string")
  if (typeof event.type !== "string" || typeof event.site !== "string")
    return invalidAt(index, "type and site must be strings")
  if (!isReceivedAt(event.receivedAt)) return invalidAt(index, "receivedAt must be integer epoch ms from 1970 to 9999")
  const clientTs = event.clientTs ?? null
  if (clientTs !== null && !Number.isSafeInteger(clientTs)) return invalidAt(index, "clientTs must be integer epoch ms")
  const visitor = event.visitor ?? null
  if (visitor !== null && typeof visitor !== "string") return invalidAt(index, "visitor must be a string or null")
  let payload: string | undefined
  let consent: string | undefined
  try {
    payload = JSON.stringify(event.payload)
    consent = consentText(event.consent)
  } catch {
    return invalidAt(index, "payload or consent is not representable as JSON")
  }
  // A value that serializes to nothing (undefined, a function) would not round-trip.
  if (typeof payload !== "string" || typeof consent !== "string")
    return invalidAt(index, "payload or consent is not representable as JSON")
  const head = JSON.stringify([
    event.tenant,
    event.eventId,
    event.type,
    event.site,
    event.receivedAt,
    clientTs,
    visitor
  ])
  return `${head}\t${payload}\t${consent}\n`
}

/** The event a whole line holds, or undefined for anything else (a line torn by a crash). */
export const parseLine = (line: string): StoredEvent | undefined => {
  const parts = line.split("\t")
  if (parts.length !== 3) return undefined
  try {
    const head = JSON.parse(parts[0]!) as unknown
    if (!Array.isArray(head) || head.length !== 7) return undefined
    const [tenant, eventId, type, site, receivedAt, clientTs, visitor] = head as [
      unknown,
      unknown,
      unknown,
      unknown,
      unknown,
      unknown,
      unknown
    ]
    if (typeof tenant !== "string" || typeof eventId !== "string" || typeof type !== "string") return undefined
    if (typeof site !== "string" || !isReceivedAt(receivedAt)) return undefined
    if (clientTs !== null && !Number.isSafeInteger(clientTs)) return undefined
    if (visitor !== null && typeof visitor !== "string") return undefined
    return {
      tenant,
      eventId,
      type,
      site,
      receivedAt,
      clientTs: clientTs as number | null,
      visitor: visitor as string | null,
      payload: JSON.parse(parts[1]!) as unknown,
      consent: JSON.parse(parts[2]!) as StoredEvent["consent"]
    }
  } catch {
    return undefined
  }
}

/** The event type of a whole line, or undefined for anything else (a line torn by a crash). */
export const typeOfLine = (line: string): string | undefined => {
  const tab = line.indexOf("\t")
  if (tab === -1 || line.indexOf("\t", tab + 1) === -1) return undefined
  try {
    const type = (JSON.parse(line.slice(0, tab)) as Array<unknown>)[2]
    return typeof type === "string" ? type : undefined
  } catch {
    return undefined
  }
}
