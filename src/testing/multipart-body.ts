/** Builds a multipart/form-data request body, as a browser does for a form with file inputs. */
import { randomUUID } from 'node:crypto';

type FieldValue = string | number | boolean;

/** Form fields: a value, or a list of values sent under the same name. */
export type FormFields = Record<string, FieldValue | readonly FieldValue[]>;

/** A file input's content. */
export interface UploadedFile {
  filename: string;
  content: string | Uint8Array;
  /** Default `application/octet-stream`. */
  contentType?: string;
}

/** File inputs: one file, or several under the same name (`<input type=file multiple>`). */
export type FileFields = Record<string, UploadedFile | readonly UploadedFile[]>;

export interface EncodedBody {
  body: Buffer;
  contentType: string;
}

/** Each field's values as strings, in order. */
export function fieldEntries(form: FormFields): [string, string][] {
  const entries: [string, string][] = [];
  for (const [name, value] of Object.entries(form)) {
    for (const item of Array.isArray(value) ? value : [value]) entries.push([name, String(item)]);
  }
  return entries;
}

// What the HTML standard does to names and file names in a part header, so that a quote or
// a line break cannot end the header early.
function quoted(text: string): string {
  return '"' + text.replace(/\r/g, '%0D').replace(/\n/g, '%0A').replace(/"/g, '%22') + '"';
}

interface Part {
  header: string;
  content: Buffer;
}

/** `form` and `files` as multipart/form-data, with a boundary that occurs in none of the content. */
export function multipartBody(form: FormFields = {}, files: FileFields = {}, boundary?: string): EncodedBody {
  const parts: Part[] = fieldEntries(form).map(([name, value]) => ({
    header: `Content-Disposition: form-data; name=${quoted(name)}\r\n`,
    content: Buffer.from(value, 'utf8'),
  }));
  for (const [name, value] of Object.entries(files)) {
    for (const file of (Array.isArray(value) ? value : [value]) as UploadedFile[]) {
      const type = file.contentType ?? 'application/octet-stream';
      if (/[\r\n]/.test(type)) throw new TypeError(`the content type of ${file.filename} has a line break`);
      parts.push({
        header: `Content-Disposition: form-data; name=${quoted(name)}; filename=${quoted(file.filename)}\r\nContent-Type: ${type}\r\n`,
        content: typeof file.content === 'string' ? Buffer.from(file.content, 'utf8') : Buffer.from(file.content),
      });
    }
  }
  let chosen = boundary ?? newBoundary();
  while (boundary === undefined && parts.some((part) => part.content.includes(chosen))) chosen = newBoundary();
  const pieces: Buffer[] = [];
  for (const part of parts) {
    pieces.push(Buffer.from(`--${chosen}\r\n${part.header}\r\n`, 'utf8'), part.content, Buffer.from('\r\n'));
  }
  pieces.push(Buffer.from(`--${chosen}--\r\n`));
  return { body: Buffer.concat(pieces), contentType: `multipart/form-data; boundary=${chosen}` };
}

function newBoundary(): string {
  return `----tsgi-testing-${randomUUID().replace(/-/g, '')}`;
}
