/**
 * Rewrites the frames of a stack trace that point into a compiled module to the TypeScript
 * lines they came from. A compiled module's first statement hands its stack traces here (see
 * compiled-module.ts), and this file loads only once a trace names it: a CGI script that
 * does not fail pays nothing, where Node's --enable-source-maps costs every run ~5 ms.
 */
import { originalPosition } from '../debug/frames.js';
import { isAbsolute } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** `text` with each `generated:line:column` replaced by the original file's, in the same form (URL or path). */
export function mapStack(text: string, generated: string): string {
  const isUrl = generated.startsWith('file:');
  const file = isUrl ? fileURLToPath(generated) : generated;
  const pattern = new RegExp(`${generated.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:(\\d+):(\\d+)`, 'g');
  return text.replace(pattern, (whole, line: string, column: string) => {
    const original = originalPosition(file, Number(line), Number(column));
    if (!original || !isAbsolute(original.source)) return whole;
    return `${isUrl ? pathToFileURL(original.source).href : original.source}:${original.line}:${original.column}`;
  });
}
