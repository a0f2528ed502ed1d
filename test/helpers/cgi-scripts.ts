/** Runs CGI script fixtures as a server would, and splits what they print. */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
export const fixtures = fileURLToPath(new URL('../../../test/fixtures/cgi/', import.meta.url));

export interface ScriptResult {
  code: number | null;
  stdout: Buffer;
  stderr: string;
}

/** Runs `script` with only the given CGI variables (plus PATH), feeding `stdin`. */
export function runScript(script: string, env: Record<string, string>, stdin: Buffer | string = ''): Promise<ScriptResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script], { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env }, stdio: 'pipe' });
    const out: Buffer[] = [];
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.stdin.on('error', () => {}); // the script may exit without reading everything
    child.on('close', (code) => resolve({ code, stdout: Buffer.concat(out), stderr }));
    child.stdin.end(stdin);
  });
}

export interface CgiResponse {
  headers: [string, string][];
  body: Buffer;
}

/** Splits CGI output into header lines and body; throws if there is no blank line. */
export function parseCgiOutput(output: Buffer): CgiResponse {
  const text = output.toString('latin1');
  const match = /\r?\n\r?\n/.exec(text);
  if (!match) throw new Error(`no end of headers in ${JSON.stringify(text.slice(0, 200))}`);
  const headers = text.slice(0, match.index).split(/\r?\n/).map((line): [string, string] => {
    const colon = line.indexOf(':');
    if (colon <= 0) throw new Error(`header line without a name: ${JSON.stringify(line)}`);
    return [line.slice(0, colon), line.slice(colon + 1).trim()];
  });
  return { headers, body: output.subarray(match.index + match[0].length) };
}

export function header(response: CgiResponse, name: string): string | undefined {
  return response.headers.find(([key]) => key.toLowerCase() === name.toLowerCase())?.[1];
}
