/** The command-line helpers every command shares: wording of parse errors, --port and PORT. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseCommandLine, parsePort, UsageError } from '../../src/commands/args.js';
import { gatewayOptions } from '../../src/commands/serving.js';

describe('parseCommandLine', () => {
  it('words unknown options and missing values for people, with the help to read', () => {
    const options = { port: { type: 'string' }, cgi: { type: 'boolean' } } as const;
    assert.throws(() => parseCommandLine(['--colour'], options, 'tsgi serve --help'), (error: unknown) => error instanceof UsageError && error.message === 'unknown option --colour (see tsgi serve --help)');
    assert.throws(() => parseCommandLine(['--port'], options), /--port needs a value \(see tsgi --help\)/);
    assert.throws(() => parseCommandLine(['--cgi=yes'], options), /--cgi takes no value/);
  });
});

describe('parsePort', () => {
  it('takes --port first, then PORT from the environment, then the fallback', () => {
    assert.equal(parsePort('8080', 8000, { PORT: '3000' }), 8080);
    assert.equal(parsePort(undefined, 8000, { PORT: '3000' }), 3000);
    assert.equal(parsePort(undefined, 8000, { PORT: '' }), 8000);
    assert.equal(parsePort(undefined, 8000, {}), 8000);
  });

  it('says which of the two was wrong', () => {
    assert.throws(() => parsePort('http', 8000, {}), /--port must be a number from 0 to 65535, got "http"/);
    assert.throws(() => parsePort(undefined, 8000, { PORT: '70000' }), /PORT in the environment must be a number from 0 to 65535, got "70000"/);
  });
});

describe('gatewayOptions', () => {
  it('refuses --bind and --port next to --fastcgi or --scgi, showing the address to give instead', () => {
    assert.throws(() => gatewayOptions({ fastcgi: ':9000', bind: '0.0.0.0' }), /--bind is for HTTP and would be ignored with --fastcgi: put the address in it, as in --fastcgi 0\.0\.0\.0:9000/);
    assert.throws(() => gatewayOptions({ scgi: '/run/app.sock', port: '4000' }), /--port is for HTTP and would be ignored with --scgi/);
    assert.equal(gatewayOptions({ fastcgi: ':9000' }).fastcgi, ':9000');
    assert.equal(gatewayOptions({ bind: '0.0.0.0', port: '80' }).fastcgi, undefined);
  });
});
