import { MiddlewareConsumer, Module, NestModule } from '@nestjs/common';
import { TasksModule } from 'src/tasks';
import { HttpMetricsMiddleware } from 'src/metrics/http-metrics.middleware';
import { MetricsController } from 'src/metrics/metrics.controller';
import { MetricsService } from 'src/metrics/metrics.service';
import { TaskMetricsService } from 'src/metrics/task-metrics.service';

/** Prometheus metrics at `GET /metrics` (see `MetricsService`). */
@Module({
  imports: [TasksModule],
  controllers: [MetricsController],
  providers: [MetricsService, TaskMetricsService],
  exports: [MetricsService],
})
export class MetricsModule implements NestModule {
  configure(consumer: MiddlewareConsumer): void {
    consumer.apply(HttpMetricsMiddleware).forRoutes('{*path}');
  }
}
