/**
 * A small RFC 4180 reader for feeds: fields separated by a delimiter (comma or tab), records by CRLF, LF or CR,
 * fields optionally in double quotes with `""` for a quote inside; quoted fields may span lines. Never throws;
 * stops at the first record past `maxRecords`. Blank lines are skipped.
 */

/** One record: the line it starts on (1-based), its fields, and what is wrong with its quoting, if anything. */
export interface CsvRecord {
  readonly line: number
  readonly fields: ReadonlyArray<string>
  readonly problem: string | undefined
}

/** The records, or why reading stopped. */
export type CsvResult =
  | { readonly _tag: "Records"; readonly records: ReadonlyArray<CsvRecord> }
  | { readonly _tag: "TooMany" }
  | { readonly _tag: "Unterminated"; readonly line: number }

const countLines = (text: string, from: number, to: number): number => {
  let lines = 0
  for (let k = from; k < to; k++) {
    const c = text.charCodeAt(k)
    if (c === 10 || (c === 13 && text.charCodeAt(k + 1) !== 10)) lines++
  }
  return lines
}

/** Reads `text` into records of fields. */
export const read = (text: string, delimiter: "," | "\t", maxRecords: number): CsvResult => {
  const records: Array<CsvRecord> = []
  const n = text.length
  const delim = delimiter.charCodeAt(0)
  let i = 0
  let line = 1
  while (i < n) {
    const startLine = line
    const fields: Array<string> = []
    let problem: string | undefined
    for (;;) {
      if (text.charCodeAt(i) === 34) {
        const fieldLine = line
        let value = ""
        let start = ++i
        for (;;) {
          const q = text.indexOf('"', i)
          if (q === -1) return { _tag: "Unterminated", line: fieldLine }
          line += countLines(text, i, q)
          if (text.charCodeAt(q + 1) === 34) {
            value += text.slice(start, q + 1)
            i = q + 2
            start = i
            continue
          }
          value += text.slice(start, q)
          i = q + 1
          break
        }
        if (i < n) {
          const c = text.charCodeAt(i)
          if (c !== delim && c !== 10 && c !== 13) {
            problem ??= `field ${fields.length + 1} has text after its closing quote`
            let j = i
            while (j < n && text.charCodeAt(j) !== delim && text.charCodeAt(j) !== 10 && text.charCodeAt(j) !== 13) j++
            value += text.slice(i, j)
            i = j
          }
        }
        fields.push(value)
      } else {
        let j = i
        for (; j < n; j++) {
          const c = text.charCodeAt(j)
          if (c === delim || c === 10 || c === 13) break
        }
        fields.push(text.slice(i, j))
        i = j
      }
      if (i >= n) break
      const c = text.charCodeAt(i)
      if (c === delim) {
        i++
        continue
      }
      i += c === 13 && text.charCodeAt(i + 1) === 10 ? 2 : 1
      line++
      break
    }
    if (fields.length === 1 && fields[0] === "" && problem === undefined) continue
    records.push({ line: startLine, fields, problem })
    if (records.length > maxRecords) return { _tag: "TooMany" }
  }
  return { _tag: "Records", records }
}
