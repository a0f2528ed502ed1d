import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runApplication } from '../src/handler.js';
import type { Application, HeaderList } from '../src/types.js';
import { setupTestingDefaults } from '../src/util.js';
import { collectingErrors, RecordingTarget } from './helpers/recording-target.js';

async function run(app: Application) {
  const target = new RecordingTarget();
  const errors = collectingErrors();
  await runApplication(app, setupTestingDefaults({ 'tsgi.errors': errors }), target, { client: target });
  return { target, log: errors.text() };
}

describe('response engine: statuses and lengths a client cannot parse', () => {
  const cases: [string, string, HeaderList, RegExp][] = [
    ['an interim 1xx status as the final one', '103 Early Hints', [['Link', '</a.css>; rel=preload']], /final status/],
    ['a status code above 599', '600 Odd', [], /final status/],
    ['two Content-Length headers', '200 OK', [['Content-Length', '1'], ['content-length', '22']], /more than once/],
    ['two equal Content-Length headers', '200 OK', [['Content-Length', '1'], ['Content-Length', '1']], /more than once/],
  ];
  for (const [label, status, headers, message] of cases) {
    it(`answers 500 for ${label}, sending none of it`, async () => {
      const { target, log } = await run((_, start) => {
        start(status, [['Content-Type', 'text/plain'], ...headers]);
        return ['x'];
      });
      assert.equal(target.head?.status, 500);
      assert.equal(target.header('Link'), undefined);
      assert.equal(target.head?.headers.filter(([name]) => name.toLowerCase() === 'content-length').length, 1);
      assert.match(log, message);
    });
  }
});
