/** adapt(): how `tsgi run` serves each shape a module's export comes in. */
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import { adapt, NotAnApplication } from '../../src/commands/adapt.js';
import { toFetchHandler } from '../../src/frontends/fetch.js';
import type { Application } from '../../src/types.js';
import { fromRoot } from '../helpers/paths.js';

async function get(app: Application, path: string): Promise<{ status: number; text: string }> {
  const response = await toFetchHandler(app, { errors: { write: () => {} } })(new Request(`http://example.test${path}`));
  return { status: response.status, text: await response.text() };
}

const fixture = (name: string) => import(pathToFileURL(fromRoot('test', 'fixtures', 'run', name)).href) as Promise<Record<string, unknown>>;
const shapes = await fixture('shapes.mjs');
const hono = (await fixture('hono-app.mjs')).default;
const express = (await fixture('express-app.mjs')).default;

describe('adapt', () => {
  it('serves a Hono app (an object with fetch) through fromFetchHandler', async () => {
    const adapted = adapt(hono, 'hono');
    assert.equal(adapted.adapted, true);
    assert.match(adapted.how, /fromFetchHandler/);
    assert.deepEqual(await get(adapted.app, '/hello/ann'), { status: 200, text: 'hono says hello to ann' });
  });

  it('serves an Express app through fromNodeListener', async () => {
    const adapted = adapt(express, 'express');
    assert.match(adapted.how, /fromNodeListener/);
    assert.deepEqual(await get(adapted.app, '/hello/bo'), { status: 200, text: 'express says hello to bo' });
  });

  it('serves an http.Server through its request listener', async () => {
    const server = createServer((req, res) => res.end(`server at ${req.url}`));
    assert.deepEqual(await get(adapt(server, 'server').app, '/x'), { status: 200, text: 'server at /x' });
  });

  it('serves plain functions the way --adapter says', async () => {
    assert.deepEqual(await get(adapt(shapes.fetchFunction, 'f', 'fetch').app, '/a'), { status: 200, text: 'fetch function got GET' });
    assert.deepEqual(await get(adapt(shapes.nodeListener, 'n', 'node').app, '/b'), { status: 200, text: 'node listener at /b' });
    assert.deepEqual(await get(adapt(shapes.fetchObject, 'o').app, '/c'), { status: 200, text: 'fetch object at /c' });
  });

  it('names the adapter when a plain function treated as TSGI turns out to be another shape', async () => {
    const errors: unknown[] = [];
    const capture = (app: Application): Application => async (environ, startResponse) => {
      try {
        return await app(environ, startResponse);
      } catch (error) {
        errors.push(error);
        throw error;
      }
    };
    assert.equal((await get(capture(adapt(shapes.nodeListener, 'listener').app), '/')).status, 500);
    assert.equal((await get(capture(adapt(shapes.fetchFunction, 'handler').app), '/')).status, 500);
    assert.match(String(errors[0]), /listener looks like a Node \(req, res\) listener.*--adapter node/);
    assert.match(String(errors[1]), /handler returned a Response.*--adapter fetch/);
  });

  it('refuses values that are no application, saying what to export', () => {
    assert.throws(() => adapt(shapes.settings, 'settings'), (error: unknown) => error instanceof NotAnApplication && /settings is an object with port and no fetch method, not an application/.test(error.message));
    assert.throws(() => adapt('hi', 's', 'node'), /--adapter node needs/);
    assert.throws(() => adapt({}, 'empty', 'fetch'), /--adapter fetch needs/);
  });
});
