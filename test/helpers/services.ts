import net from 'node:net';

/**
 * Whether a TCP service answers on 127.0.0.1:`port`. Suites that need a server use `serviceGate`:
 * without CI they skip when it is down; with `CI` set a missing service fails the run instead.
 */
export async function isListening(port: number, host = '127.0.0.1', timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host });
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => {
      done(false);
    });
    socket.once('connect', () => {
      done(true);
    });
    socket.once('error', () => {
      done(false);
    });
  });
}

/**
 * Returns true when the suite should run. Throws when `CI` is set and the service is down, so a CI run
 * can never pass by skipping a server-backed suite.
 */
export async function serviceGate(name: string, port: number): Promise<boolean> {
  if (await isListening(port)) return true;
  if (process.env['CI'] !== undefined && process.env['CI'] !== '') {
    throw new Error(`${name} is not listening on 127.0.0.1:${port}; CI requires it (see .ci/run)`);
  }
  console.warn(`skipping ${name} suites: nothing listens on 127.0.0.1:${port}`);
  return false;
}

/** A free loopback TCP port (for test-owned servers). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => {
        if (address === null || typeof address === 'string') reject(new Error('no port'));
        else resolve(address.port);
      });
    });
  });
}
