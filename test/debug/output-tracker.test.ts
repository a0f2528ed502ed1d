import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { OutputTracker } from '../../src/debug/output-tracker.js';

function fed(...chunks: (string | Uint8Array)[]): OutputTracker {
  const tracker = new OutputTracker();
  for (const chunk of chunks) tracker.observe(chunk);
  return tracker;
}

describe('OutputTracker', () => {
  it('starts with nothing written and then opens the headers with Status and Content-Type', () => {
    const tracker = fed();
    assert.equal(tracker.phase, 'nothing');
    assert.equal(tracker.closingHeaders('text/html'), 'Status: 500 Internal Server Error\r\nContent-Type: text/html\r\n\r\n');
    assert.equal(tracker.phase, 'body');
  });

  it('finds the end of the headers across writes, with CRLF or LF alone', () => {
    const crlf = fed('Content-Type: text/plain\r', '\n\r', '\nbody');
    assert.equal(crlf.phase, 'body');
    assert.equal(crlf.contentType, 'text/plain');
    const lf = fed(Buffer.from('Status: 404 Not Found\nContent-type: text/html\n'), '\n');
    assert.equal(lf.phase, 'body');
    assert.equal(lf.contentType, 'text/html');
    assert.ok(lf.headerNames.has('status'));
  });

  it('ends a line cut short, giving it a colon when it had none', () => {
    assert.equal(fed('X-A: 1\r\nX-Ha').closingHeaders('text/html'), ': (line cut short by an error)\r\nStatus: 500 Internal Server Error\r\nContent-Type: text/html\r\n\r\n');
    assert.equal(fed('X-A: 1\r\nX-B: hal').closingHeaders('text/html'), '\r\nStatus: 500 Internal Server Error\r\nContent-Type: text/html\r\n\r\n');
    assert.equal(fed('X-A: 1\r').closingHeaders('text/html'), '\nStatus: 500 Internal Server Error\r\nContent-Type: text/html\r\n\r\n');
  });

  it('keeps the status and Content-Type the script already sent', () => {
    const tracker = fed('Status: 200 OK\r\nContent-Type: text/plain\r\n');
    assert.equal(tracker.closingHeaders('text/html'), '\r\n');
    assert.equal(tracker.contentType, 'text/plain');
    assert.equal(fed('Location: /elsewhere\n').closingHeaders('text/html'), 'Content-Type: text/html\r\n\r\n');
  });

  it('gives up looking for headers after 64 KiB without a blank line', () => {
    const tracker = fed('x'.repeat(70_000));
    assert.equal(tracker.phase, 'body');
  });
});
