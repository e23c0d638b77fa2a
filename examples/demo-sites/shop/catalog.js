// The demo shop's catalog and cart (kept in localStorage). Prices are integer minor units, as the tag expects;
// images are relative to the shop's pages (the ad server's catalog names them by absolute URL).
window.shop = {
  catalog: {
    "sku-boots": {
      name: "Trail boots",
      category: "shoes",
      unitPrice: 12900,
      currency: "EUR",
      image: "images/boots.svg"
    },
    "sku-jacket": {
      name: "Rain jacket",
      category: "outerwear",
      unitPrice: 8950,
      currency: "EUR",
      image: "images/jacket.svg"
    },
    "sku-socks": {
      name: "Wool socks",
      category: "accessories",
      unitPrice: 1450,
      currency: "EUR",
      image: "images/socks.svg"
    }
  },
  price: (p) => `€${(p.unitPrice / 100).toFixed(2)}`,
  cart: () => JSON.parse(localStorage.getItem("demo-cart") || "[]"),
  saveCart: (items) => localStorage.setItem("demo-cart", JSON.stringify(items))
}

// The footer's "Your ad data" link opens the collector's privacy center for this browser through the tag, which
// posts the visitor id in a form body (never in a URL). Without the tag (blocked, not loaded yet) the link's plain
// `/privacy` address still opens the center, which then cannot tell which browser is asking.
// (The catalog is also read outside a browser, by the demo's seed: no document there.)
if (typeof document !== "undefined") {
  document.addEventListener("click", (event) => {
    const link = event.target instanceof Element && event.target.closest("a[data-oa-privacy]")
    if (link && window.oa?.v) {
      event.preventDefault()
      window.oa("privacy")
    }
  })
}
