/**
 * The entry point of `dist/tag.js`: installs the tag on the page's window, silently doing nothing if that fails.
 */
import { install } from "./Tag.js"

try {
  install(window)
} catch {}
