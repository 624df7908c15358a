/**
 * The server-rendered pages of the authorization server. No scripts at all and one external
 * stylesheet, so the pages run under a strict Content-Security-Policy; every value is escaped.
 */
export const STYLESHEET_PATH = '/assets/gatehouse.css';

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
export const esc = (value: unknown): string => String(value ?? '').replace(/[&<>"']/g, (c) => ESCAPES[c]!);

/** A fragment of HTML already escaped; only the helpers here make one. */
export class Html {
  readonly text: string;
  constructor(text: string) {
    this.text = text;
  }
  toString(): string {
    return this.text;
  }
}
export const html = (strings: TemplateStringsArray, ...values: unknown[]): Html =>
  new Html(strings.reduce((out, s, i) => out + s + (i < values.length ? render(values[i]) : ''), ''));
const render = (v: unknown): string => (v instanceof Html ? v.text : Array.isArray(v) ? v.map(render).join('') : esc(v));

export function page(title: string, body: Html): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="same-origin">
<title>${esc(title)} · Gatehouse</title>
<link rel="stylesheet" href="${STYLESHEET_PATH}">
</head>
<body>
<main class="card" aria-labelledby="title">
<p class="brand" aria-label="Gatehouse">Gatehouse</p>
<h1 id="title">${esc(title)}</h1>
${body.text}
</main>
</body>
</html>`;
}

const alert = (message: string | null): Html => (message ? html`<p class="error" role="alert">${message}</p>` : html``);
const csrfField = (csrf: string): Html => html`<input type="hidden" name="csrf" value="${csrf}" />`;

export function loginPage(o: { action: string; csrf: string; clientName: string; username: string; error: string | null; abort: string }): string {
  return page(
    'Sign in',
    html` <p>to continue to <strong>${o.clientName}</strong></p>
      ${alert(o.error)}
      <form method="post" action="${o.action}" autocomplete="on">
        ${csrfField(o.csrf)}
        <label for="username">Email</label>
        <input id="username" name="username" type="email" autocomplete="username" required value="${o.username}" autofocus />
        <label for="password">Password</label>
        <input id="password" name="password" type="password" autocomplete="current-password" required />
        <button type="submit">Sign in</button>
      </form>
      <p class="secondary"><a href="${o.abort}">Cancel</a></p>`,
  );
}

export function mfaPage(o: { action: string; csrf: string; error: string | null; abort: string }): string {
  return page(
    'Two-step verification',
    html` <p>Enter the 6-digit code from your authenticator app, or one of your recovery codes.</p>
      ${alert(o.error)}
      <form method="post" action="${o.action}">
        ${csrfField(o.csrf)}
        <label for="code">Code</label>
        <input id="code" name="code" inputmode="numeric" autocomplete="one-time-code" required autofocus />
        <button type="submit">Verify</button>
      </form>
      <p class="secondary"><a href="${o.abort}">Cancel</a></p>`,
  );
}

/**
 * `qrSvg` is the QR code of `uri` as inline SVG markup from the qrcode package (paths only: no script,
 * no style, nothing to load, so the page's policy needs no img-src for it); trusted like our own markup.
 */
export function enrolPage(o: { action: string; csrf: string; secret: string; uri: string; qrSvg: string; error: string | null; abort: string }): string {
  return page(
    'Set up two-step verification',
    html` <p>
        Your account needs a second step at sign-in. Scan this QR code with an authenticator app, or type in the setup key, then enter the code the app shows.
      </p>
      <div class="qr" role="img" aria-label="QR code of the setup key, for an authenticator app">${new Html(o.qrSvg.trim())}</div>
      <p class="secret"><code aria-label="Setup key">${o.secret.replace(/(.{4})/g, '$1 ').trim()}</code></p>
      <p class="secondary"><a href="${o.uri}">Open in an authenticator app</a></p>
      ${alert(o.error)}
      <form method="post" action="${o.action}">
        ${csrfField(o.csrf)}
        <label for="code">Code from the app</label>
        <input id="code" name="code" inputmode="numeric" autocomplete="one-time-code" pattern="[0-9]{6}" required autofocus />
        <button type="submit">Turn on</button>
      </form>
      <p class="secondary"><a href="${o.abort}">Cancel</a></p>`,
  );
}

export function recoveryCodesPage(o: { action: string; csrf: string; codes: string[] }): string {
  return page(
    'Save your recovery codes',
    html` <p>Each code signs you in once if you lose your authenticator. Keep them somewhere safe: they are shown only now.</p>
      <ul class="codes">
        ${o.codes.map((c) => html`<li><code>${c}</code></li>`)}
      </ul>
      <form method="post" action="${o.action}">
        ${csrfField(o.csrf)}
        <button type="submit">I have saved them</button>
      </form>`,
  );
}

/**
 * `developerApp`: the app a developer registered the client for in the portal. Its name is the
 * developer's choice, so the page says whose it is: a name alone could pass for the operator's own.
 */
export function consentPage(o: {
  action: string;
  csrf: string;
  clientName: string;
  developerApp: string | null;
  scopes: string[];
  apis: string[];
  abort: string;
}): string {
  return page(
    'Allow access?',
    html` <p><strong>${o.clientName}</strong> asks to act for you.</p>
      ${
        o.developerApp === null
          ? html``
          : html`<p class="notice">
              A developer registered it for their app <strong>${o.developerApp}</strong>: it is not run by this service’s operators. Allow it only if you know
              and trust that app.
            </p>`
      }
      ${
        o.apis.length
          ? html`<h2>APIs</h2>
              <ul>
                ${o.apis.map((a) => html`<li>${a}</li>`)}
              </ul>`
          : html``
      }
      ${
        o.scopes.length
          ? html`<h2>Permissions</h2>
              <ul>
                ${o.scopes.map((s) => html`<li><code>${s}</code></li>`)}
              </ul>`
          : html``
      }
      <form method="post" action="${o.action}">
        ${csrfField(o.csrf)}
        <button type="submit">Allow</button>
      </form>
      <p class="secondary"><a href="${o.abort}">Deny</a></p>`,
  );
}

export function messagePage(title: string, message: string, details: Record<string, string> = {}): string {
  const rows = Object.entries(details).filter(([, v]) => v);
  return page(
    title,
    html` <p>${message}</p>
      ${
        rows.length
          ? html`<dl>
              ${rows.map(
                ([k, v]) =>
                  html`<dt>${k}</dt>
                    <dd>${v}</dd>`,
              )}
            </dl>`
          : html``
      }`,
  );
}

/** A page around a form rebuilt from one oidc-provider made (see provider-pages.ts). */
export function providerFormPage(title: string, intro: string, form: Html, error: string | null = null): string {
  return page(
    title,
    html`<p>${intro}</p>
      ${alert(error)}${form}`,
  );
}

export const STYLESHEET = `
:root{color-scheme:light dark;--accent:#1f5fbf;--fg:#1b1f24;--muted:#57606a;--bg:#f6f8fa;--card:#fff;--err:#b42318}
@media (prefers-color-scheme:dark){:root{--fg:#e6edf3;--muted:#9da7b3;--bg:#0d1117;--card:#161b22;--accent:#4c8dff;--err:#ff7b72}}
*{box-sizing:border-box}body{margin:0;min-height:100vh;display:grid;place-items:center;background:var(--bg);color:var(--fg);font:16px/1.5 system-ui,sans-serif}
.card{width:min(26rem,92vw);background:var(--card);padding:2rem;border-radius:12px;box-shadow:0 1px 3px rgba(0,0,0,.2)}
.brand{margin:0 0 .5rem;font-weight:700;letter-spacing:.04em;color:var(--accent)}h1{font-size:1.4rem;margin:.2rem 0 1rem}h2{font-size:1rem}
label{display:block;margin:.8rem 0 .3rem;font-weight:600}input{width:100%;padding:.6rem;font:inherit;border:1px solid var(--muted);border-radius:6px;background:transparent;color:inherit}
input:focus-visible,button:focus-visible,a:focus-visible{outline:3px solid var(--accent);outline-offset:2px}
button{margin-top:1.2rem;width:100%;padding:.7rem;font:inherit;font-weight:600;border:0;border-radius:6px;background:var(--accent);color:#fff;cursor:pointer}
button.link{background:transparent;color:var(--accent);margin-top:.4rem}.secondary{text-align:center;color:var(--muted)}a{color:var(--accent)}
.qr{width:min(12rem,70vw);margin:1rem auto}.qr svg{display:block;width:100%;height:auto}
.error{color:var(--err);font-weight:600}.codes{columns:2;font-size:1.05rem}.secret code{font-size:1.1rem;word-break:break-all}
.notice{border-left:4px solid var(--err);padding:.2rem 0 .2rem .8rem}
`;
