import type { DataSource } from 'typeorm';
import { Clock } from 'src/common';
import { MetricsService } from 'src/metrics/metrics.service';

interface Sample {
  labels: Record<string, unknown>;
  value: number;
  /** A histogram's `_bucket`, `_sum` or `_count`; none for a counter. */
  metricName?: string;
}

/** The samples of metric `name` in the registry. */
async function samples(metrics: MetricsService, name: string): Promise<Sample[]> {
  const metric = metrics.registry.getSingleMetric(name);
  if (metric === undefined) throw new Error(`${name} is not registered`);
  return (await metric.get()).values;
}

/** Each request's series, as the registry holds it: `method status route` → value. */
async function series(metrics: MetricsService, name: string): Promise<Map<string, number>> {
  return new Map(
    (await samples(metrics, name))
      .filter((v) => v.metricName === undefined || v.metricName === `${name}_count`)
      .map((v) => [
        `${String(v.labels.method)} ${String(v.labels.status)} ${String(v.labels.route)}`,
        v.value,
      ]),
  );
}

describe('MetricsService.recordRequest', () => {
  it('counts each method, status and route in its own series, however often it is seen', async () => {
    const metrics = new MetricsService({} as DataSource, new Clock());
    metrics.recordRequest('GET', '/api/v1/tasks/:id/status', 200, 0.002);
    metrics.recordRequest('GET', '/api/v1/tasks/:id/status', 200, 0.004);
    metrics.recordRequest('GET', '/api/v1/tasks/:id/status', 404, 0.001);
    metrics.recordRequest('POST', '/api/v1/tasks', 200, 0.02);
    metrics.recordRequest('GET', '/api/v1/tasks/:id/status', 200, 0.3);

    const expected = new Map([
      ['GET 200 /api/v1/tasks/:id/status', 3],
      ['GET 404 /api/v1/tasks/:id/status', 1],
      ['POST 200 /api/v1/tasks', 1],
    ]);
    expect(await series(metrics, 'cta_http_requests_total')).toEqual(expected);
    expect(await series(metrics, 'cta_http_request_duration_seconds')).toEqual(expected);
    const slowest = (await samples(metrics, 'cta_http_request_duration_seconds')).find(
      (v) =>
        v.metricName === 'cta_http_request_duration_seconds_sum' &&
        v.labels.status === '200' &&
        v.labels.method === 'GET',
    );
    expect(slowest?.value).toBeCloseTo(0.306);
  });
});
