/**
 * How a writer thread reads the text of a message's parts: event lines given as text, or read from the segment file
 * that holds them (so the event loop that appended them does not copy them over).
 */
import * as fs from "node:fs"
import type { WriterPart } from "./writerProtocol.js"

/** The text of a message's parts; the two most recently read segment files stay open until `close`. */
export const segmentReader = (): ((parts: ReadonlyArray<WriterPart>) => string) & { readonly close: () => void } => {
  const files = new Map<string, number>()
  const readRange = (path: string, position: number, length: number): string => {
    let fd = files.get(path)
    if (fd === undefined) {
      fd = fs.openSync(path, "r")
      if (files.size >= 2) {
        const [oldest, oldFd] = files.entries().next().value as [string, number]
        files.delete(oldest)
        fs.closeSync(oldFd)
      }
    } else files.delete(path)
    files.set(path, fd)
    const buffer = Buffer.allocUnsafe(length)
    let read = 0
    while (read < length) {
      const n = fs.readSync(fd, buffer, read, length - read, position + read)
      if (n === 0) throw new Error(`segment ${path} is shorter than expected`)
      read += n
    }
    return buffer.toString("utf8")
  }
  const textOf = (parts: ReadonlyArray<WriterPart>): string => {
    let text = ""
    for (const part of parts) text += typeof part === "string" ? part : readRange(part[0], part[1], part[2])
    return text
  }
  return Object.assign(textOf, {
    close: () => {
      for (const fd of files.values()) fs.closeSync(fd)
      files.clear()
    }
  })
}
