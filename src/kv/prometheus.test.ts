import { expect, it } from 'vitest';
import { PrometheusText } from './prometheus.js';

it('writes gauges and counters with help, type, labels and escaping', () => {
  const text = new PrometheusText()
    .gauge('raft_term', 'Current term.', 3)
    .counter('http_requests_total', 'Requests, by "route".', [
      [{ route: 'kv', status: '200' }, 7],
      [{ route: 'a"b\\c\nd', status: '404' }, 1],
    ])
    .toString();
  expect(text).toBe(
    [
      '# HELP raft_term Current term.',
      '# TYPE raft_term gauge',
      'raft_term 3',
      '# HELP http_requests_total Requests, by "route".',
      '# TYPE http_requests_total counter',
      'http_requests_total{route="kv",status="200"} 7',
      'http_requests_total{route="a\\"b\\\\c\\nd",status="404"} 1',
      '',
    ].join('\n'),
  );
});
