export { HealthModule } from 'src/health/health.module';
