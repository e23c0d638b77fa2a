/**
 * The 1x1 transparent GIF the collector answers `GET /px.gif` with: 43 bytes, the smallest GIF89a that every
 * browser renders as an invisible image.
 *
 * @since 0.1.0
 */

/**
 * The GIF's bytes. Shared: send it, never write to it.
 *
 * @since 0.1.0
 * @category constants
 */
export const bytes: Uint8Array = Uint8Array.from([
  // "GIF89a"
  0x47, 0x49, 0x46, 0x38, 0x39, 0x61,
  // logical screen 1x1, global colour table of 2 entries
  0x01, 0x00, 0x01, 0x00, 0x80, 0x00, 0x00,
  // colour table: black, white
  0x00, 0x00, 0x00, 0xff, 0xff, 0xff,
  // graphic control extension: colour 0 is transparent
  0x21, 0xf9, 0x04, 0x01, 0x00, 0x00, 0x00, 0x00,
  // image descriptor: 1x1 at 0,0
  0x2c, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00,
  // LZW-compressed pixel data, then the trailer
  0x02, 0x02, 0x44, 0x01, 0x00, 0x3b
])

/**
 * The GIF's media type.
 *
 * @since 0.1.0
 * @category constants
 */
export const contentType = "image/gif"

/**
 * Response headers for the pixel: the image must never be cached, or repeat views would not reach the server.
 *
 * @since 0.1.0
 * @category constants
 */
export const headers: Readonly<Record<string, string>> = {
  "content-type": contentType,
  "content-length": String(bytes.byteLength),
  "cache-control": "no-store, max-age=0"
}
