/**
 * Prefix dispatch: `mount({ '/cgi-bin': cgiHost(...), '': staticFiles(...) })`. The matched
 * segments move from PATH_INFO onto SCRIPT_NAME (shiftPathInfo semantics), so a mounted app
 * sees its own mount point and the rest of the path. Matching is by whole segments after
 * collapsing empty and "." ones, so `//cgi-bin/x` cannot slip past the `/cgi-bin` mount.
 */
import type { Application, Environ } from '../types.js';
import { textResponse } from './text-response.js';
import { shiftPathInfo } from '../util.js';

interface Route {
  segments: string[];
  app: Application;
}

function prefixSegments(prefix: string): string[] {
  if (prefix !== '' && !prefix.startsWith('/')) throw new Error(`mount prefix ${JSON.stringify(prefix)} must be "" or start with /`);
  const segments = prefix.split('/').filter((part) => part !== '' && part !== '.');
  if (segments.includes('..')) throw new Error(`mount prefix ${JSON.stringify(prefix)} must not contain ".."`);
  return segments;
}

/** Moves `count` segments onto SCRIPT_NAME if they equal `segments`; the environ is untouched otherwise. */
function shiftPrefix(environ: Environ, segments: string[]): boolean {
  const trial = { SCRIPT_NAME: environ.SCRIPT_NAME, PATH_INFO: environ.PATH_INFO } as Environ;
  for (const segment of segments) if (shiftPathInfo(trial) !== segment) return false;
  environ.SCRIPT_NAME = trial.SCRIPT_NAME;
  environ.PATH_INFO = trial.PATH_INFO;
  return true;
}

/**
 * An application that hands each request to the app with the longest matching prefix.
 * A path with a ".." segment is refused (400) rather than matched against a prefix it may leave.
 */
export function mount(routes: Record<string, Application> | [prefix: string, app: Application][]): Application {
  const list: Route[] = (Array.isArray(routes) ? routes : Object.entries(routes)).map(([prefix, app]) => ({ segments: prefixSegments(prefix), app }));
  list.sort((a, b) => b.segments.length - a.segments.length);
  return (environ, startResponse) => {
    const pathInfo = environ.PATH_INFO || '';
    if (pathInfo.split('/').includes('..')) return textResponse(startResponse, 400, 'A ".." segment in the path is refused.');
    for (const route of list) {
      if (route.segments.length === 0 || shiftPrefix(environ, route.segments)) return route.app(environ, startResponse);
    }
    return textResponse(startResponse, 404, 'Not Found');
  };
}
