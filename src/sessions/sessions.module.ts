import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { IdempotencyModule } from 'src/idempotency';
import { ProcessModule } from 'src/process';
import { WorkspacesModule } from 'src/workspaces';
import { ProjectPathService } from 'src/sessions/project-path.service';
import { Session } from 'src/sessions/session.entity';
import { SessionsController } from 'src/sessions/sessions.controller';
import { SessionsService } from 'src/sessions/sessions.service';

@Module({
  imports: [
    TypeOrmModule.forFeature([Session]),
    IdempotencyModule,
    ProcessModule,
    WorkspacesModule,
  ],
  controllers: [SessionsController],
  providers: [SessionsService, ProjectPathService],
  exports: [SessionsService, ProjectPathService],
})
export class SessionsModule {}
