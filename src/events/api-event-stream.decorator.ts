import { applyDecorators, type Type } from '@nestjs/common';
import { ApiExtraModels, ApiOkResponse, getSchemaPath } from '@nestjs/swagger';

/**
 * Documents a route's answer as a `text/event-stream` whose events' data are the named schemas of
 * `events` (event name to its data's class): OpenAPI 3.0 has no way to say what an event stream
 * holds, so the stream's media type carries an `x-sse-events` extension mapping each event name to
 * its data schema's `$ref`, from which a generated client types the events it yields
 * (`sdk/generate.ts`). `message` is the SSE default (a frame without `event:`).
 */
export function ApiEventStream(
  description: string,
  events: Record<string, Type>,
): MethodDecorator & ClassDecorator {
  const sseEvents = Object.fromEntries(
    Object.entries(events).map(([name, type]) => [name, { $ref: getSchemaPath(type) }]),
  );
  return applyDecorators(
    ApiExtraModels(...Object.values(events)),
    ApiOkResponse({
      description,
      content: {
        // The extension is no field of Nest's MediaTypeObject type; it is passed on as it is.
        'text/event-stream': { schema: { type: 'string' }, 'x-sse-events': sseEvents } as object,
      },
    }),
  );
}
