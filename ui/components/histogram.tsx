/**
 * Matching lines over time as uPlot bars, stacked by level once the `by=level` counts
 * arrive, with the total above and a tooltip per bar. Dragging across the chart selects a
 * time range, which becomes the search's absolute since/until.
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import uPlot from 'uplot';
import type { HistogramBucket } from '../../src/protocol/api.js';
import { formatCount, formatTime, getZone, onZoneChange } from '../format.js';
import { denseBars, levelSeries } from '../histogram-data.js';
import { onThemeChange } from '../theme.js';

export interface HistogramProps {
  buckets: HistogramBucket[];
  bucketMs: number;
  /** The same bars split by level (`by=level` buckets), once known. */
  levels: HistogramBucket[] | undefined;
  /** The span to draw (ms); the data's own when undefined. */
  range: [number, number] | undefined;
  /** The counts are a lower bound (the server's time budget ran out). */
  partial: boolean;
  onRange: (fromMs: number, toMs: number) => void;
}

const HEIGHT = 110;

function cssVar(name: string): string {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim() || '#888';
}

interface Bars {
  starts: number[];
  counts: number[];
  /** Bottom to top; empty until the level counts arrive. */
  levels: Array<{ level: string; counts: number[] }>;
}

/** Tick labels in the page's one format: the date where it changes, then the time alone. */
function tickLabels(ticks: number[], stepSeconds: number): string[] {
  let lastDay = '';
  return ticks.map((seconds) => {
    const text = formatTime(seconds * 1000, stepSeconds < 60 ? 's' : 'min');
    const day = text.slice(0, 10);
    if (stepSeconds >= 86_400) return day;
    const time = stepSeconds < 60 ? text.slice(11, 19) : text.slice(11, 16);
    if (day === lastDay) return time;
    lastDay = day;
    return `${day} ${time}`;
  });
}

function options(width: number, bars: Bars, bucketMs: number, range: HistogramProps['range'], onRange: HistogramProps['onRange'], onHover: (index: number | undefined, left: number) => void): uPlot.Options {
  const axisColor = cssVar('--muted');
  const gridColor = cssVar('--grid');
  const axis: uPlot.Axis = { stroke: axisColor, grid: { stroke: gridColor, width: 1 }, ticks: { stroke: gridColor, width: 1 } };
  const barPaths = uPlot.paths.bars?.({ size: [0.9, 60], align: 1 });
  // Stacked by drawing each level's running total, the tallest first, so each shorter one covers the foot of the last.
  const stacked: uPlot.Series[] = [];
  if (bars.levels.length === 0) {
    stacked.push({ label: 'lines', fill: cssVar('--accent-soft'), stroke: cssVar('--accent'), width: 1, paths: barPaths, points: { show: false } });
  } else {
    for (const { level } of bars.levels.slice().reverse()) {
      const colour = cssVar(`--level-${level}`);
      stacked.push({ label: level, fill: colour, stroke: colour, width: 0, paths: barPaths, points: { show: false } });
    }
  }
  return {
    width,
    height: HEIGHT,
    legend: { show: false },
    ...(getZone() === 'utc' ? { tzDate: (seconds: number) => uPlot.tzDate(new Date(seconds * 1000), 'Etc/UTC') } : {}),
    cursor: { drag: { x: true, y: false, setScale: false }, points: { show: false }, y: false },
    select: { show: true, left: 0, top: 0, width: 0, height: 0 },
    scales: { x: range ? { time: true, range: () => [range[0] / 1000, range[1] / 1000] } : { time: true }, y: { range: (_u, _min, max) => [0, Math.max(1, max) * 1.15] } },
    axes: [
      { ...axis, space: 90, values: (_u, ticks, _axis, _space, step) => tickLabels(ticks, step) },
      { ...axis, size: 44, space: 24, values: (_u, ticks) => ticks.map((v) => (Number.isInteger(v) ? formatCount(v) : '')) },
    ],
    series: [{}, ...stacked],
    hooks: {
      setCursor: [
        (chart: uPlot) => {
          const index = chart.cursor.idx;
          const left = chart.cursor.left ?? -1;
          onHover(index === null || index === undefined || left < 0 ? undefined : index, left + chart.over.offsetLeft);
        },
      ],
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

function chartData(bars: Bars): uPlot.AlignedData {
  const xs = bars.starts.map((ms) => ms / 1000);
  if (bars.levels.length === 0) return [xs, bars.counts];
  // Running totals from the bottom of the stack; drawn top first.
  const running: number[][] = [];
  let sum = bars.starts.map(() => 0);
  for (const { counts } of bars.levels) {
    sum = sum.map((value, i) => value + (counts[i] ?? 0));
    running.push(sum);
  }
  return [xs, ...running.reverse()];
}

export function Histogram({ buckets, bucketMs, levels, range, partial, onRange }: HistogramProps) {
  const container = useRef<HTMLDivElement>(null);
  const rangeHandler = useRef(onRange);
  rangeHandler.current = onRange;
  const [hover, setHover] = useState<{ index: number; left: number } | undefined>(undefined);
  const [bars, setBars] = useState<Bars>({ starts: [], counts: [], levels: [] });

  useEffect(() => {
    const element = container.current;
    if (!element) return undefined;
    // uPlot's x values are seconds; a bar starts at its bucket's start.
    const dense = denseBars(buckets, bucketMs, range);
    const shaped: Bars = { ...dense, levels: levels ? levelSeries(levels, dense.starts) : [] };
    setBars(shaped);
    setHover(undefined);
    const data = chartData(shaped);
    let chart: uPlot | undefined;
    const create = (): void => {
      chart?.destroy();
      const width = Math.max(200, element.clientWidth);
      chart = new uPlot(
        options(width, shaped, bucketMs, range, (from, to) => rangeHandler.current(from, to), (index, left) => setHover(index === undefined ? undefined : { index, left })),
        data,
        element,
      );
    };
    create();
    const observer = new ResizeObserver(() => {
      if (chart && Math.abs(chart.width - element.clientWidth) > 1) chart.setSize({ width: Math.max(200, element.clientWidth), height: HEIGHT });
    });
    observer.observe(element);
    // Colours come from CSS variables and tick labels from the zone: a switch needs a new chart.
    const stopTheme = onThemeChange(create);
    const stopZone = onZoneChange(create);
    return () => {
      stopTheme();
      stopZone();
      observer.disconnect();
      chart?.destroy();
    };
  }, [buckets, bucketMs, range, levels]);

  const total = buckets.reduce((sum, b) => sum + b.count, 0);
  const start = hover ? bars.starts[hover.index] : undefined;
  const count = hover ? bars.counts[hover.index] : undefined;
  return (
    <div class="histogram" aria-label={`Matching lines over time: ${total} in ${buckets.length} buckets; drag to select a time range`}>
      <div class="histogram-head">
        <span class="histogram-total" data-testid="histogram-total">
          {partial ? 'at least ' : ''}
          {total.toLocaleString('en-US')} {total === 1 ? 'line' : 'lines'}
        </span>
        {bars.levels.length > 0 ? (
          <span class="histogram-legend" aria-label="Levels">
            {bars.levels.map(({ level }) => (
              <span key={level} class="legend-item">
                <span class={`swatch level-${level}`} aria-hidden="true" />
                {level}
              </span>
            ))}
          </span>
        ) : null}
      </div>
      <div class="histogram-plot">
        <div ref={container} class="histogram-chart" data-testid="histogram" />
        {hover && start !== undefined ? (
          <div class="histogram-tip" role="tooltip" data-testid="histogram-tip" style={{ left: `${hover.left}px` }}>
            <div class="tip-time">
              {formatTime(start, 's')} – {formatTime(start + bucketMs, 's').slice(11)}
            </div>
            <div class="tip-total">{(count ?? 0).toLocaleString('en-US')} lines</div>
            {bars.levels
              .slice()
              .reverse()
              .filter(({ counts }) => (counts[hover.index] ?? 0) > 0)
              .map(({ level, counts }) => (
                <div key={level} class="tip-level">
                  <span class={`swatch level-${level}`} aria-hidden="true" />
                  {level}: {(counts[hover.index] ?? 0).toLocaleString('en-US')}
                </div>
              ))}
          </div>
        ) : null}
      </div>
    </div>
  );
}
