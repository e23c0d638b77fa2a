/**
 * Bit-level reading of base64url text, as the IAB TC and GPP strings use it: each character carries six bits,
 * most significant first. Reading past the end never throws; it sets `overflow` and yields zeros, so decoders
 * check once per field group instead of wrapping everything in try/catch.
 */

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

const VALUES = (() => {
  const values = new Int8Array(128).fill(-1)
  for (let i = 0; i < ALPHABET.length; i++) values[ALPHABET.charCodeAt(i)] = i
  return values
})()

/** What is wrong with a segment's characters, if anything. */
export type Base64Problem = "segment-empty" | "base64url-padding" | "base64url-alphabet"

/** Checks that `text` is non-empty base64url without padding and without any character outside the alphabet. */
export const checkBase64Url = (text: string): Base64Problem | undefined => {
  if (text.length === 0) return "segment-empty"
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i)
    if (code >= 128 || VALUES[code]! < 0) return code === 61 /* = */ ? "base64url-padding" : "base64url-alphabet"
  }
  return undefined
}

const FIBONACCI = (() => {
  const fib = [1, 2]
  while (fib.length < 40) fib.push(fib[fib.length - 1]! + fib[fib.length - 2]!)
  return fib
})()

/** Reads bits from base64url text that `checkBase64Url` accepted. */
export class BitReader {
  /** Total bits in the text. */
  readonly length: number
  /** Next bit to read. */
  position = 0
  /** Set when a read went past the end. */
  overflow = false

  constructor(private readonly text: string) {
    this.length = text.length * 6
  }

  /** One bit, 0 or 1. */
  bit(): number {
    const position = this.position++
    if (position >= this.length) {
      this.overflow = true
      return 0
    }
    return (VALUES[this.text.charCodeAt((position / 6) | 0)]! >> (5 - (position % 6))) & 1
  }

  /** A boolean from one bit. */
  flag(): boolean {
    return this.bit() === 1
  }

  /** An unsigned integer of `bits` bits (up to 52), most significant bit first. */
  int(bits: number): number {
    let value = 0
    for (let i = 0; i < bits; i++) value = value * 2 + this.bit()
    return value
  }

  /** The ids (1-based) whose bit is set in a bitfield of `bits` bits. */
  bitfield(bits: number): Array<number> {
    const ids: Array<number> = []
    for (let i = 1; i <= bits; i++) if (this.bit() === 1) ids.push(i)
    return ids
  }

  /**
   * A Fibonacci-coded positive integer (terminated by two consecutive ones), or -1 when the code runs past the
   * end or is longer than any section id could need.
   */
  fibonacci(): number {
    let value = 0
    let previous = 0
    for (let i = 0; i < FIBONACCI.length; i++) {
      const bit = this.bit()
      if (this.overflow) return -1
      if (bit === 1 && previous === 1) return value
      if (bit === 1) value += FIBONACCI[i]!
      previous = bit
    }
    return -1
  }

  /** Bits left after `position`. */
  get remaining(): number {
    return this.length - this.position
  }

  /**
   * True when what is left after the declared fields is padding an encoder could have added: fewer than
   * `maxPadding` bits, all zero.
   */
  paddingOnly(maxPadding: number): boolean {
    const remaining = this.remaining
    if (remaining < 0 || remaining >= maxPadding) return false
    for (let i = 0; i < remaining; i++) if (this.bit() !== 0) return false
    return true
  }
}
