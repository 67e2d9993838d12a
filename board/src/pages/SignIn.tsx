import { FormEvent, useState } from 'react';
import { ErrorNote } from '../components/ui';
import { Session, sessionFromToken } from '../session';

/** Sign-in by pasting a token (JWT). It is checked by the server before the board opens, and kept only for this tab. */
export function SignInPage({ onSignIn, notice }: { onSignIn: (session: Session) => Promise<string | null>; notice: string | null }) {
  const [token, setToken] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const session = sessionFromToken(token);
    if (typeof session === 'string') {
      setError(session);
      return;
    }
    setBusy(true);
    const refusal = await onSignIn(session);
    setBusy(false);
    setError(refusal);
  };
  return (
    <main className="signin" id="main">
      <form onSubmit={submit} className="panel signin-form" aria-labelledby="signin-title">
        <h1 id="signin-title">Sign in to the CDS board</h1>
        <p className="muted">
          Paste an access token (a JWT for an admin, a partner or an analyst). In development, <code>npm start</code> prints an admin token.
          The token stays in this browser tab only and is forgotten when the tab closes.
        </p>
        {notice && <ErrorNote error={notice} />}
        <label htmlFor="token">Access token</label>
        <textarea
          id="token"
          name="token"
          rows={5}
          spellCheck={false}
          autoComplete="off"
          value={token}
          required
          onChange={(e) => {
            setToken(e.target.value);
            setError(null);
          }}
          placeholder="eyJhbGciOi…"
        />
        {error && <ErrorNote error={error} />}
        <button type="submit" disabled={busy || !token.trim()}>
          {busy ? 'Checking…' : 'Sign in'}
        </button>
      </form>
    </main>
  );
}
