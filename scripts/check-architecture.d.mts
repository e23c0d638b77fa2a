/** Types for scripts/check-architecture.mjs, so TypeScript tests can import it. */

/** One broken rule, at a file (relative to the workspace root) and a 1-based line. */
export interface Violation {
  readonly file: string
  readonly line: number
  readonly rule: keyof typeof rules
  readonly message: string
}

/** The result of a check: every violation, and how many files and workspace packages were read. */
export interface ArchitectureReport {
  readonly violations: ReadonlyArray<Violation>
  readonly files: number
  readonly packages: number
}

/** The rules, with what each one protects. */
export declare const rules: {
  readonly "library-imports-app": string
  readonly "app-imports-app": string
  readonly "internal-import": string
  readonly "code-from-text": string
  readonly "sql-in-app": string
}

/** The SQL statement kind in a piece of string or template text, if any; `inSink` when handed to a driver. */
export declare const sqlKind: (text: string, inSink: boolean) => string | undefined

/** The workspace packages (packages/* libraries and examples/* apps) under a root. */
export declare const workspacePackages: (
  root: string
) => ReadonlyArray<{ readonly name: string; readonly dir: string; readonly kind: "library" | "app" }>

/** Checks the architecture rules over the workspace at `root`. */
export declare const checkArchitecture: (root: string) => ArchitectureReport

/** Prints a report; returns whether there were no violations. */
export declare const printReport: (report: ArchitectureReport, log?: (line: string) => void) => boolean
