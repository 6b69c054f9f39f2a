import type { INestApplication, NestApplicationOptions } from '@nestjs/common';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { DocumentBuilder, OpenAPIObject, SwaggerModule } from '@nestjs/swagger';
import { answerClientErrorsWithJson } from 'src/common/http/client-error';

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
        'Every error response has the body `{ code, message, details?, request_id }`.',
    )
    .setVersion('1.0.0')
    .build();
  return SwaggerModule.createDocument(app, config);
}

/**
 * What `main.ts` and the e2e tests both do to an app before `init()`/`listen()`: JSON bodies for
 * requests Node's parser refuses, and the OpenAPI explorer at `/docs` (JSON at `/docs-json`).
 * Everything else of the request pipeline lives in modules (CommonModule), so it cannot be
 * forgotten. (Signals are handled in `main.ts`: a test app is closed by the test.)
 */
export function configureApp(app: NestExpressApplication): NestExpressApplication {
  app.disable('x-powered-by');
  answerClientErrorsWithJson(app.getHttpServer());
  SwaggerModule.setup('docs', app, () => buildOpenApiDocument(app), {
    jsonDocumentUrl: 'docs-json',
    yamlDocumentUrl: 'docs-yaml',
  });
  return app;
}
