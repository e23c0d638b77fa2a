/**
 * The ad's HTML: the creative's markup (static or a product template) inside the ad's root element, and the
 * document served into the publisher's iframe around it. Every value from a campaign or a catalog is escaped here
 * or by the catalog's template compiler.
 */
import { Template } from "@openaudience/catalog"
import * as Viewability from "../Viewability.js"

/** The id of the ad's root element (observed for viewability). */
export const rootId = "oa-ad"

const esc = Viewability.escapeHtml

/** The default product template: an image, the title and the price of each product, linked to its click URL. */
export const defaultProductTemplate = `<ul class="oa-products">{{#products}}<li class="oa-product"><a href="{{product.clickUrl}}" target="_blank" rel="noopener"><img src="{{product.image}}" alt="{{product.title}}"><span class="oa-title">{{product.title}}</span> <b class="oa-price">{{product.price}}</b></a></li>{{/products}}</ul>`

/** What a static creative shows: its image (or its alt text), escaped. The same for every ad of the creative. */
export const staticContent = (input: {
  readonly imageUrl?: string | undefined
  readonly alt?: string | undefined
  readonly width: number
  readonly height: number
}): string => {
  const alt = input.alt ?? "Advertisement"
  return input.imageUrl === undefined
    ? `<span class="oa-text">${esc(alt)}</span>`
    : `<img src="${esc(input.imageUrl)}" alt="${esc(alt)}" width="${input.width}" height="${input.height}">`
}

/** A static creative: `content` (from `staticContent`) linked to a click URL that is escaped already. */
export const staticCreativeAround = (escapedClickUrl: string, content: string): string =>
  `<a class="oa-creative" href="${escapedClickUrl}" target="_blank" rel="noopener">${content}</a>`

/** Renders a compiled product template for items (the compiler tags each product with `data-oa-product-id`). */
export const productCreative = (template: Template.Template, items: ReadonlyArray<Template.Item>): string =>
  Template.render(template, items)

/** The ad's root element: the creative and the AdChoices-style link to the privacy page. */
export const fragment = (input: {
  readonly decisionId: string
  readonly personalized: boolean
  readonly width: number
  readonly height: number
  readonly creative: string
  readonly privacyUrl: string
}): string =>
  `<div id="${rootId}" class="oa-ad" data-oa-personalized="${input.personalized ? "true" : "false"}" data-oa-decision="${esc(
    input.decisionId
  )}" style="position:relative;width:${input.width}px;height:${input.height}px;overflow:hidden">${
    input.creative
  }<a class="oa-choices" href="${esc(input.privacyUrl)}" target="_blank" rel="noopener" title="Why this ad? Your privacy choices">AdChoices</a></div>`

const style =
  "html,body{margin:0;padding:0;overflow:hidden;background:#fff;font:13px/1.3 system-ui,sans-serif}" +
  "a{color:inherit;text-decoration:none}img{display:block;max-width:100%;border:0}" +
  ".oa-products{list-style:none;margin:0;padding:4px;display:flex;gap:4px;height:100%;box-sizing:border-box}" +
  ".oa-product{flex:1;min-width:0;overflow:hidden}.oa-product img{width:100%;height:auto;object-fit:contain}" +
  ".oa-title{display:block;overflow:hidden;text-overflow:ellipsis;white-space:nowrap}" +
  ".oa-choices{position:absolute;top:0;right:0;padding:1px 4px;font-size:10px;background:rgba(255,255,255,.85);color:#333}"

/** The iframe's document: the fragment, the rendered-impression pixel and the viewability script. */
export const document = (input: {
  readonly fragment: string
  readonly personalized: boolean
  readonly width: number
  readonly height: number
  readonly renderedUrl: string
  readonly viewableUrl: string
  readonly nonce?: string | undefined
}): string =>
  `<!doctype html><html lang="en" data-oa-personalized="${input.personalized ? "true" : "false"}"><head><meta charset="utf-8"><meta name="referrer" content="no-referrer"><meta name="viewport" content="width=${input.width},height=${input.height}"><title>Advertisement</title><style>${style}</style></head><body>${
    input.fragment
  }${Viewability.renderedPixel(input.renderedUrl)}${Viewability.scriptTag({
    viewableUrl: input.viewableUrl,
    rootId,
    nonce: input.nonce
  })}</body></html>`
