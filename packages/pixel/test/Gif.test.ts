import { assert, describe, it } from "@effect/vitest"
import * as Gif from "../src/Gif.js"

describe("Gif", () => {
  it("is the 43-byte GIF89a, 1x1, with a transparent colour and a trailer", () => {
    const b = Gif.bytes
    assert.strictEqual(b.byteLength, 43)
    assert.strictEqual(new TextDecoder().decode(b.subarray(0, 6)), "GIF89a")
    // logical screen width and height (little-endian)
    assert.strictEqual(b[6]! | (b[7]! << 8), 1)
    assert.strictEqual(b[8]! | (b[9]! << 8), 1)
    // graphic control extension with the transparency flag set
    assert.deepStrictEqual([...b.subarray(19, 23)], [0x21, 0xf9, 0x04, 0x01])
    // image descriptor of 1x1 at 0,0
    assert.strictEqual(b[27], 0x2c)
    assert.strictEqual(b[32]! | (b[33]! << 8), 1)
    assert.strictEqual(b[34]! | (b[35]! << 8), 1)
    assert.strictEqual(b[42], 0x3b)
  })

  it("comes with headers that forbid caching and give the exact length", () => {
    assert.strictEqual(Gif.headers["content-type"], "image/gif")
    assert.strictEqual(Gif.headers["content-length"], "43")
    assert.include(Gif.headers["cache-control"]!, "no-store")
  })
})
