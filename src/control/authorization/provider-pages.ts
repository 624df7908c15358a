import type { KoaContextWithOIDC } from 'oidc-provider';
import { markWrongUserCode } from './device-code-throttle.ts';
import { isStoreOutage, markUnavailable, OUTAGE_ANSWER } from './outage-answers.ts';
import { html, type Html, messagePage, providerFormPage } from './views.ts';

/**
 * The pages oidc-provider renders itself (device flow, logout, errors), in Gatehouse's layout. None of
 * oidc-provider's markup reaches the browser: it hands us each form as HTML (its device-code field
 * with an inline `onfocus` handler, which the pages' policy blocks), so we read the form's action and
 * fields out of it and draw the form ourselves, every value escaped, with no script (`autofocus`
 * focuses the field).
 */

interface ProviderForm {
  id: string;
  action: string;
  hidden: { name: string; value: string }[];
  /** The value of the visible user-code field, if the form has one (filled in again after a wrong code). */
  userCode: string | undefined;
}

const UNESCAPES: Record<string, string> = { '&amp;': '&', '&lt;': '<', '&gt;': '>', '&quot;': '"', '&#39;': "'" };
const unescape = (value: string): string => value.replace(/&(?:amp|lt|gt|quot|#39);/g, (e) => UNESCAPES[e]!);
const attributesOf = (tag: string): Record<string, string> =>
  Object.fromEntries([...tag.matchAll(/\s([a-zA-Z_.:-]+)="([^"]*)"/g)].map(([, name, value]) => [name!.toLowerCase(), unescape(value!)]));

/** oidc-provider's form, as data. Throws on a form without an id and action: that is a version we have not read. */
export function readProviderForm(form: string): ProviderForm {
  const tag = /<form\b[^>]*>/i.exec(form)?.[0];
  const { id, action } = tag ? attributesOf(tag) : {};
  if (!id || !action) throw new Error('oidc-provider handed over a form without an id and action');
  const inputs = [...form.matchAll(/<input\b[^>]*>/gi)].map((m) => attributesOf(m[0]));
  const hidden = inputs.filter((i) => i.type === 'hidden' && i.name).map((i) => ({ name: i.name!, value: i.value ?? '' }));
  const field = inputs.find((i) => i.type !== 'hidden' && i.name === 'user_code');
  return { id, action, hidden, userCode: field ? (field.value ?? '') : undefined };
}

function renderForm(form: ProviderForm, inside: Html): Html {
  return html`<form id="${form.id}" method="post" action="${form.action}">
    ${form.hidden.map((f) => html`<input type="hidden" name="${f.name}" value="${f.value}" /> `)}${inside}
  </form>`;
}

export async function deviceInputSource(ctx: KoaContextWithOIDC, form: string, _out: unknown, err?: Error & { userCode?: string }): Promise<void> {
  const wrongCode = err !== undefined && (Boolean(err.userCode) || err.name === 'NoCodeError');
  if (wrongCode) markWrongUserCode(ctx);
  // The store away: a moment's outage, 503 with Retry-After as elsewhere, not oidc-provider's 500.
  const outage = isStoreOutage(err);
  if (outage) markUnavailable(ctx);
  const error = !err
    ? null
    : wrongCode
      ? 'That code is not right. Check the code on your device.'
      : err.name === 'AbortedError'
        ? 'The sign-in was cancelled.'
        : outage
          ? 'The code cannot be checked right now. Try again in a few seconds.'
          : 'The code could not be checked. Try again.';
  const read = readProviderForm(form);
  ctx.type = 'html';
  ctx.body = providerFormPage(
    'Connect a device',
    'Enter the code shown on your device.',
    renderForm(
      read,
      html`<label for="user_code">Code</label>
        <input
          id="user_code"
          name="user_code"
          value="${read.userCode ?? ''}"
          autocomplete="off"
          autocapitalize="characters"
          spellcheck="false"
          required
          autofocus
        />
        <button type="submit">Continue</button> `,
    ),
    error,
  );
}

export async function deviceConfirmSource(
  ctx: KoaContextWithOIDC,
  form: string,
  client: { clientName?: string; clientId: string },
  _info: unknown,
  userCode: string,
): Promise<void> {
  ctx.type = 'html';
  ctx.body = providerFormPage(
    'Confirm the device',
    `${client.clientName ?? client.clientId} asks to connect. Continue only if your device shows ${userCode}.`,
    renderForm(
      readProviderForm(form),
      html`<button type="submit">Continue</button>
        <button class="link" type="submit" name="abort" value="yes">Cancel</button> `,
    ),
  );
}

export async function deviceSuccessSource(ctx: KoaContextWithOIDC): Promise<void> {
  ctx.type = 'html';
  ctx.body = messagePage('Device connected', 'You can close this page and go back to your device.');
}

export async function logoutSource(ctx: KoaContextWithOIDC, form: string): Promise<void> {
  ctx.type = 'html';
  ctx.body = providerFormPage(
    'Sign out',
    'Do you want to sign out of Gatehouse?',
    renderForm(
      readProviderForm(form),
      html`<button type="submit" name="logout" value="yes">Sign out</button>
        <button class="link" type="submit">Stay signed in</button> `,
    ),
  );
}

export async function logoutSuccessSource(ctx: KoaContextWithOIDC): Promise<void> {
  ctx.type = 'html';
  ctx.body = messagePage('Signed out', 'You have signed out.');
}

/**
 * Only the OAuth error code and its description are shown; never a stack trace. oidc-provider hands
 * over the error: a store outage is a 503 page with Retry-After and `temporarily_unavailable`
 * (RFC 6749 §4.1.2.1), not its 500 `server_error`.
 */
export async function renderError(
  ctx: Pick<KoaContextWithOIDC, 'type' | 'body' | 'status' | 'set'>,
  out: { error?: string; error_description?: string },
  err?: unknown,
): Promise<void> {
  ctx.type = 'html';
  if (isStoreOutage(err)) {
    markUnavailable(ctx);
    ctx.body = messagePage('Try again shortly', 'The request cannot be completed right now. Try again in a few seconds.', {
      Error: OUTAGE_ANSWER.error,
      Details: OUTAGE_ANSWER.error_description,
    });
    return;
  }
  ctx.body = messagePage('Something went wrong', 'The request could not be completed. Go back to the application and try again.', {
    Error: out.error ?? 'server_error',
    Details: out.error_description ?? '',
  });
}
