/**
 * Detection of personal data in a piece of a URL (a path segment, a query value, a fragment): email addresses,
 * phone numbers, card-like numbers (Luhn) and long random tokens. The text is first percent-decoded (leniently,
 * up to three times, so double encoding does not hide anything) and NFKC-normalised (full-width `＠` becomes
 * `@`); `+` is read both as itself and as a space, as forms encode spaces with it.
 */

/** Kinds of personal data recognized. */
export type PiiKind = "email" | "phone" | "card" | "token"

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

/** Percent-decodes until nothing is left to decode (at most three rounds), then NFKC-normalises. */
export const normalise = (s: string): string => {
  let text = s
  for (let round = 0; round < 3 && escaped.test(text); round++) text = percentDecode(text)
  return /[^\u0000-\u007f]/.test(text) ? text.normalize("NFKC") : text
}

const email = /[\p{L}\p{N}._%+\-!#$&'*/=?^`{|}~]+@[\p{L}\p{N}-]+(?:\.[\p{L}\p{N}-]+)+/u
// `+` also separates digit groups: form encoding writes spaces as `+` ("+33+6+40+60+62+70").
const plusPhone = /(?:\+|\b00)[\s.\-()/+]*\d(?:[\s.\-()/+]*\d){6,14}/
// French and similar national formats: a leading 0 and four more pairs ("06 40 60 62 70", "06.40.60.62.70").
const pairedPhone = /\b0[1-9](?:[\s.-]\d{2}){4}\b/
const groupedPhone = /(?:\(\d{2,4}\)|\b\d{2,4})[\s.\-/]*\d{2,4}[\s.\-/]\d{3,5}(?:[\s.\-/]\d{2,5})?\b/g
const digitRun = /\d(?:[ -]?\d)+/g
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
const hasCard = (text: string): boolean => {
  for (const match of text.matchAll(digitRun)) {
    const digits = digitsOf(match[0])
    if (digits.length < 13) continue
    for (let length = 13; length <= Math.min(19, digits.length); length++) {
      for (let from = 0; from + length <= digits.length; from++) if (luhn(digits, from, length)) return true
    }
  }
  return false
}

const hasPhone = (text: string): boolean => {
  if (plusPhone.test(text) || pairedPhone.test(text)) return true
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

const detectIn = (text: string): PiiKind | undefined => {
  if (text.includes("@") && email.test(text)) return "email"
  if (hasCard(text)) return "card"
  if (hasPhone(text)) return "phone"
  if (text.length >= 24 && hasToken(text)) return "token"
  return undefined
}

/**
 * Whether `raw` cannot hold anything `detectIn` looks for, decided in one pass: every detector needs an `@`, at
 * least 7 digits or at least 24 characters, and a short plain-ASCII text without `%` decodes and normalises to
 * itself. Most path segments and parameter values of real URLs end here, at a fraction of the full cost.
 */
const plainlyClean = (raw: string): boolean => {
  if (raw.length >= 24) return false
  let digits = 0
  for (let i = 0; i < raw.length; i++) {
    const c = raw.charCodeAt(i)
    if (c > 127 || c === 37 || c === 64) return false
    if (c >= 48 && c <= 57 && ++digits >= 7) return false
  }
  return true
}

/** The first kind of personal data found in `raw` (percent-encoded or not), or `undefined`. */
export const detect = (raw: string): PiiKind | undefined => {
  if (plainlyClean(raw)) return undefined
  const text = normalise(raw)
  if (!raw.includes("+")) return detectIn(text)
  // `+` is ambiguous: a plus sign, or a space in form encoding (where a real plus is `%2B`). Read it both ways,
  // and decode the form way before percent-decoding so that `%2B33+6+40` reads as "+33 6 40".
  return detectIn(text) ?? detectIn(text.replace(/\+/g, " ")) ?? detectIn(normalise(raw.replace(/\+/g, " ")))
}
