// The news pages' ad slots and privacy link (shared by index.html and article.html).
// This page is opened as http://localhost:PORT/demo/news/ and the shop as http://127.0.0.1:PORT, two names of the
// loopback that a browser treats as different sites. The ad server answers on both names; the slots ask it on this
// page's own name (where the shop's "show me on partner sites" link set its cookie first-party, the one way to be
// recognized across sites in a browser that blocks third-party cookies). `?adhost=` (an origin such as
// http://127.0.0.1:8080) points the slots and the privacy link elsewhere.
;(() => {
  let adOrigin = location.origin
  const adhost = new URLSearchParams(location.search).get("adhost")
  if (adhost) {
    try {
      const url = new URL(adhost.includes("://") ? adhost : `http://${adhost}`)
      if (url.protocol === "http:" || url.protocol === "https:") adOrigin = url.origin
    } catch {
      // not a URL: keep the default ad host
    }
  }
  for (const frame of document.querySelectorAll("iframe[data-oa-slot]")) {
    const params = new URLSearchParams({
      site: "demo-news",
      slot: frame.dataset.oaSlot,
      w: frame.getAttribute("width"),
      h: frame.getAttribute("height"),
      ctx: "news"
    })
    frame.src = `${adOrigin}/ad?${params}`
  }
  document.getElementById("ad-data").href = `${adOrigin}/privacy`
})()
