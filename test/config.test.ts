import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { ConfigError, DEVELOPMENT_JWT_SECRET, ENV, loadConfig } from '../kernel/config';

const ROOT = path.join(__dirname, '..');
const PRODUCTION_SECRET = 'a-production-secret-of-at-least-32-characters';

function problemsOf(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return [...error.problems];
    throw error;
  }
  return [];
}

/** One validated configuration object: every setting typed, defaulted, documented; bad values stop the start. */
describe('configuration (kernel/config.ts)', () => {
  it('documents exactly the variables it reads in the README settings table', () => {
    const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('## Settings'));
    const documented = [...section.matchAll(/^\| `([A-Z0-9_]+)` \|/gm)].map((m) => m[1]);
    expect(documented.sort()).toEqual(Object.keys(ENV).sort());
  });

  it('defaults to a development configuration on loopback', () => {
    const config = loadConfig({});
    expect(config.production).toBe(false);
    expect(config.host).toBe('127.0.0.1');
    expect(config.jwt.keys).toEqual({ kind: 'secret', secret: DEVELOPMENT_JWT_SECRET });
    expect(config.graphql.introspection).toBe(true);
    expect(config.graphql.suggestions).toBe(true);
    expect(config.rateLimit).toMatchObject({ perMinute: 600, burst: 120 });
  });

  it('names the variable of every bad value', () => {
    const problems = problemsOf({
      PORT: 'eighty',
      RATE_LIMIT_BURST: '-3',
      INTROSPECTION: 'maybe',
      REDIS_URL: 'localhost:6379',
      DATABASE_URL: 'postgres://x',
    });
    expect(problems.join('\n')).toMatch(/PORT/);
    expect(problems.join('\n')).toMatch(/RATE_LIMIT_BURST/);
    expect(problems.join('\n')).toMatch(/INTROSPECTION: must be true or false/);
    expect(problems.join('\n')).toMatch(/REDIS_URL: must start with redis:\/\//);
    expect(problems.join('\n')).toMatch(/DATABASE_URL/);
    expect(problemsOf({ RATE_LIMIT_ROLES: 'pbx=ten' })[0]).toMatch(/RATE_LIMIT_ROLES/);
    expect(problemsOf({ JWT_SECRET: 'a', JWKS_URL: 'https://idp.example/jwks' })[0]).toMatch(/only one/);
  });

  it('refuses a production start without keys, with the published secret or a short one', () => {
    expect(problemsOf({ NODE_ENV: 'production' })[0]).toMatch(/JWT_SECRET, JWT_PUBLIC_KEY or JWKS_URL/);
    expect(problemsOf({ NODE_ENV: 'production', JWT_SECRET: DEVELOPMENT_JWT_SECRET }).join()).toMatch(/development secret/);
    expect(problemsOf({ NODE_ENV: 'production', JWT_SECRET: 'short' }).join()).toMatch(/32 characters/);
    const config = loadConfig({ NODE_ENV: 'production', JWT_SECRET: PRODUCTION_SECRET });
    expect(config.graphql).toMatchObject({ introspection: false, suggestions: false });
    expect(loadConfig({ NODE_ENV: 'production', JWT_SECRET: PRODUCTION_SECRET, INTROSPECTION: 'true' }).graphql.introspection).toBe(true);
  });

  it('the production entry point (bin/serve.ts) exits with the message when misconfigured', () => {
    const run = spawnSync(process.execPath, ['-r', '@swc-node/register', 'bin/serve.ts', 'gateway'], {
      cwd: ROOT,
      env: { PATH: process.env.PATH, NODE_ENV: 'production', MAX_DEPTH: 'deep' },
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(/MAX_DEPTH/);
    expect(run.stderr).toMatch(/JWT_SECRET, JWT_PUBLIC_KEY or JWKS_URL: production needs one/);
  });
});
