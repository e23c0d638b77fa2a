/**
 * MurmurHash3 (x86, 32-bit) over the UTF-8 bytes of a string: the feature hash of the click-through model. It is
 * fast, well mixed in its low bits (the model keeps the low `bits` of it) and the same on every platform, so a
 * model saved by one server predicts the same on another. Strings are encoded as UTF-8 first (lone surrogates
 * become U+FFFD, as `TextEncoder` does), so the hash matches other MurmurHash3 implementations fed UTF-8.
 *
 * @internal
 */

const encoder = new TextEncoder()
let scratch = new Uint8Array(256)

const utf8 = (text: string): number => {
  // A UTF-16 code unit is at most 3 UTF-8 bytes.
  if (scratch.length < text.length * 3) scratch = new Uint8Array(text.length * 3)
  return encoder.encodeInto(text, scratch).written
}

/** MurmurHash3_x86_32 of `text` (UTF-8) with `seed`, an unsigned 32-bit integer. */
export const murmur3 = (text: string, seed = 0): number => {
  const length = utf8(text)
  const bytes = scratch
  const c1 = 0xcc9e2d51
  const c2 = 0x1b873593
  let h = seed >>> 0
  const blocks = length & ~3
  for (let i = 0; i < blocks; i += 4) {
    let k = bytes[i]! | (bytes[i + 1]! << 8) | (bytes[i + 2]! << 16) | (bytes[i + 3]! << 24)
    k = Math.imul(k, c1)
    k = (k << 15) | (k >>> 17)
    k = Math.imul(k, c2)
    h ^= k
    h = (h << 13) | (h >>> 19)
    h = (Math.imul(h, 5) + 0xe6546b64) | 0
  }
  const tail = length & 3
  if (tail > 0) {
    let k = 0
    if (tail === 3) k ^= bytes[blocks + 2]! << 16
    if (tail >= 2) k ^= bytes[blocks + 1]! << 8
    k ^= bytes[blocks]!
    k = Math.imul(k, c1)
    k = (k << 15) | (k >>> 17)
    k = Math.imul(k, c2)
    h ^= k
  }
  h ^= length
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  h ^= h >>> 16
  return h >>> 0
}
