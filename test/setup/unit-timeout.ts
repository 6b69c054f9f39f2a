/**
 * Unit specs are milliseconds each, but some start real processes (the process host, git, node):
 * on a machine loaded by other work those take seconds, so the limit is generous. It only stops a
 * spec that hangs; no spec relies on it for timing.
 */
jest.setTimeout(60_000);
