export { MetricsModule } from 'src/metrics/metrics.module';
export { MetricsService } from 'src/metrics/metrics.service';
