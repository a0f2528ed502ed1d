import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { locationUnderMount, mountPrefix, rewriteLocations, withPrefixHeader } from '../../src/frontends/mount-prefix.js';
import type { Environ, HeaderList } from '../../src/types.js';

const at = (scriptName: string) => ({ SCRIPT_NAME: scriptName }) as Environ;

describe('mount prefix', () => {
  it('is SCRIPT_NAME as it stands in a URL, and nothing at the root', () => {
    assert.equal(mountPrefix(at('')), '');
    assert.equal(mountPrefix(at('/')), '');
    assert.equal(mountPrefix(at('/cgi-bin/app.js')), '/cgi-bin/app.js');
    assert.equal(mountPrefix(at('/api/')), '/api');
    assert.equal(mountPrefix(at('/my app/ü')), '/my%20app/%C3%BC');
  });

  it('moves root-relative Locations under the mount and leaves every other kind alone', () => {
    const prefix = '/cgi-bin/app.js';
    assert.equal(locationUnderMount('/login', prefix), '/cgi-bin/app.js/login');
    assert.equal(locationUnderMount('/', prefix), '/cgi-bin/app.js/');
    assert.equal(locationUnderMount('/?next=1', prefix), '/cgi-bin/app.js/?next=1');
    assert.equal(locationUnderMount('https://example.org/login', prefix), 'https://example.org/login');
    assert.equal(locationUnderMount('//cdn.example.org/x', prefix), '//cdn.example.org/x');
    assert.equal(locationUnderMount('login', prefix), 'login');
    assert.equal(locationUnderMount('../up', prefix), '../up');
    // An app that read X-Forwarded-Prefix built the full path already.
    assert.equal(locationUnderMount('/cgi-bin/app.js/login', prefix), '/cgi-bin/app.js/login');
    assert.equal(locationUnderMount('/cgi-bin/app.js', prefix), '/cgi-bin/app.js');
    assert.equal(locationUnderMount('/cgi-bin/app.js?x=1', prefix), '/cgi-bin/app.js?x=1');
    // Sharing the prefix's first characters is not being under it.
    assert.equal(locationUnderMount('/cgi-bin/app.jsx', prefix), '/cgi-bin/app.js/cgi-bin/app.jsx');
    assert.equal(locationUnderMount('/login', ''), '/login');
  });

  it('rewrites only Location fields, whatever their case', () => {
    const headers: HeaderList = [['Content-Type', 'text/plain'], ['LOCATION', '/x'], ['Content-Location', '/y']];
    rewriteLocations(headers, '/app');
    assert.deepEqual(headers, [['Content-Type', 'text/plain'], ['LOCATION', '/app/x'], ['Content-Location', '/y']]);
  });

  it("replaces a client's X-Forwarded-Prefix with the mount's own, and adds none at the root", () => {
    const sent: [string, string][] = [['host', 'h'], ['x-forwarded-prefix', '/evil']];
    assert.deepEqual(withPrefixHeader(sent, '/app'), [['host', 'h'], ['x-forwarded-prefix', '/app']]);
    assert.deepEqual(withPrefixHeader(sent, ''), [['host', 'h']]);
  });
});
