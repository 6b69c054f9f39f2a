export { MetricsModule } from 'src/metrics/metrics.module';
