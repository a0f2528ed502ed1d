/**
 * The upload report: reads a multipart form with FieldStorage and answers with each uploaded
 * file's name, size and SHA-256 (computed while streaming, so a large file never sits in
 * memory). A GET shows the upload form.
 *
 * As a CGI script: examples/site/cgi-bin/upload.js
 */
import { createHash } from 'node:crypto';
import { FieldStorage, FormError, type FormItem } from '../../src/form/index.js';
import type { Application, Environ } from '../../src/types.js';
import { html, type SafeHtml } from '../shared/html.js';
import { page } from '../shared/page.js';

/** Largest upload the demo accepts; FieldStorage answers anything bigger with a 413. */
export const MAX_UPLOAD = 50 * 1024 * 1024;

export interface FileReport {
  field: string;
  filename: string;
  type: string;
  size: number;
  sha256: string;
}

function uploadForm(action: string): SafeHtml {
  return html`<form method="post" action="${action}" enctype="multipart/form-data">
  <input type="file" name="file" multiple aria-label="files to upload">
  <input type="text" name="note" placeholder="a note (optional)" aria-label="note">
  <button>Upload</button>
</form>`;
}

async function sha256(item: FieldStorage): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of item.file!.stream()) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** The files of a parsed form, in the order they came, with their digests. */
export async function reportFiles(form: FieldStorage): Promise<FileReport[]> {
  const reports: FileReport[] = [];
  for (const item of (form.list ?? []) as FormItem[]) {
    if (!(item instanceof FieldStorage) || item.filename === null || !item.file) continue;
    // A file input left empty still sends a part, with an empty file name and no bytes.
    if (item.filename === '' && item.file.size === 0) continue;
    reports.push({ field: item.name ?? '', filename: item.filename, type: item.type, size: item.file.size, sha256: await sha256(item) });
  }
  return reports;
}

function reportPage(environ: Environ, reports: FileReport[], note: string | undefined): string {
  const body = html`<h1>Upload report</h1>
${reports.length === 0
    ? html`<p id="no-files">No files arrived: choose one or more files before pressing Upload.</p>`
    : html`<table id="files">
<tr><th>File</th><th>Size (bytes)</th><th>SHA-256</th></tr>
${reports.map((file) => html`<tr><td class="name">${file.filename}</td><td class="size">${file.size}</td><td class="sha256 mono">${file.sha256}</td></tr>\n`)}</table>`}
${note ? html`<p>Your note: <span id="note">${note}</span></p>` : ''}
<h2>Another upload</h2>
${uploadForm(environ.SCRIPT_NAME)}`;
  return page({ title: 'Upload report', home: '/', site: 'tsgi demo', body });
}

export const upload: Application = async (environ, startResponse) => {
  const headers: [string, string][] = [['Content-Type', 'text/html; charset=utf-8']];
  if (environ.REQUEST_METHOD !== 'POST') {
    startResponse('200 OK', headers);
    return [page({ title: 'Upload files', home: '/', site: 'tsgi demo', body: html`<h1>Upload files</h1>\n<p>Choose files: the answer lists each one's name, size and SHA-256.</p>\n${uploadForm(environ.SCRIPT_NAME)}` })];
  }
  let form: FieldStorage;
  try {
    form = await FieldStorage.from(environ, { maxBodySize: MAX_UPLOAD });
  } catch (error) {
    if (!(error instanceof FormError)) throw error;
    startResponse(`${error.status} ${error.status === 413 ? 'Content Too Large' : 'Bad Request'}`, headers);
    return [page({ title: 'Upload refused', home: '/', site: 'tsgi demo', body: html`<h1>Upload refused</h1>\n<p class="error">${error.message}</p>\n${uploadForm(environ.SCRIPT_NAME)}` })];
  }
  try {
    const reports = await reportFiles(form);
    const note = form.getFirst('note');
    startResponse('200 OK', headers);
    return [reportPage(environ, reports, typeof note === 'string' ? note : undefined)];
  } finally {
    form.close();
  }
};
