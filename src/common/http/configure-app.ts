import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { INestApplication, NestApplicationOptions } from '@nestjs/common';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { DocumentBuilder, OpenAPIObject, SwaggerModule } from '@nestjs/swagger';
import { AppConfig, trustProxySetting } from 'src/config';
import { answerClientErrorsWithJson } from 'src/common/http/client-error';
import { DocsGate } from 'src/common/http/docs-gate';
import { weakEtag } from 'src/common/http/etag';
import { hostCheck, leaveMissingHostToHostCheck } from 'src/common/http/host-check';
import { RequestDenials } from 'src/common/http/request-denials';
import { OPENAPI_PATHS, securityHeaders } from 'src/common/http/security-headers';
import { serverInstallDir } from 'src/common/server-install-dir';

/**
 * Options for `NestFactory.create` / `createNestApplication`: Nest's own body parser is off
 * because CommonModule's JsonBodyMiddleware parses JSON (with the configured limit and coded
 * errors).
 */
export const NEST_APP_OPTIONS: NestApplicationOptions = { bodyParser: false };

/** The tags the operations are grouped by (the SDK's groups too), each said in a line. */
const API_TAGS: Record<string, string> = {
  sessions:
    'A project directory and how its tasks run (commands, isolation), owned by the key that made it',
  tasks: 'Create, follow, cancel, retry, review (diff, verification) and merge what the agent did',
  messages: "A person's messages to the agent of a task",
  stats: 'Numbers over finished tasks',
  events: 'Live event streams (server-sent events) of a task, or of every task the key may see',
  'api-keys': 'API keys and their scopes (admin keys only)',
  audit: 'Who did what, and which requests were refused (admin keys only)',
  health: 'Liveness, readiness and the health report',
};

/** The server's version: its package.json's, as the document's `info.version`. */
function serverVersion(): string {
  const manifest = readFileSync(join(serverInstallDir(), 'package.json'), 'utf8');
  return (JSON.parse(manifest) as { version: string }).version;
}

export function buildOpenApiDocument(app: INestApplication): OpenAPIObject {
  const builder = new DocumentBuilder()
    .setTitle('Claude Task Automation Server')
    .setDescription(
      'Hands a project directory and a plain-language task to the Claude Code CLI, drives it until the work is done and tested. ' +
        'Every error response has the body `{ code, message, details?, request_id }`; each operation lists, under each error status, the codes it can answer. ' +
        'Requests carry `Authorization: Bearer <API key>` once keys are enabled.',
    )
    .setVersion(serverVersion())
    .addBearerAuth({
      type: 'http',
      scheme: 'bearer',
      bearerFormat: 'cta_ API key',
      description: 'An API key (cta_...)',
    })
    .addSecurityRequirements('bearer');
  for (const [tag, description] of Object.entries(API_TAGS)) builder.addTag(tag, description);
  return SwaggerModule.createDocument(app, builder.build());
}

/**
 * What `main.ts` and the e2e tests both do to an app before `init()`/`listen()`, in this order, so
 * it applies to every route including the OpenAPI explorer (which Express serves directly):
 * which proxies are believed (TRUST_PROXY), the Host check (DNS rebinding; also the answer to an
 * HTTP/1.1 request without Host, which Node's server leaves to it), security headers,
 * CORS (only for CORS_ORIGINS), the key gate in front of `/docs`, JSON bodies for requests Node's
 * parser refuses, and the explorer at `/docs` (JSON at `/docs-json`). Everything else of the
 * request pipeline lives in modules (CommonModule, the auth guard), so it cannot be forgotten.
 * (Signals are handled in `main.ts`: a test app is closed by the test.)
 */
export function configureApp(app: NestExpressApplication): NestExpressApplication {
  const config = app.get(AppConfig);
  const denials = app.get(RequestDenials);
  app.disable('x-powered-by');
  app.set('etag', weakEtag);
  app.set('trust proxy', trustProxySetting(config.TRUST_PROXY));
  leaveMissingHostToHostCheck(app.getHttpServer());
  app.use(hostCheck(config.ALLOWED_HOSTS, denials));
  app.use(securityHeaders());
  if (config.CORS_ORIGINS.length > 0) {
    app.enableCors({
      origin: config.CORS_ORIGINS,
      methods: ['GET', 'POST', 'DELETE'],
      allowedHeaders: ['Authorization', 'Content-Type', 'X-Request-Id'],
      exposedHeaders: ['X-Request-Id', 'Retry-After'],
      maxAge: 600,
    });
  }
  app.use([...OPENAPI_PATHS], app.get(DocsGate).handler());
  answerClientErrorsWithJson(app.getHttpServer());
  SwaggerModule.setup('docs', app, () => buildOpenApiDocument(app), {
    jsonDocumentUrl: 'docs-json',
    yamlDocumentUrl: 'docs-yaml',
  });
  return app;
}
