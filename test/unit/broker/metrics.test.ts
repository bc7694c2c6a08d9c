import { describe, expect, it } from 'vitest';
import { BrokerMetrics, type MetricsSources } from '../../../broker/metrics.js';

const sources: MetricsSources = {
  ioEngine: () => ({ name: 'sync', reason: null, inFlight: 0, submitted: 0, completed: 0 }),
  fetchPath: () => ({ name: 'copy', reason: null }),
  connections: () => 0,
  sendCounters: () => ({ zeroCopyBytes: 0, copiedBytes: 0 }),
  removals: () => ({ pending: 0, bytesRemoved: 0 }),
  partitions: () => [],
};

/** Every sample of the scrape text, by its name and labels as printed. */
async function scrape(m: BrokerMetrics): Promise<Map<string, number>> {
  const text = await m.registry.metrics();
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line.startsWith('berth_') || line.startsWith('berth_process_')) continue;
    const at = line.lastIndexOf(' ');
    out.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return out;
}

describe('BrokerMetrics per-request counters', () => {
  it('scrapes the sums of countRequest, countBytesIn/Out and countRecordsIn, and keeps counting after a scrape', async () => {
    const m = new BrokerMetrics(sources);
    for (let i = 0; i < 3; i++) m.countRequest('Produce', 9);
    m.countRequest('Produce', 'unsupported');
    m.countRequest('Fetch', 12);
    m.countBytesIn(100);
    m.countBytesIn(23);
    m.countBytesOut(7);
    m.countRecordsIn('a', 5);
    m.countRecordsIn('a', 6);
    m.countRecordsIn('b', 1);
    let s = await scrape(m);
    expect(s.get('berth_requests_total{api="Produce",version="9"}')).toBe(3);
    expect(s.get('berth_requests_total{api="Produce",version="unsupported"}')).toBe(1);
    expect(s.get('berth_requests_total{api="Fetch",version="12"}')).toBe(1);
    expect(s.get('berth_bytes_in_total')).toBe(123);
    expect(s.get('berth_bytes_out_total')).toBe(7);
    expect(s.get('berth_records_in_total{topic="a"}')).toBe(11);
    expect(s.get('berth_records_in_total{topic="b"}')).toBe(1);
    // A second scrape adds only what came since: nothing counted twice.
    m.countRequest('Produce', 9);
    m.countRecordsIn('a', 4);
    m.countBytesIn(1);
    s = await scrape(m);
    expect(s.get('berth_requests_total{api="Produce",version="9"}')).toBe(4);
    expect(s.get('berth_records_in_total{topic="a"}')).toBe(15);
    expect(s.get('berth_bytes_in_total')).toBe(124);
    expect(s.get('berth_bytes_out_total')).toBe(7);
  });

  it('reads the same sums through getSingleMetric().get()', async () => {
    const m = new BrokerMetrics(sources);
    m.countRequest('Metadata', 12);
    m.countRequest('Metadata', 12);
    const values = (await m.registry.getSingleMetric('berth_requests_total')?.get())?.values ?? [];
    expect(values).toEqual([{ labels: { api: 'Metadata', version: 12 }, value: 2 }]);
  });

  it('forgets a deleted topic, counted or still pending', async () => {
    const m = new BrokerMetrics(sources);
    m.countRecordsIn('gone', 2);
    await scrape(m);
    m.countRecordsIn('gone', 3);
    m.forgetTopic('gone');
    const s = await scrape(m);
    expect([...s.keys()].some((k) => k.includes('topic="gone"'))).toBe(false);
  });
});
