/** The application the FastCGI benchmark serves through `tsgi run`: hello world, and a body counter. */
import type { Application } from '../../src/types.js';

const greeting = 'Hello, world!\n';

const app: Application = async (environ, start) => {
  if (environ.REQUEST_METHOD === 'POST') {
    let length = 0;
    for await (const chunk of environ['tsgi.input']) length += chunk.length;
    start('200 OK', [['Content-Type', 'text/plain']]);
    return [`${length}\n`];
  }
  start('200 OK', [['Content-Type', 'text/plain']]);
  return [greeting];
};

export default app;
