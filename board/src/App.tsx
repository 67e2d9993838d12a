import { useCallback, useEffect, useMemo, useState } from 'react';
import CATALOG from './operations/BundleCatalog.graphql?raw';
import { Api, createApi, LiveStatus } from './api';
import { ErrorNote } from './components/ui';
import { Board, BoardContext } from './hooks';
import { CustomersPage } from './pages/Customers';
import { NetworkPage } from './pages/Network';
import { OverviewPage } from './pages/Overview';
import { PbxPage } from './pages/Pbx';
import { SignInPage } from './pages/SignIn';
import { TransitionPage } from './pages/Transition';
import { Link, navigate, usePath } from './router';
import { clearSession, loadSession, saveSession, Session, sessionFromToken, takeTokenFromFragment } from './session';

interface Place {
  page: JSX.Element;
  title: string;
}

function homeOf(session: Session): string {
  if (session.role === 'analyst') return '/overview';
  if (session.role === 'pbx' && session.pbx) return `/pbxs/${encodeURIComponent(session.pbx)}`;
  return '/customers';
}

function route(path: string, session: Session): Place | null {
  const segment = (prefix: string) => (path.startsWith(prefix) ? decodeURIComponent(path.slice(prefix.length).replace(/\/$/, '')) : null);
  const network = segment('/networks/');
  if (network) return { page: <NetworkPage key={network} networkId={network} />, title: `Network ${network}` };
  const pbx = segment('/pbxs/');
  if (pbx) return { page: <PbxPage key={pbx} pbxId={pbx} />, title: `PBX ${pbx}` };
  if (path === '/customers') return { page: <CustomersPage />, title: 'Customers' };
  if (path === '/overview' && (session.role === 'admin' || session.role === 'analyst'))
    return { page: <OverviewPage />, title: 'Fleet overview' };
  if (path === '/transition' && session.role === 'admin') return { page: <TransitionPage />, title: 'Legacy licence transition' };
  return null;
}

export function App() {
  const [session, setSession] = useState<Session | null>(() => {
    const fromFragment = takeTokenFromFragment();
    const parsed = fromFragment ? sessionFromToken(fromFragment) : null;
    if (parsed && typeof parsed !== 'string') saveSession(parsed);
    return loadSession();
  });
  const [notice, setNotice] = useState<string | null>(null);
  const signOut = useCallback((why: string | null = null) => {
    clearSession();
    setSession(null);
    setNotice(why);
    navigate('/', true);
  }, []);
  const api = useMemo<Api | null>(
    () =>
      session ? createApi(session.token, () => signOut('Your token is no longer accepted (expired or revoked). Sign in again.')) : null,
    [session, signOut],
  );
  useEffect(() => () => api?.close(), [api]);

  const signIn = useCallback(async (candidate: Session): Promise<string | null> => {
    const probe = createApi(candidate.token, () => undefined);
    try {
      await probe.request(CATALOG);
    } catch (error) {
      return (error as Error).message;
    } finally {
      probe.close();
    }
    saveSession(candidate);
    setNotice(null);
    setSession(candidate);
    navigate(homeOf(candidate), true);
    return null;
  }, []);

  const path = usePath();
  useEffect(() => {
    if (session && path === '/') navigate(homeOf(session), true);
  }, [session, path]);
  if (!session || !api) return <SignInPage onSignIn={signIn} notice={notice} />;
  const place = path === '/' ? null : route(path, session);
  const context: BoardContext = { api, session };
  return (
    <Board.Provider value={context}>
      <a className="skip" href="#main">
        Skip to content
      </a>
      <Header session={session} api={api} path={path} onSignOut={() => signOut()} />
      <main id="main" tabIndex={-1}>
        {place ? <Title title={place.title}>{place.page}</Title> : path !== '/' && <NotFound />}
      </main>
    </Board.Provider>
  );
}

function Title({ title, children }: { title: string; children: JSX.Element }) {
  useEffect(() => {
    document.title = `${title} · CDS board`;
  }, [title]);
  return children;
}

function NotFound() {
  return (
    <section>
      <h1>Nothing here</h1>
      <ErrorNote error="This page does not exist, or your token may not see it." />
      <p>
        <Link to="/">Go to the start page</Link>
      </p>
    </section>
  );
}

const ROLE_NAMES: Record<Session['role'], string> = { admin: 'Admin', partner: 'Partner', analyst: 'Analyst', pbx: 'PBX' };

function Header({ session, api, path, onSignOut }: { session: Session; api: Api; path: string; onSignOut: () => void }) {
  const [live, setLive] = useState<LiveStatus>('connecting');
  useEffect(() => api.onLiveStatus(setLive), [api]);
  const links: { to: string; label: string }[] = [];
  if (session.role !== 'analyst' && session.role !== 'pbx') links.push({ to: '/customers', label: 'Customers' });
  if (session.role === 'admin' || session.role === 'analyst') links.push({ to: '/overview', label: 'Fleet overview' });
  if (session.role === 'admin') links.push({ to: '/transition', label: 'Legacy transition' });
  if (session.role === 'analyst') links.push({ to: '/customers', label: 'Customers' });
  return (
    <header className="top">
      <Link to="/" className="brand">
        CDS board
      </Link>
      <nav aria-label="Main">
        <ul>
          {links.map((l) => (
            <li key={l.to}>
              <Link to={l.to} aria-current={path === l.to ? 'page' : undefined}>
                {l.label}
              </Link>
            </li>
          ))}
        </ul>
      </nav>
      <div className="who">
        <span className={`live live-${live}`} role="status" title="Live updates (migrationProgress over WebSocket)">
          {live === 'live' ? 'Live' : live === 'reconnecting' ? 'Reconnecting…' : ''}
        </span>
        <span className="role" data-testid="signed-in-as">
          {ROLE_NAMES[session.role]} · {session.subject}
        </span>
        <button type="button" className="secondary" onClick={onSignOut}>
          Sign out
        </button>
      </div>
    </header>
  );
}
