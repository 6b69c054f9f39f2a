export { Clock } from 'src/common/clock';
export { ClockSync } from 'src/common/clock-sync';
export { ClockSyncModule } from 'src/common/clock-sync.module';
export { everyWithoutOverlap, loggedReports } from 'src/common/every-without-overlap';
export { gitdirPointer, pointerFileValue } from 'src/common/git-pointer-files';
export {
  isPythonBytecode,
  PYTHON_BYTECODE_FILE,
  PYTHON_CACHE_DIR,
} from 'src/common/python-bytecode';
export { jsonText, jsonTextOrNull, NOT_WRITABLE } from 'src/common/json-text';
export { ExactSecrets } from 'src/common/exact-secrets';
export { TurnTakingQueue } from 'src/common/turn-taking-queue';
export { KeyedSerializer } from 'src/common/keyed-serializer';
export { serverInstallDir } from 'src/common/server-install-dir';
export { smallDirectoryEntries } from 'src/common/small-directory';
export { CommonModule } from 'src/common/common.module';
export { Draining } from 'src/common/draining';
export { ApiAccessRefusals, ApiErrorResponses } from 'src/common/dto/api-error-responses.decorator';
export { ErrorResponseDto } from 'src/common/dto/error-response.dto';
export { dateTimeRule, IsDateTime, isDateTime } from 'src/common/dto/date-time.decorator';
export { NoNulCharacter } from 'src/common/dto/no-nul-character.decorator';
export { IsOptionalNotNull } from 'src/common/dto/optional-not-null.decorator';
export { QueryInteger } from 'src/common/dto/query-integer.decorator';
export { PaginationQueryDto } from 'src/common/dto/pagination.dto';
export type { Page } from 'src/common/dto/pagination.dto';
export {
  DomainError,
  ErrorCode,
  HiddenObjectError,
  invalidRequest,
} from 'src/common/errors/domain-error';
export { API_PREFIX } from 'src/common/http/api-paths';
export {
  buildOpenApiDocument,
  configureApp,
  NEST_APP_OPTIONS,
} from 'src/common/http/configure-app';
export { weakEtag } from 'src/common/http/etag';
export { isAllowedHost, lacksRequiredHost } from 'src/common/http/host-check';
export { REQUEST_ID_HEADER } from 'src/common/http/request-id';
export { apiSecurityHeaders, headersSetBy } from 'src/common/http/security-headers';
export { UuidParamPipe } from 'src/common/http/uuid-param.pipe';
export { DocsGate } from 'src/common/http/docs-gate';
export { sendError } from 'src/common/http/error-response';
export { RequestDenials } from 'src/common/http/request-denials';
export type { RequestDenial } from 'src/common/http/request-denials';
export { requestIdOf } from 'src/common/http/request-id';
export { pathWithoutQuery } from 'src/common/http/request-path';
