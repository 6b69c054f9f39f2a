/** What the start-up check of the bind address and keys decided. */
export interface BindDecision {
  /** Why the server must not start (one line), or null. */
  refusal: string | null;
  warnings: string[];
  /** How requests are authorised, for the start-up log line. */
  access: string;
}

const CREATE_KEY = 'npm run api-key -- create --admin --name <name>';

export function isLoopback(host: string): boolean {
  return (
    host === 'localhost' ||
    host === '::1' ||
    /^127\.\d+\.\d+\.\d+$/.test(host) ||
    /^::ffff:127\.\d+\.\d+\.\d+$/i.test(host)
  );
}

/**
 * THE SAFE DEFAULT. Whoever can reach the port can make the server run programs, so:
 * - on loopback, keys are optional (required once one exists, or with AUTH_REQUIRED=true);
 * - on any other interface the server starts only with AUTH_REQUIRED=true and at least one key,
 *   or with AUTH_REQUIRED=false said explicitly, which is logged as a loud warning.
 */
export function decideBind(
  host: string,
  authRequired: boolean | undefined,
  keyCount: number,
): BindDecision {
  const required = authRequired ?? keyCount > 0;
  const access = required
    ? `API keys required (${keyCount} key(s) exist)`
    : 'no API key required (AUTH_REQUIRED' +
      (authRequired === false
        ? '=false)'
        : ` unset and no key created yet; ${CREATE_KEY} turns keys on)`);
  if (isLoopback(host)) {
    const warnings =
      authRequired === true && keyCount === 0
        ? [
            `AUTH_REQUIRED=true but no API key exists: every request but /health/live is refused until you run ${CREATE_KEY}`,
          ]
        : [];
    return { refusal: null, warnings, access };
  }
  if (authRequired === undefined) {
    return {
      refusal: `HOST=${host} listens beyond this machine, and whoever reaches the port can run programs here: set AUTH_REQUIRED=true and create a key (${CREATE_KEY}), or keep HOST=127.0.0.1`,
      warnings: [],
      access,
    };
  }
  if (authRequired && keyCount === 0) {
    return {
      refusal: `HOST=${host} with AUTH_REQUIRED=true but no API key exists yet: create one first (${CREATE_KEY})`,
      warnings: [],
      access,
    };
  }
  const warnings = authRequired
    ? []
    : [
        `AUTH_REQUIRED=false on HOST=${host}: NO API KEY IS ASKED FOR. ANYONE WHO CAN REACH THIS PORT CAN RUN ANY PROGRAM ON THIS HOST. Only do this behind something that decides who may connect.`,
      ];
  return { refusal: null, warnings, access };
}
