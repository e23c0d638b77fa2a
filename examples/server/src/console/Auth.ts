/**
 * The console's signed-out pages: sign in (email, password, and the authenticator code for users with a second
 * factor), accept an invitation (password and profile), ask for a password reset, and set a new password.
 */
import { escapeHtml, type Message, field, form, page } from "./Layout.js"

/** The sign-in page. */
export const login = (csrf: string, message?: Message, email = ""): string =>
  page({
    title: "Sign in",
    message,
    body: `${form(
      "/console/login",
      csrf,
      `${field("email", "Email address", { type: "email", value: email, autocomplete: "username", required: true })}
${field("password", "Password", { type: "password", autocomplete: "current-password", required: true })}
${field("totp", "Authenticator code (if you turned it on)", { autocomplete: "one-time-code" })}
<button type="submit">Sign in</button>`
    )}
<p><a href="/console/reset">Forgot your password?</a></p>`
  })

const passwordFields = `${field("password", "Password (at least 12 characters)", {
  type: "password",
  autocomplete: "new-password",
  required: true
})}`

/** The page that accepts an invitation: a password and the profile. */
export const accept = (csrf: string, token: string, message?: Message): string =>
  page({
    title: "Accept your invitation",
    message,
    body: form(
      "/console/accept",
      csrf,
      `<input type="hidden" name="token" value="${escapeHtml(token)}">
${passwordFields}
${field("firstName", "First name", { autocomplete: "given-name" })}
${field("lastName", "Last name", { autocomplete: "family-name" })}
${field("phone", "Phone", { type: "tel", autocomplete: "tel" })}
<button type="submit">Create my account</button>`
    )
  })

/** The page that asks for a reset link. */
export const resetRequest = (csrf: string, message?: Message): string =>
  page({
    title: "Reset your password",
    message,
    body: form(
      "/console/reset",
      csrf,
      `${field("email", "Email address", { type: "email", autocomplete: "username", required: true })}
<button type="submit">Mail me a link</button>`
    )
  })

/** The page that sets a new password with a reset link. */
export const resetConfirm = (csrf: string, token: string, message?: Message): string =>
  page({
    title: "Choose a new password",
    message,
    body: form(
      "/console/reset/confirm",
      csrf,
      `<input type="hidden" name="token" value="${escapeHtml(token)}">
${passwordFields}
<button type="submit">Set the password</button>`
    )
  })
