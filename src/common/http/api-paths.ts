/**
 * Versioned API routes live under this prefix; `/health` and `/docs` stay outside it. Controllers
 * put it in their own path (`@Controller(\`${API_PREFIX}/tasks\`)`) instead of relying on
 * `setGlobalPrefix`, so any app compiled from AppModule (tests included) serves the same routes.
 */
export const API_PREFIX = 'api/v1';
