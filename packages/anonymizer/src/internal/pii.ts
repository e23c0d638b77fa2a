/**
 * Detection of personal data in a piece of a URL (a path segment, a query value, a fragment): email addresses,
 * phone numbers, card-like numbers (Luhn) and long random tokens. The text is first percent-decoded (leniently,
 * up to three times, so double encoding does not hide anything) and NFKC-normalised (full-width `＠` becomes
 * `@`); `+` is read both as itself and as a space, as forms encode spaces with it.
 */
import { isIPv6 } from "node:net"

/** Kinds of personal data recognized. */
export type PiiKind = "email" | "phone" | "card" | "ip" | "token"

const decoder = new TextDecoder("utf-8", { fatal: false })
const hexValue = (c: number): number =>
  c >= 48 && c <= 57 ? c - 48 : c >= 65 && c <= 70 ? c - 55 : c >= 97 && c <= 102 ? c - 87 : -1

/** Decodes valid `%XX` escapes (as UTF-8, invalid sequences becoming U+FFFD); leaves everything else. */
export const percentDecode = (s: string): string => {
  if (!s.includes("%")) return s
  let out = ""
  let bytes: Array<number> = []
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    if (c === 37 && i + 2 < s.length) {
      const hi = hexValue(s.charCodeAt(i + 1))
      const lo = hexValue(s.charCodeAt(i + 2))
      if (hi !== -1 && lo !== -1) {
        bytes.push(hi * 16 + lo)
        i += 2
        continue
      }
    }
    if (bytes.length > 0) {
      out += decoder.decode(new Uint8Array(bytes))
      bytes = []
    }
    out += s[i]
  }
  if (bytes.length > 0) out += decoder.decode(new Uint8Array(bytes))
  return out
}

const escaped = /%[0-9A-Fa-f]{2}/

/** The most percent-decoding rounds tried: text still escaped after them is reported as hiding something. */
export const MaxDecodeRounds = 16

/**
 * Percent-decodes until nothing is left to decode (at most `MaxDecodeRounds` rounds), then NFKC-normalises.
 * `undefined` when escapes remain after the last round: nobody encodes a value that many times but to hide it.
 */
export const normaliseOrHidden = (s: string): string | undefined => {
  let text = s
  let round = 0
  while (escaped.test(text)) {
    if (round++ === MaxDecodeRounds) return undefined
    text = percentDecode(text)
  }
  return /[^\u0000-\u007f]/.test(text) ? text.normalize("NFKC") : text
}

/** Like `normaliseOrHidden`, keeping the last decoded text when escapes remain. */
export const normalise = (s: string): string => {
  let text = s
  for (let round = 0; round < MaxDecodeRounds && escaped.test(text); round++) text = percentDecode(text)
  return /[^\u0000-\u007f]/.test(text) ? text.normalize("NFKC") : text
}

const email = /[\p{L}\p{N}._%+\-!#$&'*/=?^`{|}~]+@[\p{L}\p{N}-]+(?:\.[\p{L}\p{N}-]+)+/u
// `+` also separates digit groups: form encoding writes spaces as `+` ("+33+6+40+60+62+70").
const plusPhone = /(?:\+|\b00)[\s.\-()/+]*\d(?:[\s.\-()/+]*\d){6,14}/
// French and similar national formats: a leading 0 and four more pairs ("06 40 60 62 70", "06.40.60.62.70").
const pairedPhone = /\b0[1-9](?:[\s.-]\d{2}){4}\b/
const groupedPhone = /(?:\(\d{2,4}\)|\b\d{2,4})[\s.\-/]*\d{2,4}[\s.\-/]\d{3,5}(?:[\s.\-/]\d{2,5})?\b/g
const digitRun = /\d(?:[ -]?\d)+/g
// Digits with the separators people write numbers with ("33 6 40 60 62 70", "0770.090.0123", "(212) 555-0199").
const separatedDigits = /\(?\d(?:[\s.\-()/]{0,2}\d)+/g
const tokenRun = /[A-Za-z0-9_\-+/=]{24,}/g

const digitsOf = (s: string): string => s.replace(/\D/g, "")

const luhn = (digits: string, from: number, length: number): boolean => {
  let sum = 0
  for (let i = 0; i < length; i++) {
    let d = digits.charCodeAt(from + length - 1 - i) - 48
    if (i % 2 === 1) {
      d *= 2
      if (d > 9) d -= 9
    }
    sum += d
  }
  return sum % 10 === 0
}

/** A 13–19 digit window passing the Luhn check, inside a run of digits (spaces and dashes allowed between). */
/**
 * A payment card number: a whole run of 13 to 19 digits (single spaces or dashes between groups allowed) whose first
 * digit is a card network's (2 to 6: Mastercard, Amex/Diners, Visa, Mastercard, Discover/UnionPay/Maestro) and whose
 * Luhn check holds. Windows inside longer digit runs are not searched: every run of 14 or more digits holds some
 * Luhn-valid window, so long numeric order ids and timestamps would all read as cards.
 */
const hasCard = (text: string): boolean => {
  for (const match of text.matchAll(digitRun)) {
    const digits = digitsOf(match[0])
    if (digits.length < 13 || digits.length > 19) continue
    const first = digits.charCodeAt(0) - 48
    if (first >= 2 && first <= 6 && luhn(digits, 0, digits.length)) return true
  }
  return false
}

/**
 * National significant number lengths by country calling code, for numbers written without `+` or `00`: only
 * digits that form a plausible number of one of these countries count, so order numbers and barcodes of other
 * shapes stay. Countries not listed are caught with `+`/`00` or in their national form (leading 0), not bare.
 */
const nationalLengths: Record<string, ReadonlyArray<number>> = {
  "1": [10],
  "7": [10],
  "20": [10],
  "27": [9],
  "30": [10],
  "31": [9],
  "32": [8, 9],
  "33": [9],
  "34": [9],
  "36": [8, 9],
  "39": [9, 10],
  "40": [9],
  "41": [9],
  "43": [10, 11],
  "44": [10],
  "45": [8],
  "46": [9],
  "47": [8],
  "48": [9],
  "49": [10, 11],
  "52": [10],
  "54": [10],
  "55": [10, 11],
  "57": [10],
  "61": [9],
  "62": [10, 11],
  "63": [10],
  "64": [9],
  "65": [8],
  "66": [9],
  "81": [10],
  "82": [9, 10],
  "86": [11],
  "90": [10],
  "91": [10],
  "212": [9],
  "234": [10],
  "351": [9],
  "352": [9],
  "353": [9],
  "358": [9, 10],
  "966": [9],
  "971": [9],
  "972": [9]
}

/** Whether bare digits read as an international number (country code, then a national number of its length). */
const isInternational = (digits: string): boolean => {
  for (let cc = 1; cc <= 3; cc++) {
    const lengths = nationalLengths[digits.slice(0, cc)]
    if (lengths === undefined) continue
    const rest = digits.length - cc
    // A national significant number never starts with the trunk prefix 0.
    if (lengths.includes(rest) && digits.charCodeAt(cc) !== 48) {
      // North American numbers: area code and exchange start with 2-9.
      if (cc === 1 && digits[0] === "1" && (digits.charCodeAt(1) < 50 || digits.charCodeAt(4) < 50)) return false
      return true
    }
  }
  return false
}

/** Digits written as a national number (trunk prefix 0, 10 or 11 digits) or an international one without `+`. */
const hasBarePhone = (text: string): boolean => {
  for (const match of text.matchAll(separatedDigits)) {
    const digits = digitsOf(match[0])
    const n = digits.length
    if (n < 10 || n > 15) continue
    if (digits.startsWith("00")) {
      if (isInternational(digits.slice(2))) return true
    } else if (digits[0] === "0") {
      if (n <= 11) return true
    } else if (isInternational(digits)) return true
  }
  return false
}

const ipv4 = /(?<![\d.])(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?:\.(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}(?![\d.]*\d)/
const ipv6Candidate = /[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*/g

/** An IPv4 address (dotted quad) or an IPv6 address (validated by the platform's parser). */
const hasIp = (text: string): boolean => {
  if (text.includes(".") && ipv4.test(text)) return true
  if (!text.includes(":")) return false
  for (const match of text.matchAll(ipv6Candidate)) {
    const candidate = match[0].replace(/^:(?!:)|(?<!:):$/g, "")
    // Three groups at least, one with a digit: `std::string` or `a::b` are not addresses, and `::1` is nobody's.
    if (candidate.split(":").filter((g) => g !== "").length >= 3 && /\d/.test(candidate) && isIPv6(candidate)) {
      return true
    }
  }
  return false
}

const hasPhone = (text: string): boolean => {
  if (plusPhone.test(text) || pairedPhone.test(text) || hasBarePhone(text)) return true
  for (const match of text.matchAll(groupedPhone)) {
    const n = digitsOf(match[0]).length
    if (n >= 9 && n <= 15) return true
  }
  return false
}

const classOf = (c: number): number => (c >= 97 && c <= 122 ? 1 : c >= 65 && c <= 90 ? 2 : c >= 48 && c <= 57 ? 3 : 4)

/** Class changes inside a piece, not counting a capital letter followed by lower case (a capitalised word). */
const transitions = (piece: string): number => {
  let n = 0
  for (let i = 1; i < piece.length; i++) {
    const a = classOf(piece.charCodeAt(i - 1))
    const b = classOf(piece.charCodeAt(i))
    if (a !== b && !(a === 2 && b === 1)) n++
  }
  return n
}

const word = /^(?:(?:[A-Z]?[a-z]+)+|[A-Z]+|\d+)$/

/** A piece of a slug: a word (`shoes`, `Shoes`, `SALE`, `PlayStation`), a number, or a short model name (`s24`). */
const wordlike = (piece: string): boolean =>
  piece.length === 0 || word.test(piece) || (piece.length <= 8 && transitions(piece) <= 2)

const isToken = (run: string): boolean => {
  const compact = run.replace(/-/g, "")
  if (compact.length >= 24 && /^[0-9A-Fa-f]+$/.test(compact) && /\d/.test(compact)) return true
  let total = 0
  for (const piece of run.split(/[-_+/=]/)) {
    if (!wordlike(piece)) return true
    total += transitions(piece)
  }
  // Short pieces that each pass for model names (`s24`, `256gb`) but add up to a random-looking mixture.
  return total >= 3 && /[a-z]/.test(run) && /[A-Z]/.test(run)
}

const hasToken = (text: string): boolean => {
  for (const match of text.matchAll(tokenRun)) if (isToken(match[0])) return true
  return false
}

const detectIn = (text: string, tokens: boolean): PiiKind | undefined => {
  if (text.includes("@") && email.test(text)) return "email"
  if (hasIp(text)) return "ip"
  if (hasCard(text)) return "card"
  if (hasPhone(text)) return "phone"
  if (tokens && text.length >= 24 && hasToken(text)) return "token"
  return undefined
}

/**
 * Whether `raw` cannot hold anything `detectIn` looks for, decided in one pass: every detector needs an `@`, at
 * least 7 digits, two colons (IPv6), three dots and four digits (IPv4) or (tokens) at least 24 characters, and a
 * plain-ASCII text without `%` decodes and normalises to itself. Most path segments, parameter values and
 * free-text fields end here, at a fraction of the full cost.
 */
const plainlyClean = (raw: string, tokens: boolean): boolean => {
  if (tokens && raw.length >= 24) return false
  let digits = 0
  let dots = 0
  let colons = 0
  for (let i = 0; i < raw.length; i++) {
    const c = raw.charCodeAt(i)
    if (c > 127 || c === 37 || c === 64) return false
    if (c >= 48 && c <= 57) {
      if (++digits >= 7) return false
    } else if (c === 46) dots++
    else if (c === 58 && ++colons >= 2) return false
  }
  return digits < 4 || dots < 3
}

/**
 * The first kind of personal data found in `raw` (percent-encoded or not), or `undefined`. `tokens: false` leaves
 * long random-looking strings alone (free-text fields such as product ids are often UUIDs or hashes).
 */
export const detect = (raw: string, tokens = true): PiiKind | undefined => {
  if (plainlyClean(raw, tokens)) return undefined
  const text = normaliseOrHidden(raw)
  if (text === undefined) return "token"
  if (!raw.includes("+")) return detectIn(text, tokens)
  // `+` is ambiguous: a plus sign, or a space in form encoding (where a real plus is `%2B`). Read it both ways,
  // and decode the form way before percent-decoding so that `%2B33+6+40` reads as "+33 6 40".
  return (
    detectIn(text, tokens) ??
    detectIn(text.replace(/\+/g, " "), tokens) ??
    detectIn(normalise(raw.replace(/\+/g, " ")), tokens)
  )
}

// C0 controls, DEL, C1 controls, and the Unicode line and paragraph separators: nothing a label needs, and each
// can forge a line in a log, a cell in a CSV export or an escape sequence in a terminal.
const control = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g
const hasControl = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/

/** `s` without control characters (the same string when it has none). */
export const stripControls = (s: string): string => (hasControl.test(s) ? s.replace(control, "") : s)
