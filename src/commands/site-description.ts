/**
 * What `tsgi serve` says under its start line: the folder, the CGI folders and programs, the
 * password areas, and how and as whom scripts start, so a surprise shows before a request.
 */
import { existsSync, statSync } from 'node:fs';
import { dirname, resolve, sep } from 'node:path';
import { describeLauncher, launcherKind } from '../apps/cgi/settings.js';
import { describeContainment, takeContainmentWarning } from '../gateways/launch/containment.js';
import type { RunAs } from '../gateways/launch/user.js';
import { resolveRunAs } from '../gateways/launch/user.js';
import type { SiteOptions } from './site.js';

/** The first folder on the way to `path` that `who` may not pass through, with its mode and owner, or undefined. */
export function blockedFolder(path: string, who: RunAs): string | undefined {
  const folders: string[] = [];
  for (let folder = statSync(path).isDirectory() ? path : dirname(path); ; folder = dirname(folder)) {
    folders.unshift(folder);
    if (folder === dirname(folder)) break;
  }
  for (const folder of folders) {
    const info = statSync(folder);
    const shift = info.uid === who.uid ? 6 : info.gid === who.gid ? 3 : 0;
    if ((info.mode >> shift & 1) === 0) {
      return `${folder} (mode ${(info.mode & 0o777).toString(8).padStart(3, '0')}, owner uid ${info.uid}): chmod o+x ${folder}, or choose another --cgi-user`;
    }
  }
  return undefined;
}

export function describeSite(options: SiteOptions): { lines: string[]; warnings: string[] } {
  const dir = resolve(options.dir);
  const lines: string[] = [];
  const warnings: string[] = [];
  if (options.php === undefined) lines.push(`files: ${dir}`);
  else lines.push(`PHP: ${dir}, through ${'address' in options.php ? `php-fpm at ${options.php.address}` : `${options.php.spawn ?? 'one per core'} php-cgi children tsgi keeps warm`}`);
  const scriptPlaces: string[] = [];
  if (options.cgiDirs !== undefined) {
    const folders = options.cgiDirs.map((cgiDir) => {
      const folder = resolve(dir, '.' + cgiDir);
      const found = existsSync(folder);
      if (found) scriptPlaces.push(folder);
      return found ? `${cgiDir} (${folder})` : `${cgiDir} (no such folder)`;
    });
    lines.push(`CGI folders: ${folders.join(', ')}`);
  }
  for (const { prefix, program } of options.cgiScripts ?? []) {
    lines.push(`program: ${prefix || '/'} -> ${program}`);
    scriptPlaces.push(program);
  }
  if (options.cgiExtensions !== undefined) {
    const rules = Object.entries(options.cgiExtensions).map(([ext, interpreter]) => (interpreter === null ? ext : `${ext} -> ${interpreter}`));
    lines.push(`CGI by extension: ${rules.join(', ')}`);
    scriptPlaces.push(dir);
  }
  for (const program of options.allowPrograms ?? []) lines.push(`allowed in SCRIPT_FILENAME: ${program}`);
  for (const { realm, file, prefix } of options.auth ?? []) lines.push(`password: ${prefix || 'the whole site'} (realm "${realm}", ${file})`);
  if (scriptPlaces.length > 0 || (options.allowPrograms?.length ?? 0) > 0) {
    const runAs = resolveRunAs(options.cgiUser);
    const kind = launcherKind(options.cgiSpawner);
    lines.push(`scripts start with ${describeLauncher(options.cgiSpawner)}${runAs ? `, as ${runAs.name}${options.cgiUser === undefined ? ' (tsgi runs as root)' : ''}` : ''}; ${describeContainment(kind)}`);
    const containment = takeContainmentWarning(kind);
    if (containment !== undefined) warnings.push(containment);
    if (runAs) {
      // One warning per folder in the way, naming every place behind it.
      const behind = new Map<string, string[]>();
      for (const place of scriptPlaces) {
        const blocked = blockedFolder(place, runAs);
        if (blocked !== undefined) behind.set(blocked, [...(behind.get(blocked) ?? []), place.split(sep).join('/')]);
      }
      for (const [blocked, places] of behind) warnings.push(`scripts run as ${runAs.name} and cannot reach ${places.join(' or ')}: ${runAs.name} may not enter ${blocked}`);
    }
  }
  return { lines, warnings };
}
