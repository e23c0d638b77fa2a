import { assert, describe, it } from "@effect/vitest"
import { Event, SchemaVersion } from "@openaudience/event-schema"

describe("SchemaVersion", () => {
  it("parses and compares MODEL-REVISION-ADDITION", () => {
    assert.deepStrictEqual(SchemaVersion.parse("1-2-3"), { model: 1, revision: 2, addition: 3 })
    assert.isUndefined(SchemaVersion.parse("1.2.3"))
    assert.isUndefined(SchemaVersion.parse("0-0-1"))
    assert.isTrue(SchemaVersion.canRead("1-0-1", "1-0-0"))
    assert.isFalse(SchemaVersion.canRead("1-0-0", "1-0-1"))
    assert.isFalse(SchemaVersion.canRead("2-0-0", "1-0-0"))
  })

  it("exports a JSON Schema per event type that names its version and rejects unknown fields", () => {
    for (const type of Event.eventTypes) {
      const schema = SchemaVersion.jsonSchema(type) as any
      assert.strictEqual(schema.$id, `iglu:dev.openaudience/${type}/jsonschema/1-0-1`)
      assert.strictEqual(schema.self.version, SchemaVersion.versions[type])
      const body = schema.$ref ? schema.$defs[schema.$ref.split("/").pop()] : schema
      assert.strictEqual(body.additionalProperties, false)
      assert.deepStrictEqual(body.properties.type.enum, [type])
      assert.include(body.required, "id")
    }
    const conversion = SchemaVersion.jsonSchema("conversion") as any
    const item = conversion.$defs.LineItem
    assert.deepStrictEqual(conversion.$defs.MinorUnits.minimum, 0)
    assert.include(item.required, "unitPrice")
    assert.include(conversion.$defs.CurrencyCode.enum, "JPY")
  })
})
