/** Test fixtures. */
import { randomUUID } from "node:crypto"

/** A fresh name, so tests sharing one log never mix their records. */
export const unique = (prefix: string): string => `${prefix}-${randomUUID().slice(0, 8)}`
