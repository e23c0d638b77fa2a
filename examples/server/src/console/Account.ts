/**
 * The console's own-account page: the signed-in user's profile (name, phone, employment mailing address, bank
 * details), and the second factor (TOTP): turning it on shows the `otpauth://` URI as text, to paste into an
 * authenticator app, and asks for a first code. "Your data" lists the user's rights over their own account: a
 * download of everything held about them (access), the profile form (rectification) and deleting the account
 * (erasure), which asks for the password again on a page of its own and then says what was deleted and what is kept.
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
${totp}
<h2>Your data</h2>
<ul>
<li><a id="export" href="/console/account/export" download>Download my account data</a> (JSON: your profile, role,
second factor on or off, this session, payment methods; never a password, code secret or session id).</li>
<li>To correct your data, change it in the <a href="#firstName">profile form</a> above and save.</li>
</ul>
<form method="get" action="/console/account/delete">
<button type="submit" class="danger">Delete my account…</button>
</form>`
  })
}

/** What deleting an account removes and what stays, shown before (to decide) and after (as a record). */
const erasureFacts = `<ul>
<li><strong>Deleted:</strong> your account (email address, names, phone, mailing address, bank details, password
hash, second-factor secret), your sessions, pending invitation and reset links, your payment methods (the payment
processor's references with card brand and last 4 digits) and your failed-login records. Your personal data key is
destroyed first, so the encrypted fields cannot be read any more.</li>
<li><strong>Kept:</strong> the audit log entries of what this account did (they name its user id, never your name
or address, and the log's hash chain forbids changing them). This console keeps no invoices or other billing
records: any the payment processor holds, it keeps under its own legal duties. The advertiser's sites, keys and
data are the advertiser's and stay.</li>
</ul>`

/** Why the only owner cannot delete their account, and what to do. */
export const lastOwnerMessage =
  "You are the only owner of this advertiser: invite another user as owner (Users page) and let them accept, then delete your account."

/**
 * The confirmation page of deleting one's account: what goes and what stays, then the password (and the code of
 * the second factor when it is on) to confirm. The only owner sees why they cannot, and no form.
 */
export const deleteConfirm = (
  viewer: Viewer,
  user: User.User,
  options: { readonly lastOwner: boolean; readonly message?: Message | undefined }
): string =>
  page({
    title: "Delete my account",
    viewer,
    message: options.message,
    body: options.lastOwner
      ? `<p id="last-owner" class="error" role="alert">${escapeHtml(lastOwnerMessage)}</p>
<p><a href="/console/account">Back to my account</a></p>`
      : `<p>This deletes the account <strong>${escapeHtml(user.email)}</strong> for good and signs you out. It cannot
be undone.</p>
${erasureFacts}
${form(
  "/console/account/delete",
  viewer.csrf,
  `${field("password", "Your password", { type: "password", autocomplete: "current-password", required: true })}
${user.totp ? field("totp", "Code of your authenticator app", { autocomplete: "one-time-code", required: true }) : ""}
<button type="submit" class="danger">Delete my account</button>`
)}
<p><a href="/console/account">Cancel</a></p>`
  })

/** The page after deleting one's account (signed out). */
export const deleted = (): string =>
  page({
    title: "Your account is deleted",
    body: `<p id="deleted">Your account is deleted and you are signed out.</p>
${erasureFacts}
<p><a href="/console/login">Sign in page</a></p>`
  })

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
