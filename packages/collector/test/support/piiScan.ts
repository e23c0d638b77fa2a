/**
 * A strict scanner for raw personal data left behind: it looks in texts (stored rows, answers, log lines) for given
 * raw values (IP addresses, user agents, first-party ids, phone and card numbers, tokens, names) and for any email
 * address at all; and it captures what a process logs, to scan that too.
 *
 * Strict means it looks harder than a leak would need: case-insensitively; in each text as stored, JSON-decoded
 * (so escaping hides nothing) and percent-decoded up to three times (with `+` read as a space too); phone and
 * card numbers by their digits inside any run of digits and separators, however they are formatted. The one
 * allowance: an IPv4 address must not be part of a longer number (`1.2.3.4` is not found in `11.2.3.45`).
 * Shared by this package's tests and the reference server's anonymization suites (which add database dumps).
 */
import { inspect } from "node:util"

/** How a needle is looked for. */
export type Match =
  /** Anywhere, ignoring case. */
  | "text"
  /** Anywhere, ignoring case, but not inside a longer number. */
  | "ipv4"
  /** Its digits inside the digits of any run of digits and separators (spaces, `-`, `.`, `(`, `)`, `/`). */
  | "digits"

/** A raw value that must not be found. */
export interface Needle {
  readonly kind: string
  readonly value: string
  readonly match: Match
}

/** A piece of text to search, and where it comes from (`events[12].payload`, `log line 3`, `file test.db`). */
export interface Haystack {
  readonly where: string
  readonly text: string
}

/** A raw value found, where, and the text around it. */
export interface Finding {
  readonly kind: string
  readonly value: string
  readonly where: string
  /** The text around it, lower-cased, in the form it was found in (`as stored`, `percent-decoded`, …). */
  readonly excerpt: string
}

/** Shortest text needle (a dotted IPv4 address is at least 7 characters). */
const minText = 7
/** Shortest digits needle: ten digits, so that no timestamp or price stored matches by chance. */
const minDigits = 10

const escapedByte = /%[0-9A-Fa-f]{2}/
const hex = (c: number): number =>
  c >= 48 && c <= 57 ? c - 48 : c >= 65 && c <= 70 ? c - 55 : c >= 97 && c <= 102 ? c - 87 : -1
const utf8 = new TextDecoder("utf-8", { fatal: false })

/** Decodes every valid `%XX` escape (as UTF-8), leaving everything else. */
const percentDecode = (s: string): string => {
  let out = ""
  let bytes: Array<number> = []
  for (let i = 0; i < s.length; i++) {
    if (s.charCodeAt(i) === 37 && i + 2 < s.length) {
      const hi = hex(s.charCodeAt(i + 1))
      const lo = hex(s.charCodeAt(i + 2))
      if (hi !== -1 && lo !== -1) {
        bytes.push(hi * 16 + lo)
        i += 2
        continue
      }
    }
    if (bytes.length > 0) {
      out += utf8.decode(new Uint8Array(bytes))
      bytes = []
    }
    out += s[i]
  }
  return bytes.length > 0 ? out + utf8.decode(new Uint8Array(bytes)) : out
}

/** The forms of a text that are searched: as it is, percent-decoded (up to three rounds, NFKC), `+` as space. */
const variants = (text: string): Array<{ readonly form: string; readonly text: string }> => {
  const out = [{ form: "as stored", text: text.toLowerCase() }]
  let decoded = text
  for (let round = 0; round < 3 && escapedByte.test(decoded); round++) decoded = percentDecode(decoded)
  decoded = decoded.normalize("NFKC")
  if (decoded !== text) out.push({ form: "percent-decoded", text: decoded.toLowerCase() })
  if (decoded.includes("+"))
    out.push({ form: "percent-decoded, + as space", text: decoded.replace(/\+/g, " ").toLowerCase() })
  return out
}

type Variant = ReturnType<typeof variants>[number]

const digitRun = /\d(?:[\s\-.()/]{0,3}\d)*/g

/** Runs of digits and separators long enough to hold a digits needle, with their digits. */
const digitRuns = (text: string): Array<{ readonly at: number; readonly digits: string }> => {
  const runs: Array<{ at: number; digits: string }> = []
  for (const match of text.matchAll(digitRun)) {
    const digits = match[0].replace(/\D/g, "")
    if (digits.length >= minDigits) runs.push({ at: match.index, digits })
  }
  return runs
}

/** Any email address, including internationalized ones. */
const emailAddress = /[\p{L}\p{N}._%+\-!#$'*^`{|}~]+@[\p{L}\p{N}-]+(?:\.[\p{L}\p{N}-]+)*\.\p{L}{2,}/gu

const isDigit = (c: number): boolean => c >= 48 && c <= 57

/** Needles indexed by their first `width` characters, for one pass over each text whatever their number. */
const index = (needles: ReadonlyArray<Needle>, width: number) => {
  const byPrefix = new Map<string, Array<{ readonly needle: Needle; readonly lower: string }>>()
  for (const needle of needles) {
    const lower = needle.match === "digits" ? needle.value.replace(/\D/g, "") : needle.value.toLowerCase()
    if (lower.length < width) throw new Error(`needle too short to search for: ${needle.kind} "${needle.value}"`)
    const prefix = lower.slice(0, width)
    const list = byPrefix.get(prefix)
    if (list === undefined) byPrefix.set(prefix, [{ needle, lower }])
    else list.push({ needle, lower })
  }
  return (text: string, found: (needle: Needle, at: number) => void) => {
    if (byPrefix.size === 0) return
    for (let i = 0; i + width <= text.length; i++) {
      const candidates = byPrefix.get(text.slice(i, i + width))
      if (candidates === undefined) continue
      for (const { needle, lower } of candidates) {
        if (!text.startsWith(lower, i)) continue
        if (
          needle.match === "ipv4" &&
          ((i > 0 && isDigit(text.charCodeAt(i - 1))) || isDigit(text.charCodeAt(i + lower.length)))
        ) {
          continue
        }
        found(needle, i)
      }
    }
  }
}

const excerptOf = (text: string, at: number, length: number): string =>
  JSON.stringify(text.slice(Math.max(0, at - 40), at + length + 40))

/**
 * Every needle found in the haystacks, and every email address when `emails` is set (the default), each once
 * per place.
 */
export const scan = (
  haystacks: ReadonlyArray<Haystack>,
  needles: ReadonlyArray<Needle>,
  options: { readonly emails?: boolean } = {}
): Array<Finding> => {
  const textSearch = index(
    needles.filter((n) => n.match !== "digits"),
    minText
  )
  const digitSearch = index(
    needles.filter((n) => n.match === "digits"),
    minDigits
  )
  const findings = new Map<string, Finding>()
  const report = (kind: string, value: string, where: string, variant: Variant, at: number) => {
    const key = `${kind}\u0000${value}\u0000${where}`
    if (!findings.has(key)) {
      findings.set(key, {
        kind,
        value,
        where,
        excerpt: `${variant.form}: ${excerptOf(variant.text, at, value.length)}`
      })
    }
  }
  for (const { where, text } of haystacks) {
    for (const form of variants(text)) {
      const variant = form.text
      textSearch(variant, (needle, at) => report(needle.kind, needle.value, where, form, at))
      for (const run of digitRuns(variant)) {
        digitSearch(run.digits, (needle) => report(needle.kind, needle.value, where, form, run.at))
      }
      if (options.emails !== false && variant.includes("@")) {
        for (const match of variant.matchAll(emailAddress)) report("email address", match[0], where, form, match.index)
      }
    }
  }
  return [...findings.values()]
}

/** A short, readable list of findings for an assertion message. */
export const describeFindings = (
  findings: ReadonlyArray<Finding>,
  max = Number(process.env.OA_SCAN_SHOW ?? 15)
): string =>
  findings.length === 0
    ? "nothing found"
    : `${findings.length} raw values found:\n${findings
        .slice(0, max)
        .map((f) => `  ${f.kind} ${JSON.stringify(f.value)} in ${f.where}: ${f.excerpt}`)
        .join("\n")}${findings.length > max ? `\n  … and ${findings.length - max} more` : ""}`

// ---------------------------------------------------------------------------------------------------------------
// Logs
// ---------------------------------------------------------------------------------------------------------------

/** Log lines captured while a capture runs; `stop` puts the original writers back. */
export interface LogCapture {
  readonly lines: ReadonlyArray<string>
  readonly stop: () => void
}

const consoleMethods = ["log", "info", "warn", "error", "debug", "trace"] as const

const formatArgs = (args: ReadonlyArray<unknown>): string =>
  args
    .map((arg) =>
      typeof arg === "string"
        ? arg
        : inspect(arg, {
            depth: null,
            breakLength: Number.POSITIVE_INFINITY,
            maxArrayLength: null,
            maxStringLength: null
          })
    )
    .join(" ")

/**
 * Records everything written through `console` (which Effect's default logger uses) and to
 * `process.stdout`/`process.stderr` until stopped; what is written still reaches its destination.
 */
export const captureLogs = (): LogCapture => {
  const lines: Array<string> = []
  const restore: Array<() => void> = []
  for (const method of consoleMethods) {
    const original = console[method]
    console[method] = (...args: Array<unknown>) => {
      lines.push(`console.${method}: ${formatArgs(args)}`)
      original.apply(console, args)
    }
    restore.push(() => {
      console[method] = original
    })
  }
  for (const [name, stream] of [
    ["stdout", process.stdout],
    ["stderr", process.stderr]
  ] as const) {
    const original = stream.write
    stream.write = ((chunk: unknown, ...rest: Array<unknown>) => {
      lines.push(
        `${name}: ${typeof chunk === "string" ? chunk : chunk instanceof Uint8Array ? Buffer.from(chunk).toString("utf8") : String(chunk)}`
      )
      return (original as (...args: Array<unknown>) => boolean).call(stream, chunk, ...rest)
    }) as typeof stream.write
    restore.push(() => {
      stream.write = original
    })
  }
  let stopped = false
  return {
    lines,
    stop: () => {
      if (stopped) return
      stopped = true
      for (const undo of restore.reverse()) undo()
    }
  }
}

/** Log lines as haystacks, each also with escapes undone (`\"` → `"`), as loggers quote what they print. */
export const logHaystacks = (lines: ReadonlyArray<string>): Array<Haystack> =>
  lines.flatMap((text, i) => {
    const unescaped = text.replace(/\\(["\\/])/g, "$1")
    return unescaped === text
      ? [{ where: `log line ${i}`, text }]
      : [
          { where: `log line ${i}`, text },
          { where: `log line ${i}`, text: unescaped }
        ]
  })
