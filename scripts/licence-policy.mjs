// The licence policy for what a published @openaudience library may depend on at run time.
// A dependency is fine when its SPDX expression can be satisfied with licences on the allowlist:
// `A OR B` needs one allowed side (the user may choose it), `A AND B` needs both. Everything else,
// strong copyleft (GPL, AGPL, LGPL, SSPL), proprietary (`UNLICENSED`), missing or unparseable
// licences, is denied; scripts/check-licences.mjs can allowlist a single package with a reason.

/** SPDX identifiers a library dependency may use (compared case-insensitively). */
export const allowedLicences = [
  "MIT",
  "MIT-0",
  "ISC",
  "0BSD",
  "Apache-2.0",
  "BlueOak-1.0.0",
  "CC0-1.0",
  "Unlicense",
  "Python-2.0",
  "MPL-2.0",
  "CC-BY-4.0"
]

/** Identifier families allowed by prefix: every BSD variant (BSD-2-Clause, BSD-3-Clause, …). */
export const allowedLicencePrefixes = ["BSD-"]

const allowedSet = new Set(allowedLicences.map((id) => id.toUpperCase()))

const copyleft = [
  { prefix: "AGPL", label: "AGPL (network copyleft)" },
  { prefix: "LGPL", label: "LGPL (copyleft)" },
  { prefix: "GPL", label: "GPL (copyleft)" },
  { prefix: "SSPL", label: "SSPL (network copyleft, not open source)" }
]

/**
 * Classifies one SPDX identifier such as `MIT`, `GPL-2.0+` or `Apache-2.0 WITH LLVM-exception`'s base.
 * @param {string} id
 * @returns {{ allowed: boolean, reason: string }}
 */
const classifyIdentifier = (id) => {
  const base = id.replace(/\+$/, "")
  const upper = base.toUpperCase()
  if (upper === "UNLICENSED") return { allowed: false, reason: "UNLICENSED (proprietary)" }
  if (upper === "UNKNOWN" || upper === "NONE") return { allowed: false, reason: "no licence declared" }
  if (allowedSet.has(upper) || allowedLicencePrefixes.some((prefix) => upper.startsWith(prefix.toUpperCase()))) {
    return { allowed: true, reason: base }
  }
  const family = copyleft.find(({ prefix }) => upper.startsWith(prefix))
  if (family !== undefined) return { allowed: false, reason: `${base}: ${family.label}` }
  return { allowed: false, reason: `${base}: not on the licence allowlist` }
}

/**
 * Splits an SPDX expression into identifiers, operators and parentheses.
 * @param {string} expression
 * @returns {string[]}
 */
const tokenize = (expression) =>
  expression
    .replace(/\(/g, " ( ")
    .replace(/\)/g, " ) ")
    .split(/\s+/)
    .filter((token) => token.length > 0)

const isOperator = (token, operator) => token !== undefined && token.toUpperCase() === operator

/**
 * Classifies an SPDX licence expression under the policy. A missing or empty expression is denied.
 * @param {string | null | undefined} expression e.g. `"MIT"`, `"(MIT OR GPL-3.0)"`, `"GPL-3.0 AND MIT"`
 * @returns {{ allowed: boolean, reason: string }}
 */
export const classify = (expression) => {
  if (typeof expression !== "string" || expression.trim() === "") {
    return { allowed: false, reason: "no licence declared" }
  }
  const trimmed = expression.trim()
  if (/^SEE LICEN[CS]E IN /i.test(trimmed)) {
    return { allowed: false, reason: `custom licence file (${trimmed}): review it and allowlist the package` }
  }
  const tokens = tokenize(trimmed)
  let position = 0

  // expression := and (OR and)* ; and := atom (AND atom)* ; atom := "(" expression ")" | id [WITH exception]
  const parseOr = () => {
    const options = [parseAnd()]
    while (isOperator(tokens[position], "OR")) {
      position++
      options.push(parseAnd())
    }
    if (options.length === 1) return options[0]
    const chosen = options.find((option) => option.allowed)
    return chosen !== undefined
      ? { allowed: true, reason: chosen.reason }
      : { allowed: false, reason: options.map((option) => option.reason).join(" / ") }
  }
  const parseAnd = () => {
    const parts = [parseAtom()]
    while (isOperator(tokens[position], "AND")) {
      position++
      parts.push(parseAtom())
    }
    if (parts.length === 1) return parts[0]
    const denied = parts.filter((part) => !part.allowed)
    return denied.length === 0
      ? { allowed: true, reason: parts.map((part) => part.reason).join(" AND ") }
      : { allowed: false, reason: denied.map((part) => part.reason).join("; ") }
  }
  const parseAtom = () => {
    const token = tokens[position++]
    if (token === undefined) throw new Error("unexpected end")
    if (token === "(") {
      const inner = parseOr()
      if (tokens[position++] !== ")") throw new Error("missing )")
      return inner
    }
    if (token === ")" || isOperator(token, "AND") || isOperator(token, "OR") || isOperator(token, "WITH")) {
      throw new Error(`unexpected ${token}`)
    }
    if (isOperator(tokens[position], "WITH")) {
      // An exception only grants extra permissions; the base licence decides.
      position++
      const exception = tokens[position++]
      if (exception === undefined || exception === "(" || exception === ")") throw new Error("missing exception")
    }
    return classifyIdentifier(token)
  }

  try {
    const result = parseOr()
    if (position !== tokens.length) throw new Error(`unexpected ${tokens[position]}`)
    return result
  } catch (error) {
    return { allowed: false, reason: `unparseable licence expression "${trimmed}" (${error.message})` }
  }
}

/**
 * Reads the licence expression of a package.json, including the legacy `license: { type }` and
 * `licenses: [{ type }]` (dual licence, joined with OR) forms. Returns undefined when none is declared.
 * @param {Record<string, unknown>} manifest
 * @returns {string | undefined}
 */
export const licenceOf = (manifest) => {
  const typeOf = (entry) =>
    typeof entry === "string" ? entry : typeof entry?.type === "string" ? entry.type : undefined
  const single = typeOf(manifest.license)
  if (single !== undefined && single.trim() !== "") return single.trim()
  if (Array.isArray(manifest.licenses)) {
    const types = manifest.licenses.map(typeOf).filter((type) => type !== undefined && type.trim() !== "")
    if (types.length === 1) return types[0]
    if (types.length > 1) return `(${types.join(" OR ")})`
  }
  return undefined
}
