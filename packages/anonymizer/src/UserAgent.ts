/**
 * User agents generalized to what reports need and nothing more: browser family and major version, OS family,
 * device class and whether it is a bot. The raw string is never kept. Parsing is ua-parser-js 1.x (MIT; 2.x is
 * AGPL and must not be used); families outside a fixed list become `"other"`, so a crafted user agent cannot
 * smuggle an identifier into a browser or OS name, and major versions are at most four digits.
 *
 * Parsing costs tens of microseconds and user agents repeat heavily in real traffic, so results are cached by
 * the user-agent string in a least-recently-used map bounded by entry count and by the bytes of the strings it
 * holds. Strings longer than `Bot.MaxLength` (512) characters and strings with control characters are absurd for
 * a browser: they generalize to unknown without being parsed or cached. Nothing here throws.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"
import UAParser from "ua-parser-js"
import * as Bot from "./Bot.js"
import { LRUCache } from "lru-cache"

/**
 * The device classes.
 *
 * @since 0.1.0
 * @category models
 */
export const Device = Schema.Literal("desktop", "mobile", "tablet", "bot", "other", "unknown")

/**
 * @since 0.1.0
 * @category models
 */
export type Device = typeof Device.Type

/**
 * A generalized user agent: what may be stored and reported.
 *
 * @since 0.1.0
 * @category models
 */
export const Generalized = Schema.Struct({
  /** Browser family (`"Chrome"`, `"Mobile Safari"`, …), `"other"` when not a known family, or `"unknown"`. */
  browser: Schema.String,
  /** Major version (`"120"`), or `"unknown"`. */
  browserMajor: Schema.String,
  /** OS family (`"Windows"`, `"iOS"`, `"Android"`, …), `"other"`, or `"unknown"`. */
  os: Schema.String,
  device: Device,
  bot: Schema.Boolean
})

/**
 * @since 0.1.0
 * @category models
 */
export interface Generalized extends Schema.Schema.Type<typeof Generalized> {}

/**
 * What missing and absurd user agents generalize to.
 *
 * @since 0.1.0
 * @category constants
 */
export const unknown: Generalized = Object.freeze({
  browser: "unknown",
  browserMajor: "unknown",
  os: "unknown",
  device: "unknown",
  bot: false
})

const unknownBot: Generalized = Object.freeze({ ...unknown, device: "bot", bot: true })

const canonical = (names: ReadonlyArray<string>, aliases: Record<string, string> = {}): Map<string, string> => {
  const map = new Map<string, string>()
  for (const name of names) map.set(name.toLowerCase(), name)
  for (const [alias, name] of Object.entries(aliases)) map.set(alias.toLowerCase(), name)
  return map
}

// Families ua-parser-js 1.x reports, as they appear in real traffic (the uap-core test corpus) and a few more.
const browsers = canonical(
  [
    "Chrome",
    "Chrome WebView",
    "Chrome Headless",
    "Chromium",
    "Android Browser",
    "Safari",
    "Mobile Safari",
    "WebKit",
    "Firefox",
    "Mobile Firefox",
    "Firefox Focus",
    "Firefox Reality",
    "Edge",
    "IE",
    "IEMobile",
    "Opera",
    "Opera Mini",
    "Opera Mobi",
    "Opera Touch",
    "Opera GX",
    "Opera Coast",
    "Opera Tablet",
    "Samsung Internet",
    "UCBrowser",
    "QQBrowser",
    "Baidu",
    "Yandex",
    "Facebook",
    "Instagram",
    "WeChat",
    "MIUI Browser",
    "Silk",
    "Kindle",
    "Puffin",
    "Vivaldi",
    "Brave",
    "DuckDuckGo",
    "Whale",
    "NAVER",
    "Maxthon",
    "Coc Coc",
    "Huawei Browser",
    "Vivo Browser",
    "HeyTap",
    "Oculus Browser",
    "Electron",
    "Konqueror",
    "Netscape",
    "SeaMonkey",
    "PaleMoon",
    "Waterfox",
    "IceCat",
    "Iron",
    "Dolphin",
    "Sleipnir",
    "Lunascape",
    "Links",
    "Lynx",
    "w3m",
    "Mosaic",
    "Polaris",
    "Obigo",
    "NetFront",
    "UP.Browser",
    "Jasmine",
    "OviBrowser",
    "NokiaBrowser",
    "GoBrowser",
    "Twitter",
    "TikTok",
    "Snapchat",
    "KAKAOTALK",
    "KAKAOSTORY",
    "Line",
    "Weibo",
    "Daum",
    "GSA",
    "Quark",
    "360",
    "115",
    "Midori",
    "QupZilla",
    "Falkon",
    "Avast Secure Browser",
    "AVG Secure Browser",
    "Smart Lenovo Browser",
    "Ladybird",
    "Fennec",
    "Sailfish Browser",
    "Dragon",
    "Rekonq",
    "ICE Browser",
    "Wolvic",
    "PhantomJS",
    "Skyfire",
    "Minimo",
    "RockMelt",
    "Bolt",
    "Conkeror",
    "KHTML",
    "Basilisk",
    "Mozilla",
    "Avant",
    "Arora",
    "Camino",
    "Epiphany",
    "Otter",
    "LG Browser",
    "Ecosia",
    "Klar",
    "Yahoo",
    "Bing"
  ],
  { MobileSafari: "Mobile Safari", UPBROWSER: "UP.Browser" }
)

const systems = canonical(
  [
    "Android",
    "Windows",
    "Linux",
    "iOS",
    "Mac OS",
    "Windows Phone",
    "Windows Mobile",
    "Symbian",
    "Series40",
    "BlackBerry",
    "Bada",
    "NetRange",
    "Firefox OS",
    "Nintendo",
    "FreeBSD",
    "OpenBSD",
    "NetBSD",
    "BSD",
    "PlayStation",
    "Xbox",
    "Ubuntu",
    "Debian",
    "Fedora",
    "Gentoo",
    "Mandriva",
    "RedHat",
    "SUSE",
    "Mint",
    "Arch",
    "Chromium OS",
    "Chromecast",
    "webOS",
    "NetTV",
    "watchOS",
    "VIERA",
    "MeeGo",
    "KaiOS",
    "Tizen",
    "Sailfish",
    "RIM Tablet OS",
    "Unix",
    "Solaris",
    "Maemo",
    "OS/2",
    "SerenityOS",
    "HarmonyOS",
    "Fuchsia",
    "Haiku",
    "Palm"
  ],
  { "Windows Phone OS": "Windows Phone" }
)

const desktopSystems = new Set([
  "Windows",
  "Linux",
  "Mac OS",
  "FreeBSD",
  "OpenBSD",
  "NetBSD",
  "BSD",
  "Ubuntu",
  "Debian",
  "Fedora",
  "Gentoo",
  "Mandriva",
  "RedHat",
  "SUSE",
  "Mint",
  "Arch",
  "Chromium OS",
  "Unix",
  "Solaris",
  "OS/2",
  "SerenityOS",
  "Haiku"
])

/**
 * Every browser family `generalize` may report, besides `"other"` and `"unknown"`.
 *
 * @since 0.1.0
 * @category constants
 */
export const browserFamilies: ReadonlySet<string> = new Set(browsers.values())

/**
 * Every OS family `generalize` may report, besides `"other"` and `"unknown"`.
 *
 * @since 0.1.0
 * @category constants
 */
export const osFamilies: ReadonlySet<string> = new Set(systems.values())

const family = (names: Map<string, string>, name: string | undefined): string =>
  name === undefined || name === "" ? "unknown" : (names.get(name.toLowerCase()) ?? "other")

const deviceClass = (type: string | undefined, os: string): Device => {
  switch (type) {
    case "mobile":
      return "mobile"
    case "tablet":
      return "tablet"
    case "console":
    case "smarttv":
    case "wearable":
    case "embedded":
    case "xr":
      return "other"
    default:
      return desktopSystems.has(os) ? "desktop" : "unknown"
  }
}

/** Control characters (C0 except tab, DEL, C1) and U+FFFD: binary or badly decoded input. */
const binary = /[\u0000-\u0008\u000a-\u001f\u007f-\u009f\ufffd]/

const parser = new UAParser()

/**
 * Generalizes a user agent without any cache: ua-parser-js every time (unless absurd).
 *
 * @since 0.1.0
 * @category generalization
 */
export const generalizeUncached = (userAgent: string | undefined | null): Generalized => {
  const isBot = Bot.isBot(userAgent)
  if (typeof userAgent !== "string" || userAgent.length > Bot.MaxLength || binary.test(userAgent)) {
    return isBot ? unknownBot : unknown
  }
  parser.setUA(userAgent)
  const browser = parser.getBrowser()
  const os = family(systems, parser.getOS().name)
  const browserName = family(browsers, browser.name)
  const major = browser.major !== undefined && /^\d{1,4}$/.test(browser.major) ? browser.major : "unknown"
  return Object.freeze({
    browser: browserName,
    browserMajor: browserName === "unknown" ? "unknown" : major,
    os,
    device: isBot ? "bot" : deviceClass(parser.getDevice().type, os),
    bot: isBot
  })
}

/**
 * A user-agent generalizer with a bounded cache.
 *
 * @since 0.1.0
 * @category models
 */
export interface Cache {
  /** Same result as `generalizeUncached`, parsed once per distinct string while it stays cached. */
  readonly generalize: (userAgent: string | undefined | null) => Generalized
  /** Entries and estimated bytes held, and how many strings were parsed. */
  readonly stats: () => { readonly entries: number; readonly bytes: number; readonly parses: number }
  /** Forgets every cached string. */
  readonly clear: () => void
}

/**
 * Default most entries kept.
 *
 * @since 0.1.0
 * @category constants
 */
export const DefaultCapacity = 20_000

/**
 * Default memory budget: estimated bytes of the cached strings (two per character) and entries. A typical user
 * agent of 150 characters weighs about 400 bytes, so the entry count binds first (about 8 MB).
 *
 * @since 0.1.0
 * @category constants
 */
export const DefaultMaxBytes = 16 * 1024 * 1024

const ENTRY_BYTES = 96

/**
 * A generalizer caching at most `capacity` user agents and `maxBytes` estimated bytes. A non-positive capacity
 * caches nothing.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: { readonly capacity?: number; readonly maxBytes?: number } = {}): Cache => {
  const capacity = Math.floor(options.capacity ?? DefaultCapacity)
  const maxBytes = Math.floor(options.maxBytes ?? DefaultMaxBytes)
  // lru-cache, bounded by entries and by estimated bytes; with no room at all, nothing is kept.
  const lru =
    capacity > 0 && maxBytes > 0 ? new LRUCache<string, Generalized>({ max: capacity, maxSize: maxBytes }) : undefined
  let parses = 0
  return {
    generalize: (userAgent) => {
      if (typeof userAgent !== "string" || userAgent.length > Bot.MaxLength) return generalizeUncached(userAgent)
      const hit = lru?.get(userAgent)
      if (hit !== undefined) return hit
      parses++
      const result = generalizeUncached(userAgent)
      lru?.set(userAgent, result, { size: ENTRY_BYTES + 2 * userAgent.length })
      return result
    },
    stats: () => ({ entries: lru?.size ?? 0, bytes: lru?.calculatedSize ?? 0, parses }),
    clear: () => lru?.clear()
  }
}

const shared = make()

/**
 * Generalizes a user agent through a process-wide cache (`DefaultCapacity` entries, `DefaultMaxBytes`).
 *
 * @since 0.1.0
 * @category generalization
 */
export const generalize = (userAgent: string | undefined | null): Generalized => shared.generalize(userAgent)

/**
 * A stable short text of a generalized user agent (`"Chrome/120/Windows/desktop"`), for keys and logs.
 *
 * @since 0.1.0
 * @category formatting
 */
export const toKey = (ua: Generalized): string => `${ua.browser}/${ua.browserMajor}/${ua.os}/${ua.device}`
