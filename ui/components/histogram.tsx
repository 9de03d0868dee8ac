/**
 * Matching lines over time as uPlot bars. Dragging across the chart selects a time range,
 * which becomes the search's absolute since/until.
 */
import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import type { HistogramBucket } from '../../src/protocol/api.js';
import { formatCount } from '../format.js';
import { denseBars } from '../histogram-data.js';
import { onThemeChange } from '../theme.js';

export interface HistogramProps {
  buckets: HistogramBucket[];
  bucketMs: number;
  /** The span to draw (ms); the data's own when undefined. */
  range: [number, number] | undefined;
  onRange: (fromMs: number, toMs: number) => void;
}

const HEIGHT = 110;

function cssVar(name: string): string {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim() || '#888';
}

function options(width: number, bucketMs: number, range: HistogramProps['range'], onRange: HistogramProps['onRange']): uPlot.Options {
  const axisColor = cssVar('--muted');
  const gridColor = cssVar('--grid');
  const axis: uPlot.Axis = { stroke: axisColor, grid: { stroke: gridColor, width: 1 }, ticks: { stroke: gridColor, width: 1 } };
  return {
    width,
    height: HEIGHT,
    legend: { show: false },
    cursor: { drag: { x: true, y: false, setScale: false }, points: { show: false } },
    select: { show: true, left: 0, top: 0, width: 0, height: 0 },
    scales: { x: range ? { time: true, range: () => [range[0] / 1000, range[1] / 1000] } : { time: true }, y: { range: (_u, _min, max) => [0, Math.max(1, max) * 1.15] } },
    axes: [axis, { ...axis, size: 44, space: 24, values: (_u, ticks) => ticks.map((v) => (Number.isInteger(v) ? formatCount(v) : '')) }],
    series: [
      {},
      {
        label: 'lines',
        fill: cssVar('--accent-soft'),
        stroke: cssVar('--accent'),
        width: 1,
        paths: uPlot.paths.bars?.({ size: [0.9, 60], align: 1 }),
        points: { show: false },
      },
    ],
    hooks: {
      setSelect: [
        (chart: uPlot) => {
          const { left, width: selected } = chart.select;
          if (selected < 2) return;
          const from = chart.posToVal(left, 'x') * 1000;
          const to = chart.posToVal(left + selected, 'x') * 1000;
          chart.setSelect({ left: 0, top: 0, width: 0, height: 0 }, false);
          // Snap outwards to whole buckets: the bars the user swept over are all included.
          onRange(Math.floor(from / bucketMs) * bucketMs, Math.ceil(to / bucketMs) * bucketMs);
        },
      ],
    },
  };
}

export function Histogram({ buckets, bucketMs, range, onRange }: HistogramProps) {
  const container = useRef<HTMLDivElement>(null);
  const rangeHandler = useRef(onRange);
  rangeHandler.current = onRange;

  useEffect(() => {
    const element = container.current;
    if (!element) return undefined;
    // uPlot's x values are seconds; a bar starts at its bucket's start.
    const bars = denseBars(buckets, bucketMs, range);
    const data: uPlot.AlignedData = [bars.starts.map((ms) => ms / 1000), bars.counts];
    let chart: uPlot | undefined;
    const create = (): void => {
      chart?.destroy();
      const width = Math.max(200, element.clientWidth);
      chart = new uPlot(options(width, bucketMs, range, (from, to) => rangeHandler.current(from, to)), data, element);
    };
    create();
    const observer = new ResizeObserver(() => {
      if (chart && Math.abs(chart.width - element.clientWidth) > 1) chart.setSize({ width: Math.max(200, element.clientWidth), height: HEIGHT });
    });
    observer.observe(element);
    // Colours come from CSS variables, so a theme switch needs a new chart.
    const stopTheme = onThemeChange(create);
    return () => {
      stopTheme();
      observer.disconnect();
      chart?.destroy();
    };
  }, [buckets, bucketMs, range]);

  const total = buckets.reduce((sum, b) => sum + b.count, 0);
  return (
    <div class="histogram" aria-label={`Matching lines over time: ${total} in ${buckets.length} buckets; drag to select a time range`}>
      <div ref={container} class="histogram-chart" data-testid="histogram" />
    </div>
  );
}
