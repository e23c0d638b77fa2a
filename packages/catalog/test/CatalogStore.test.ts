/**
 * The in-memory store has the behaviour of every store (storage-sql runs the same suite on SQLite and PostgreSQL),
 * and `compareIds` is the order of UTF-8 bytes.
 */
import { assert, describe, it, layer } from "@effect/vitest"
import { FastCheck as fc } from "effect"
import { CatalogStore } from "../src/index.js"
import { catalogStoreSuite } from "./catalogStoreSuite.js"

layer(CatalogStore.layerMemory, { excludeTestServices: true })("CatalogStore (in memory)", catalogStoreSuite)

describe("CatalogStore.compareIds", () => {
  it("orders ids as their UTF-8 bytes compare", () => {
    const bytes = (s: string) => Buffer.from(s, "utf8")
    fc.assert(
      fc.property(
        fc.string({ unit: "grapheme", maxLength: 6 }),
        fc.string({ unit: "grapheme", maxLength: 6 }),
        (a, b) => {
          assert.strictEqual(
            Math.sign(CatalogStore.compareIds(a, b)),
            Math.sign(Buffer.compare(bytes(a), bytes(b))),
            `${a} ${b}`
          )
        }
      ),
      { seed: 41, numRuns: 3000 }
    )
  })
})
