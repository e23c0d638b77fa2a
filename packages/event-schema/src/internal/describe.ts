/**
 * Renders an offending input value briefly for error messages: strings quoted and cut at 40 characters.
 */
export const describe = (actual: unknown): string => {
  if (typeof actual === "string") return JSON.stringify(actual.length > 40 ? `${actual.slice(0, 40)}…` : actual)
  if (actual === undefined) return "nothing"
  if (typeof actual === "number") return String(actual)
  try {
    const json = JSON.stringify(actual)
    return json === undefined ? typeof actual : json.length > 40 ? `${json.slice(0, 40)}…` : json
  } catch {
    return typeof actual
  }
}
