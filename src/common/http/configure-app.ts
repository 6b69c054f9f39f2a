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

/**
 * Options for `NestFactory.create` / `createNestApplication`: Nest's own body parser is off
 * because CommonModule's JsonBodyMiddleware parses JSON (with the configured limit and coded
 * errors).
 */
export const NEST_APP_OPTIONS: NestApplicationOptions = { bodyParser: false };

export function buildOpenApiDocument(app: INestApplication): OpenAPIObject {
  const config = new DocumentBuilder()
    .setTitle('Claude Task Automation Server')
    .setDescription(
      'Hands a project directory and a plain-language task to the Claude Code CLI, drives it until the work is done and tested. ' +
        'Every error response has the body `{ code, message, details?, request_id }`. ' +
        'Requests carry `Authorization: Bearer <API key>` once keys are enabled.',
    )
    .setVersion('1.0.0')
    .addBearerAuth({
      type: 'http',
      scheme: 'bearer',
      bearerFormat: 'cta_ API key',
      description: 'An API key (cta_...)',
    })
    .addSecurityRequirements('bearer')
    .build();
  return SwaggerModule.createDocument(app, config);
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
