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
