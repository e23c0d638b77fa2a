/**
 * URL patterns for rules: a pattern starting with `/` matches a URL's path (query and fragment ignored); any
 * other pattern matches host and path (`shop.example/checkout/*`). `*` stands for any characters but `/`, `**`
 * for any characters at all. Stored URLs are absolute (`https://shop.example/p/1?x=1`) or paths.
 */

/** The host (lowercase, may be empty) and path (starting with `/`) of a stored URL, without query or fragment. */
export const splitUrl = (url: string): { readonly host: string; readonly path: string } => {
  let rest = url
  let host = ""
  const scheme = rest.indexOf("://")
  if (scheme >= 0) {
    rest = rest.slice(scheme + 3)
    let end = rest.length
    for (let i = 0; i < rest.length; i++) {
      const c = rest.charCodeAt(i)
      if (c === 47 || c === 63 || c === 35) {
        end = i
        break
      }
    }
    host = rest.slice(0, end).toLowerCase()
    const at = host.lastIndexOf("@")
    if (at >= 0) host = host.slice(at + 1)
    rest = rest.slice(end)
  }
  let cut = rest.length
  for (let i = 0; i < rest.length; i++) {
    const c = rest.charCodeAt(i)
    if (c === 63 || c === 35) {
      cut = i
      break
    }
  }
  const path = rest.slice(0, cut)
  return { host, path: path === "" || path.charCodeAt(0) !== 47 ? `/${path}` : path }
}

/** A predicate on stored URLs for a glob pattern. */
export const compileGlob = (pattern: string): ((url: string) => boolean) => {
  const pathOnly = pattern.startsWith("/")
  let source = ""
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!
    if (c === "*") {
      if (pattern[i + 1] === "*") {
        source += ".*"
        i++
      } else source += "[^/]*"
    } else source += c.replace(/[.+?^${}()|[\]\\]/g, "\\$&")
  }
  const re = new RegExp(`^${source}$`)
  return pathOnly
    ? (url) => re.test(splitUrl(url).path)
    : (url) => {
        const { host, path } = splitUrl(url)
        return re.test(host + path)
      }
}
