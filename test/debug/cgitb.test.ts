import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { debugMiddleware, html, text } from '../../src/debug/cgitb.js';
import { runApplication } from '../../src/handler.js';
import { setupTestingDefaults } from '../../src/util.js';
import { validator } from '../../src/validate.js';
import { RecordingTarget } from '../helpers/recording-target.js';
import { fixtures, header, parseCgiOutput, runScript } from '../helpers/cgi-scripts.js';

const crash = join(fixtures, 'crash.js');

function failInTypeScript(): never {
  throw new Error('mapped <here> & there');
}

function caught(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error('expected a throw');
}

describe('html() and text()', () => {
  it('escapes the message and maps frames back to the .ts source through the source map', () => {
    const page = html(caught(failInTypeScript));
    assert.match(page, /<h1>Error<\/h1>/);
    assert.match(page, /mapped &lt;here&gt; &amp; there/);
    assert.doesNotMatch(page, /mapped <here>/);
    assert.match(page, /test\/debug\/cgitb\.test\.ts:\d+:\d+<\/a>, in <code>failInTypeScript<\/code>/);
    assert.match(page, /compiled: [^<]*dist\/test\/debug\/cgitb\.test\.js/);
    // The failing line, from the TypeScript source, marked.
    assert.match(page, /<span class="current">=&gt; *\d+ +throw new Error\(&#39;mapped &lt;here&gt; &amp; there&#39;\);<\/span>/);
    assert.match(page, /function failInTypeScript\(\): never \{/);
  });

  it('shows the error properties and the cause chain', () => {
    const inner = Object.assign(new Error('disk <full>'), { code: 'ENOSPC' });
    const outer = new Error('could not save', { cause: inner });
    const page = html(outer);
    assert.match(page, /Caused by Error: disk &lt;full&gt;/);
    assert.match(page, /<code>code<\/code><\/td><td><pre>&#39;ENOSPC&#39;<\/pre>/);
    const plain = text(outer);
    assert.match(plain, /Caused by Error: disk <full>/);
    assert.match(plain, /code = 'ENOSPC'/);
  });

  it('text() gives the frames with the line marked and the plain stack at the end', () => {
    const report = text(caught(failInTypeScript), { context: 3 });
    assert.match(report, /^Error: mapped <here> & there\n/);
    assert.match(report, /cgitb\.test\.ts:\d+:\d+, in failInTypeScript\n/);
    assert.match(report, / => +\d+ +throw new Error/);
    assert.match(report, /The plain stack:\nError: mapped <here> & there\n {4}at failInTypeScript/);
  });

  it('describes thrown values that are not errors', () => {
    assert.match(html('just <a> string'), /<h1>thrown string<\/h1><p class="message">just &lt;a&gt; string<\/p>/);
    assert.match(text({ odd: 1 }), /^thrown object: \{ odd: 1 \}/);
  });

  it('falls back to the plain stack, escaped, when drawing the report fails', () => {
    const error = new Error('<plain>');
    assert.ok(error.stack); // V8 draws the stack lazily from the message: draw it while the message works
    Object.defineProperty(error, 'message', { get() { throw new Error('no message for you'); } });
    const page = html(error);
    assert.match(page, /<pre>Error: &lt;plain&gt;\n {4}at /);
  });
});

describe('cgitb.enable() in a crashing CGI script', () => {
  const logdir = mkdtempSync(join(tmpdir(), 'tsgi-cgitb-'));
  after(() => rmSync(logdir, { recursive: true, force: true }));
  const crashAt = (where: string, env: Record<string, string> = {}) => runScript(crash, { REQUEST_METHOD: 'GET', QUERY_STRING: where, ...env });

  it('before any output: sends Status 500 and Content-Type, then the escaped report', async () => {
    const result = await crashAt('before');
    assert.equal(result.code, 1);
    const response = parseCgiOutput(result.stdout);
    assert.equal(header(response, 'Status'), '500 Internal Server Error');
    assert.equal(header(response, 'Content-Type'), 'text/html; charset=utf-8');
    const body = response.body.toString();
    assert.match(body, /^<!DOCTYPE html>/);
    assert.match(body, /boom &lt;before&gt; &amp; &quot;friends&quot;/);
    assert.match(body, /crash\.js:\d+:\d+<\/a>, in <code>explode<\/code>/);
    assert.match(result.stderr, /boom <before>/);
  });

  it('in the middle of the headers: completes the cut line so every header line is valid', async () => {
    const result = await crashAt('headers');
    const response = parseCgiOutput(result.stdout); // throws on a header line without a colon
    assert.deepEqual(response.headers.map(([name]) => name), ['X-Started', 'X-Half', 'Status', 'Content-Type']);
    assert.doesNotMatch(result.stdout.toString(), /<!--:/);
    assert.match(response.body.toString(), /boom &lt;headers&gt;/);
  });

  it('after the body started: closes open elements and appends the report', async () => {
    const result = await crashAt('body');
    assert.equal(result.code, 1);
    const response = parseCgiOutput(result.stdout);
    assert.deepEqual(response.headers, [['Content-Type', 'text/html']]);
    const body = response.body.toString();
    assert.match(body, /^<html><body><table><tr><td>partial\n<!-- --><\/textarea>.*<\/table>/);
    assert.match(body, /<div class="tsgi-cgitb">.*boom &lt;body&gt;/s);
  });

  it('after a body of another type started: plain text, HTML-escaped in case a browser sniffs it', async () => {
    const response = parseCgiOutput((await crashAt('json')).stdout);
    const body = response.body.toString();
    assert.match(body, /^\{"partial":\n\n<pre>Error: boom &lt;json&gt; &amp; &quot;friends&quot;\n/);
    assert.doesNotMatch(body, /<json>/);
  });

  it('reports unhandled rejections', async () => {
    const result = await crashAt('rejection');
    assert.equal(result.code, 1);
    assert.match(parseCgiOutput(result.stdout).body.toString(), /<h1>TypeError<\/h1><p class="message">rejected &lt;promise&gt;/);
  });

  it('in text format: a text/plain report', async () => {
    const response = parseCgiOutput((await crashAt('text')).stdout);
    assert.equal(header(response, 'Content-Type'), 'text/plain; charset=utf-8');
    assert.match(response.body.toString(), /^Error: boom <text> & "friends"\n/);
  });

  it('inside runCgi, before the headers: the report replaces the bare 500', async () => {
    const result = await crashAt('app-before');
    assert.equal(result.code, 1);
    const response = parseCgiOutput(result.stdout);
    assert.equal(header(response, 'Status'), '500 Internal Server Error');
    assert.match(response.body.toString(), /boom &lt;app-before&gt;/);
  });

  it('inside runCgi, after the body started: the report follows the first chunk', async () => {
    const result = await crashAt('app-body');
    assert.equal(result.code, 1);
    const response = parseCgiOutput(result.stdout);
    assert.equal(header(response, 'Status'), '200 OK');
    assert.match(response.body.toString(), /^<p>first chunk<\/p>\n<!-- -->.*boom &lt;app-body&gt;/s);
  });

  it('with display off: the visitor sees a generic page naming the saved report, which is private', async () => {
    const result = await crashAt('hidden', { CGITB_LOGDIR: logdir });
    const output = result.stdout.toString();
    assert.doesNotMatch(output, /boom|crash\.js|explode|friends/);
    assert.doesNotMatch(output, new RegExp(logdir));
    const files = readdirSync(logdir);
    assert.equal(files.length, 1);
    assert.match(output, new RegExp(`<p>${files[0]!.replace(/\./g, '\\.')} contains the description of this error\\.</p>`));
    const saved = join(logdir, files[0]!);
    assert.equal(statSync(saved).mode & 0o777, 0o600);
    assert.match(readFileSync(saved, 'utf8'), /boom &lt;hidden&gt;/);
  });

  it('with display off and an unwritable logdir: says it could not save, still leaks nothing', async () => {
    const output = (await crashAt('hidden', { CGITB_LOGDIR: join(logdir, 'missing') })).stdout.toString();
    assert.match(output, /A problem occurred while handling this request\.<\/p><p>The description of this error could not be saved\./);
    assert.doesNotMatch(output, /boom|missing/);
  });
});

describe('debugMiddleware', () => {
  const quiet = { write() {} };

  it('answers an error thrown by the application with a 500 report, within the TSGI rules', async () => {
    const app = validator(debugMiddleware(() => {
      throw new Error('app <failed>');
    }));
    const target = new RecordingTarget();
    await runApplication(app, setupTestingDefaults({ 'tsgi.errors': quiet }), target);
    app.assertClean();
    assert.equal(target.head?.status, 500);
    assert.deepEqual(target.head?.headers.find(([name]) => name === 'Content-Type'), ['Content-Type', 'text/html; charset=utf-8']);
    assert.match(target.body, /app &lt;failed&gt;/);
  });

  it('answers an error raised while iterating the body, before the headers went out', async () => {
    const app = validator(debugMiddleware(async function* (_environ, startResponse) {
      startResponse('200 OK', [['Content-Type', 'text/plain']]);
      yield '';
      throw new RangeError('late but not too late');
    }));
    const target = new RecordingTarget();
    await runApplication(app, setupTestingDefaults({ 'tsgi.errors': quiet }), target);
    app.assertClean();
    assert.equal(target.head?.status, 500);
    assert.match(target.body, /<h1>RangeError<\/h1>/);
  });

  it('cuts the response short when the headers already went out', async () => {
    const app = debugMiddleware(async function* (_environ, startResponse) {
      startResponse('200 OK', [['Content-Type', 'text/plain']]);
      yield 'sent';
      throw new Error('too late');
    });
    const target = new RecordingTarget();
    await runApplication(app, setupTestingDefaults({ 'tsgi.errors': quiet }), target);
    assert.equal(target.head?.status, 200);
    assert.equal(target.body, 'sent');
    assert.match(String(target.aborted), /too late/);
  });

  it('names a logdir with $` or $& in it as it is (the note is not a replacement pattern)', async () => {
    const logdir = join(tmpdir(), 'no-such-dir-$`-$&');
    const app = debugMiddleware(() => {
      throw new Error('boom');
    }, { logdir });
    const target = new RecordingTarget();
    await runApplication(app, setupTestingDefaults({ 'tsgi.errors': quiet }), target);
    assert.equal(target.body.match(/<!DOCTYPE/g)?.length, 1, 'the page appears once');
    assert.ok(target.body.includes(`in ${logdir.replace(/&/g, '&amp;')}, but failed`), target.body.slice(-400));
  });

  it('with display off shows nothing of the error', async () => {
    const app = debugMiddleware(() => {
      throw new Error('private <stuff>');
    }, { display: false });
    const target = new RecordingTarget();
    await runApplication(app, setupTestingDefaults({ 'tsgi.errors': quiet }), target);
    assert.equal(target.head?.status, 500);
    assert.doesNotMatch(target.body, /private/);
  });

  it('leaves working applications and their Content-Length alone', async () => {
    const app = validator(debugMiddleware((_environ, startResponse) => {
      startResponse('200 OK', [['Content-Type', 'text/plain']]);
      return ['fine'];
    }));
    const target = new RecordingTarget();
    await runApplication(app, setupTestingDefaults({ 'tsgi.errors': quiet }), target);
    app.assertClean();
    assert.deepEqual(target.head?.headers, [['Content-Type', 'text/plain'], ['Content-Length', '4']]);
    assert.equal(target.body, 'fine');
  });
});
