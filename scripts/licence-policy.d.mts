/** Types for scripts/licence-policy.mjs, so TypeScript tests can import it. */

/** The verdict on one licence expression, with the licence chosen or the reason it was denied. */
export interface LicenceVerdict {
  readonly allowed: boolean
  readonly reason: string
}

/** SPDX identifiers a library dependency may use (compared case-insensitively). */
export declare const allowedLicences: ReadonlyArray<string>

/** Identifier families allowed by prefix. */
export declare const allowedLicencePrefixes: ReadonlyArray<string>

/** Classifies an SPDX licence expression under the policy. */
export declare const classify: (expression: string | null | undefined) => LicenceVerdict

/** Reads the licence expression of a package.json, including legacy forms. */
export declare const licenceOf: (manifest: Record<string, unknown>) => string | undefined
