import test from 'ava';
import { TOKEN_HEADER, WitnessServer } from '../../lib/verify/witness/server.js';
import { askServer } from '../../lib/verify/jobs.js';

// The verify jobs' external service: a real HTTP server on 127.0.0.1 that answers anew on every call,
// refuses requests without the run's token, and logs every answer.

test('a request without the token is refused with 401, logged apart, and answers nothing', async (t) => {
  const server = await WitnessServer.start();
  try {
    const bare = await fetch(`${server.url}/answer?id=7`);
    t.is(bare.status, 401);
    const wrong = await fetch(`${server.url}/answer?id=7`, { headers: { [TOKEN_HEADER]: 'guess' } });
    t.is(wrong.status, 401);
    t.deepEqual(server.refused().map((r) => r.status), [401, 401]);
    t.deepEqual(server.log(), []);
    await t.throwsAsync(askServer({ url: server.url, token: 'not-the-token' }, '7'), { message: /401/ });
  } finally {
    await server.close();
  }
});

test('with the token, every call gets a new answer, logged with the record it was asked for', async (t) => {
  const server = await WitnessServer.start();
  try {
    t.regex(server.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    const first = await askServer(server, 'r1');
    const again = await askServer(server, 'r1');
    const other = await askServer(server, 'r2');
    t.not(first, again, 'the same question answered twice gets two answers');
    t.deepEqual(
      server.log().map(({ call, id, answer }) => ({ call, id, answer })),
      [
        { call: 1, id: 'r1', answer: first },
        { call: 2, id: 'r1', answer: again },
        { call: 3, id: 'r2', answer: other },
      ],
    );
    const notFound = await fetch(`${server.url}/elsewhere`, { headers: { [TOKEN_HEADER]: server.token } });
    t.is(notFound.status, 404);
  } finally {
    await server.close();
  }
});
