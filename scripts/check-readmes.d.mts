/** Types for scripts/check-readmes.mjs, so TypeScript tests can import it. */

/** A fenced code block of a Markdown text: its language, the words after it, its opening line (1-based). */
export interface CodeBlock {
  readonly language: string
  readonly flags: ReadonlyArray<string>
  readonly line: number
  readonly code: string
}

/** A compile error of a README block, at the README's path and line. */
export interface ReadmeError {
  readonly readme: string
  readonly line: number
  readonly block: number
  readonly message: string
}

/** Every fenced code block of a Markdown text. */
export declare const codeBlocks: (markdown: string) => ReadonlyArray<CodeBlock>

/** The ```ts / ```typescript blocks not marked skip-check. */
export declare const checkedBlocks: (markdown: string) => ReadonlyArray<CodeBlock>

/** Writes the blocks of the READMEs under `root` into `root/.readme-check` and typechecks them in one program. */
export declare const checkReadmes: (root: string) => {
  readonly blocks: number
  readonly readmes: number
  readonly errors: ReadonlyArray<ReadmeError>
}
