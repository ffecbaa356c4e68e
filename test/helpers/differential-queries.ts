/**
 * The differential suite of the global view (issue 5): queries whose answers through kvass's front door must equal
 * a reference Prometheus scraping the same targets (test/query/global-view.real.test.ts), each with the relative
 * tolerance it is compared with. Also read by the query bench (the share of them that push down).
 */
// Exact where values do not depend on when a scrape happened; a tolerance where rates are extrapolated.
export const DIFFERENTIAL_INSTANT: Array<[string, number]> = [
  ['count(demo_metric)', 0],
  ['sum by (instance) (demo_metric)', 0],
  ['count by (job) (up)', 0],
  ['sum(rate(demo_requests_total[30s]))', 0.02],
  ['sum by (code, job) (rate(demo_requests_total[30s]))', 0.02],
  ['histogram_quantile(0.9, sum by (le) (rate(demo_latency_seconds_bucket[30s])))', 0.02],
  ['histogram_quantile(0.5, sum by (le, instance) (rate(demo_latency_seconds_bucket[30s])))', 0.02],
  ['topk(3, sum by (instance) (demo_metric))', 0],
  ['bottomk(2, count by (instance) (demo_metric))', 0],
  ['absent(no_such_metric)', 0],
  ['absent(demo_metric)', 0],
  ['label_replace(sum by (instance) (demo_metric), "port", "$1", "instance", ".*:(.*)")', 0],
  ['max_over_time(count(demo_metric)[20s:5s])', 0],
  ['sum(demo_metric offset 10s)', 0],
  ['count(demo_metric > 50)', 0],
  ['avg by (job) (demo_metric)', 1e-9],
  ['count(count by (series_id) (demo_metric))', 0],
  ['sum(increase(demo_requests_total[30s]))', 0.02],
  ['quantile(0.5, demo_metric)', 0],
  ['stddev(demo_metric)', 1e-9],
  ['count_values("value", demo_metric{series_id="5"})', 0],
  ['sort_desc(sum by (instance) (demo_metric))', 0],
  ['group by (job, team) (up)', 0],
  ['sum(irate(demo_requests_total[10s]))', 0.05],
  ['job:demo_metric:count', 0],
  ['count(up == 1) + on() group_left vector(0)', 0],
];

export const DIFFERENTIAL_RANGE: Array<[string, number]> = [
  ['count(demo_metric)', 0],
  ['sum by (instance) (demo_metric)', 0],
  ['sum(rate(demo_requests_total[30s]))', 0.02],
  ['histogram_quantile(0.99, sum by (le) (rate(demo_latency_seconds_bucket[30s])))', 0.02],
  ['count by (job) (up)', 0],
];
