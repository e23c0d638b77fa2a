/** Types for scripts/check-packages.mjs, so TypeScript tests can import its checks. */

/** The errors and warnings of one check of a packed package. */
export interface CheckResult {
  readonly errors: ReadonlyArray<string>
  readonly warnings: ReadonlyArray<string>
}

/** Whether a version range is an exact version (one release), not a range. */
export declare const isExactPin: (range: string) => boolean

/** The ranges check of a packed package.json: no workspace-only ranges, no exact pins in runtime dependencies. */
export declare const checkRanges: (manifest: Record<string, unknown>) => CheckResult
