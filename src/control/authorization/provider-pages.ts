import type { KoaContextWithOIDC } from 'oidc-provider';
import { html, messagePage, providerFormPage } from './views.ts';

/** The pages oidc-provider renders itself (device flow, logout, errors), in Gatehouse's layout. */

export async function deviceInputSource(ctx: KoaContextWithOIDC, form: string, _out: unknown, err?: Error & { userCode?: string }): Promise<void> {
  const error = !err ? null : err.userCode || err.name === 'NoCodeError' ? 'That code is not right. Check the code on your device.' : err.name === 'AbortedError' ? 'The sign-in was cancelled.' : 'The code could not be checked. Try again.';
  ctx.type = 'html';
  ctx.body = providerFormPage('Connect a device', 'Enter the code shown on your device.', form, html`<button type="submit" form="op.deviceInputForm">Continue</button>`, error);
}

export async function deviceConfirmSource(ctx: KoaContextWithOIDC, form: string, client: { clientName?: string; clientId: string }, _info: unknown, userCode: string): Promise<void> {
  ctx.type = 'html';
  ctx.body = providerFormPage(
    'Confirm the device',
    `${client.clientName ?? client.clientId} asks to connect. Continue only if your device shows ${userCode}.`,
    form,
    html`<button type="submit" form="op.deviceConfirmForm">Continue</button><button class="link" type="submit" form="op.deviceConfirmForm" name="abort" value="yes">Cancel</button>`,
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
    form,
    html`<button type="submit" form="op.logoutForm" name="logout" value="yes">Sign out</button><button class="link" type="submit" form="op.logoutForm">Stay signed in</button>`,
  );
}

export async function logoutSuccessSource(ctx: KoaContextWithOIDC): Promise<void> {
  ctx.type = 'html';
  ctx.body = messagePage('Signed out', 'You have signed out.');
}

/** Only the OAuth error code and its description are shown; never a stack trace. */
export async function renderError(ctx: KoaContextWithOIDC, out: { error?: string; error_description?: string }): Promise<void> {
  ctx.type = 'html';
  ctx.body = messagePage('Something went wrong', 'The request could not be completed. Go back to the application and try again.', {
    Error: out.error ?? 'server_error',
    Details: out.error_description ?? '',
  });
}
