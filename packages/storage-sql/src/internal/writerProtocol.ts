/**
 * The messages between the writer threads (`sqliteWriterThread.ts`, `sqlWriterThread.ts`) and the side that starts
 * them (`writerThread.ts`), typed once for both.
 */

/** What the thread is started with. */
export interface WriterData {
  /** The SQLite file, or the database URL. */
  readonly database: string
  readonly busyTimeoutMs: number
  /** How long a busy or locked database is retried before the message fails. */
  readonly busyRetryMs: number
}

/** A part of a message: event lines as text, or `[path, position, length]` of a segment file holding them. */
export type WriterPart = string | readonly [path: string, position: number, length: number]

/** A message to the thread. */
export type WriterMessage =
  | "close"
  | { readonly id: number; readonly parts: ReadonlyArray<WriterPart>; readonly appendedAt: number }

/** A message from the thread. */
export type WriterReply =
  | { readonly ready: true }
  | { readonly fatal: string }
  | { readonly id: number; readonly seqs: ReadonlyArray<number> }
  | { readonly id: number; readonly error: string }
  | { readonly id: number; readonly warning: string }
