import { Controller, Get, Query } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { RequireScope } from 'src/access';
import { API_PREFIX, ApiErrorResponses, ErrorCode } from 'src/common';
import { AuditService } from 'src/audit/audit.service';
import { toAuditEventResponse } from 'src/audit/audit.mapper';
import { AuditEventPageDto } from 'src/audit/dto/audit-event-response.dto';
import { AuditQueryDto } from 'src/audit/dto/audit-query.dto';

@ApiTags('audit')
@Controller(`${API_PREFIX}/audit`)
@RequireScope('admin')
export class AuditController {
  constructor(private readonly audit: AuditService) {}

  @Get()
  @ApiOperation({
    operationId: 'audit_list',
    summary: 'Read the audit trail, newest first (admin keys only)',
    description:
      'Key creation and revocation, session and task creation, cancels, deletions, messages, merges, and every request refused with 401 or 403: who, what, when and from where.',
  })
  @ApiOkResponse({ type: AuditEventPageDto })
  @ApiErrorResponses('read', ErrorCode.Forbidden)
  async list(@Query() query: AuditQueryDto): Promise<AuditEventPageDto> {
    const [items, total] = await this.audit.list(query);
    return {
      items: items.map(toAuditEventResponse),
      total,
      limit: query.limit,
      offset: query.offset,
    };
  }
}
