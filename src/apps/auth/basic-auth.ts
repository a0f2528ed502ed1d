/**
 * HTTP Basic authentication (RFC 7617) in front of an application, as Apache's mod_auth_basic
 * does: a request under a protected prefix reaches the app only with a user name and password
 * the area's checker accepts, and only then carries AUTH_TYPE and REMOTE_USER.
 */
import type { Application, Body, Environ, StartResponse } from '../../types.js';
import { textResponse } from '../text-response.js';
import { pathReadings, prefixSegments, underPrefix } from './protected-path.js';

/** Checks a password: an HtpasswdFile, or anything with the same method. */
export interface PasswordCheck {
  verify(user: string, password: string): Promise<boolean>;
}

export interface AuthArea {
  /** The name the browser shows in its password prompt. */
  realm: string;
  users: PasswordCheck;
  /** The URL prefix protected, below the app's mount; "" (the default) protects everything. */
  prefix?: string;
}

interface Area {
  challenge: string;
  realm: string;
  users: PasswordCheck;
  segments: string[];
}

/** The realm as a quoted-string (RFC 9110 §5.6.4); control characters have no place in a prompt. */
function challengeFor(realm: string): string {
  // eslint-disable-next-line no-control-regex
  if (realm === '' || /[\x00-\x1f\x7f]/.test(realm)) throw new Error(`an auth realm must be non-empty text without control characters, got ${JSON.stringify(realm)}`);
  return `Basic realm="${realm.replace(/["\\]/g, '\\$&')}", charset="UTF-8"`;
}

/** The user and password of a Basic Authorization header, or undefined when it is not one. */
export function basicCredentials(header: string | undefined): { user: string; password: string } | undefined {
  if (header === undefined) return undefined;
  const match = /^\s*Basic\s+([A-Za-z0-9+/]+={0,2})\s*$/i.exec(header);
  if (!match) return undefined;
  const decoded = Buffer.from(match[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon <= 0) return undefined;
  return { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

function errors(environ: Environ, line: string): void {
  environ['tsgi.errors']?.write(line + '\n');
}

/** `app` behind Basic authentication for each area; the longest matching prefix decides. */
export function basicAuth(app: Application, areas: AuthArea | AuthArea[]): Application {
  const list: Area[] = (Array.isArray(areas) ? areas : [areas]).map((area) => ({
    challenge: challengeFor(area.realm), realm: area.realm, users: area.users, segments: prefixSegments(area.prefix ?? ''),
  }));
  list.sort((a, b) => b.segments.length - a.segments.length);
  return async (environ: Environ, startResponse: StartResponse): Promise<Body> => {
    const readings = pathReadings(environ);
    const area = list.find((candidate) => underPrefix(readings, candidate.segments));
    if (area === undefined) return app(environ, startResponse);
    const credentials = basicCredentials(typeof environ.HTTP_AUTHORIZATION === 'string' ? environ.HTTP_AUTHORIZATION : undefined);
    if (credentials !== undefined && await area.users.verify(credentials.user, credentials.password)) {
      environ.AUTH_TYPE = 'Basic';
      environ.REMOTE_USER = credentials.user;
      return app(environ, startResponse);
    }
    if (credentials !== undefined) {
      errors(environ, `auth: ${environ.REQUEST_METHOD} ${environ.REQUEST_URI ?? environ.PATH_INFO}: user ${JSON.stringify(credentials.user)} not accepted in realm ${JSON.stringify(area.realm)}`);
    }
    return textResponse(startResponse, 401, 'A user name and password are needed here.', [['WWW-Authenticate', area.challenge]]);
  };
}
