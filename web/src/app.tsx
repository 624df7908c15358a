// One app, two faces: /console/* for operators and /developers/* for the portal. The session
// decides the navigation (by permission), the server decides what the APIs allow.
import { lazy, Suspense, useEffect, useRef, type ReactNode } from 'react';
import { Link, Redirect, Route, Switch, useLocation } from 'wouter';
import { api, signInUrl } from './api.ts';
import { SessionGate, useSession } from './session.tsx';
import { Loading } from './ui.tsx';
import { Overview } from './pages/overview.tsx';
import { ApiEdit, ApisList } from './pages/apis.tsx';
import { AppDetail, AppsList } from './pages/apps.tsx';
import { KeyDetail, KeysList } from './pages/keys.tsx';
import { RequestLog } from './pages/requests.tsx';
import { AuditLog } from './pages/audit.tsx';
import { ClientsPage, SigningKeysPage, UsersPage, WebhookDetail, WebhooksPage } from './pages/admin.tsx';
import { PoliciesList, PolicyEdit } from './pages/policies.tsx';
import { DevelopersPage } from './pages/developers.tsx';
import { Catalogue, PortalAppDetail, PortalApps, PortalKey } from './portal/portal.tsx';
import { PortalWebhookPage } from './portal/webhooks.tsx';
import { SignUp } from './portal/signup.tsx';

// Scalar is big: its page (and the script it loads) arrives only when someone opens a reference.
const ApiReference = lazy(() => import('./portal/reference.tsx'));

interface NavItem {
  href: string;
  label: string;
  permission?: string;
  /** Pages that belong to this item although their path does not start with its own (a key's page, under My apps). */
  under?: string[];
}

const CONSOLE_NAV: NavItem[] = [
  { href: '/console/', label: 'Overview', permission: 'usage:read' },
  { href: '/console/apis', label: 'APIs', permission: 'apis:read' },
  { href: '/console/apps', label: 'Apps', permission: 'apps:read' },
  { href: '/console/keys', label: 'Keys', permission: 'keys:read' },
  { href: '/console/requests', label: 'Request log', permission: 'requests:read' },
  { href: '/console/audit', label: 'Audit log', permission: 'audit:read' },
  { href: '/console/policies', label: 'Policies', permission: 'policies:read' },
  { href: '/console/clients', label: 'OAuth clients', permission: 'clients:read' },
  { href: '/console/users', label: 'Users', permission: 'users:read' },
  { href: '/console/developers', label: 'Developers', permission: 'users:read' },
  { href: '/console/signing-keys', label: 'Signing keys', permission: 'signing_keys:read' },
  { href: '/console/webhooks', label: 'Webhooks', permission: 'webhooks:read' },
];

const PORTAL_NAV: NavItem[] = [
  { href: '/developers/', label: 'API catalogue' },
  { href: '/developers/apps', label: 'My apps', under: ['/developers/keys/', '/developers/webhooks/'] },
];

/** A face's root (`/console/`, `/developers/`) is current only on itself; other items on the pages below them too. */
const isCurrent = (n: NavItem, location: string): boolean =>
  location === n.href || (!n.href.endsWith('/') && location.startsWith(n.href)) || (n.under ?? []).some((p) => location.startsWith(p));

function SignOut() {
  const signOut = async () => {
    try {
      await api<void>('POST', '/bff/logout');
    } finally {
      location.assign('/console/');
    }
  };
  return (
    <button type="button" className="link-button" onClick={() => void signOut()}>
      Sign out
    </button>
  );
}

function Shell({ face, children }: { face: 'console' | 'developers'; children: ReactNode }) {
  const session = useSession();
  const [location] = useLocation();
  const main = useRef<HTMLElement>(null);
  // After client-side navigation, move focus to the new page's heading, as a page load would.
  const first = useRef(true);
  useEffect(() => {
    if (first.current) {
      first.current = false;
      return;
    }
    const heading = main.current?.querySelector('h1');
    if (heading) {
      heading.setAttribute('tabindex', '-1');
      heading.focus();
    }
  }, [location]);
  const nav = (face === 'console' ? CONSOLE_NAV : PORTAL_NAV).filter((n) => !n.permission || session.permissions.includes(n.permission));
  const isOperator = session.role !== 'developer';
  return (
    <div className="layout">
      <a className="skip" href="#main">
        Skip to content
      </a>
      <header className="top">
        <span className="brand">Gatehouse {face === 'console' ? 'console' : 'developers'}</span>
        <nav aria-label="Faces" className="faces">
          {isOperator ? <Link href="/console/">Console</Link> : null}
          <Link href="/developers/">Developer portal</Link>
        </nav>
        <span className="who">
          {session.user.displayName ?? session.user.name} <span className="badge">{session.role}</span>
        </span>
        <SignOut />
      </header>
      <nav aria-label={face === 'console' ? 'Console' : 'Portal'} className="side">
        <ul>
          {nav.map((n) => (
            <li key={n.href}>
              <Link href={n.href} aria-current={isCurrent(n, location) ? 'page' : undefined}>
                {n.label}
              </Link>
            </li>
          ))}
        </ul>
      </nav>
      <main id="main" ref={main}>
        {children}
      </main>
    </div>
  );
}

function SignIn() {
  const [location] = useLocation();
  const portal = location.startsWith('/developers');
  return (
    <main id="main" className="signin">
      <h1>{portal ? 'Gatehouse for developers' : 'Gatehouse console'}</h1>
      <p>Sign in with your Gatehouse account. You may be asked for a code from your authenticator app.</p>
      <p>
        <a className="button primary" href={signInUrl(location)}>
          Sign in
        </a>
      </p>
      {portal ? (
        <p>
          New here? <Link href="/developers/signup">Create a developer account</Link>.
        </p>
      ) : (
        <p>
          Building on our APIs? <Link href="/developers/">Go to the developer portal</Link>.
        </p>
      )}
    </main>
  );
}

function ConsoleRoutes() {
  const session = useSession();
  if (session.role === 'developer') return <Redirect to="/developers/" replace />;
  return (
    <Shell face="console">
      <Switch>
        <Route path="/console/" component={Overview} />
        <Route path="/console/apis" component={ApisList} />
        <Route path="/console/apis/new">{() => <ApiEdit id={null} />}</Route>
        <Route path="/console/apis/:id">{(p) => <ApiEdit key={p.id} id={p.id} />}</Route>
        <Route path="/console/apps" component={AppsList} />
        <Route path="/console/apps/:id">{(p) => <AppDetail key={p.id} id={p.id} />}</Route>
        <Route path="/console/keys" component={KeysList} />
        <Route path="/console/keys/:id">{(p) => <KeyDetail key={p.id} id={p.id} />}</Route>
        <Route path="/console/requests" component={RequestLog} />
        <Route path="/console/audit" component={AuditLog} />
        <Route path="/console/policies" component={PoliciesList} />
        <Route path="/console/policies/new">{() => <PolicyEdit id={null} />}</Route>
        <Route path="/console/policies/:id">{(p) => <PolicyEdit key={p.id} id={p.id} />}</Route>
        <Route path="/console/developers" component={DevelopersPage} />
        <Route path="/console/clients" component={ClientsPage} />
        <Route path="/console/users" component={UsersPage} />
        <Route path="/console/signing-keys" component={SigningKeysPage} />
        <Route path="/console/webhooks" component={WebhooksPage} />
        <Route path="/console/webhooks/:id">{(p) => <WebhookDetail key={p.id} id={p.id} />}</Route>
        <Route>
          <NotFound />
        </Route>
      </Switch>
    </Shell>
  );
}

function PortalRoutes() {
  return (
    <Shell face="developers">
      <Switch>
        <Route path="/developers/" component={Catalogue} />
        <Route path="/developers/apis/:id">
          {(p) => (
            <Suspense fallback={<Loading what="the API reference" />}>
              <ApiReference key={p.id} id={p.id} />
            </Suspense>
          )}
        </Route>
        <Route path="/developers/apps" component={PortalApps} />
        <Route path="/developers/apps/:id">{(p) => <PortalAppDetail key={p.id} id={p.id} />}</Route>
        <Route path="/developers/keys/:id">{(p) => <PortalKey key={p.id} id={p.id} />}</Route>
        <Route path="/developers/webhooks/:id">{(p) => <PortalWebhookPage key={p.id} id={p.id} />}</Route>
        <Route>
          <NotFound />
        </Route>
      </Switch>
    </Shell>
  );
}

function NotFound() {
  return (
    <>
      <h1>Page not found</h1>
      <p>
        There is nothing here. <Link href="/console/">Go to the overview</Link>.
      </p>
    </>
  );
}

export function App() {
  const [location] = useLocation();
  if (location === '/developers/signup') return <SignUp />;
  if (location.startsWith('/developers'))
    return (
      <SessionGate signedOut={<SignIn />}>
        <PortalRoutes />
      </SessionGate>
    );
  if (location.startsWith('/console'))
    return (
      <SessionGate signedOut={<SignIn />}>
        <ConsoleRoutes />
      </SessionGate>
    );
  return <Redirect to="/console/" replace />;
}
