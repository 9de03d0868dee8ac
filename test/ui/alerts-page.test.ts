/** The alerts page takes the search it was opened with from `#alerts?…` (the explorer's link). */
import { expect, test } from 'vitest';
import { searchOfHash } from '../../ui/components/alerts-page.js';

test('#alerts?q=…&host=… gives the query and hosts; a bare #alerts gives none', () => {
  expect(searchOfHash('#alerts?q=level%3Aerror+oom&host=web-1&host=web-2&since=1h')).toEqual({ q: 'level:error oom', hosts: ['web-1', 'web-2'] });
  expect(searchOfHash('#alerts?filter=timeout')).toEqual({ q: 'timeout', hosts: [] });
  expect(searchOfHash('#alerts')).toEqual({ q: '', hosts: [] });
});
