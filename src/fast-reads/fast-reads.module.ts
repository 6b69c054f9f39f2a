import type { Server } from 'node:http';
import { Logger, Module, OnApplicationBootstrap } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { AuthModule } from 'src/auth';
import { AppConfig } from 'src/config';
import { MetricsModule } from 'src/metrics';
import { TasksModule } from 'src/tasks';
import { putInFrontOfExpress } from 'src/fast-reads/in-front-of-express';
import { StatusFastPath } from 'src/fast-reads/status-fast-path';

/**
 * Reads answered in front of Express (`StatusFastPath`), put there when the app starts, in
 * `main.ts` and in tests alike. Not with CORS_ORIGINS set: CORS headers are Express's.
 */
@Module({
  imports: [AuthModule, MetricsModule, TasksModule],
  providers: [StatusFastPath],
})
export class FastReadsModule implements OnApplicationBootstrap {
  constructor(
    private readonly config: AppConfig,
    private readonly adapterHost: HttpAdapterHost,
    private readonly statusFastPath: StatusFastPath,
  ) {}

  onApplicationBootstrap(): void {
    if (this.config.CORS_ORIGINS.length > 0) {
      new Logger('FastReads').log('CORS_ORIGINS is set: status reads go through Express');
      return;
    }
    const server = this.adapterHost.httpAdapter.getHttpServer() as Server;
    putInFrontOfExpress(server, this.statusFastPath.handle);
  }
}
