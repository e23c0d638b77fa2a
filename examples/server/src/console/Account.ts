/**
 * The console's own-account page: the signed-in user's profile (name, phone, employment mailing address, bank
 * details), and the second factor (TOTP): turning it on shows the `otpauth://` URI as text, to paste into an
 * authenticator app, and asks for a first code.
 */
import type { User } from "@openaudience/accounts"
import { escapeHtml, field, form, type Message, page, type Viewer } from "./Layout.js"

/** The account page; `profile` re-fills the form after a refused change. */
export const account = (
  viewer: Viewer,
  user: User.User,
  message?: Message,
  profile: Readonly<Record<string, string>> = {}
): string => {
  const value = (name: string, stored: string | null | undefined) => profile[name] ?? stored ?? ""
  const totp = user.totp
    ? `<p id="totp-status">The second factor is on: signing in asks for a code of your authenticator app.</p>`
    : `<p id="totp-status">The second factor is off.</p>
${form("/console/account/totp", viewer.csrf, `<button type="submit">Turn on the second factor</button>`)}`
  return page({
    title: "My account",
    viewer,
    message,
    body: `<p>Signed in as <strong id="email">${escapeHtml(user.email)}</strong> (${escapeHtml(user.role)}).</p>
<h2>Profile</h2>
${form(
  "/console/account",
  viewer.csrf,
  `${field("firstName", "First name", { value: value("firstName", user.firstName), autocomplete: "given-name" })}
${field("lastName", "Last name", { value: value("lastName", user.lastName), autocomplete: "family-name" })}
${field("phone", "Phone", { type: "tel", value: value("phone", user.phone), autocomplete: "tel" })}
${field("mailingAddress", "Employment mailing address", { value: value("mailingAddress", user.mailingAddress) })}
${field("iban", "IBAN", { value: value("iban", user.bank?.iban) })}
${field("bic", "BIC", { value: value("bic", user.bank?.bic) })}
<button type="submit">Save</button>`
)}
<h2>Second factor</h2>
${totp}`
  })
}

/** The second step of turning TOTP on: the URI to add to an app, and a first code to confirm. */
export const totpSetup = (viewer: Viewer, uri: string, message?: Message): string =>
  page({
    title: "Turn on the second factor",
    viewer,
    message,
    body: `<p>Add this to your authenticator app (most apps accept the URI as text), then enter the code it shows.</p>
<pre id="otpauth-uri">${escapeHtml(uri)}</pre>
${form(
  "/console/account/totp/confirm",
  viewer.csrf,
  `${field("code", "Code", { autocomplete: "one-time-code", required: true })}
<button type="submit">Confirm</button>`
)}`
  })
