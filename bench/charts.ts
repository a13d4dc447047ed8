/**
 * Benchmark charts as SVG: Vega-Lite specifications compiled to Vega and rendered headless (no canvas,
 * no browser). Each function takes figures from a benchmark result and returns the SVG text.
 */
import { compile, type TopLevelSpec } from 'vega-lite';
import { View, parse } from 'vega';
import type { RecoveryBenchResult } from './recovery.js';

/** Renders a Vega-Lite specification to SVG. */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const view = new View(parse(compile(spec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

const MODE_COLORS = {
  domain: ['global-rollback', 'at-least-once', 'exactly-once', 'exactly-once-full', 'none'],
  range: ['#d62728', '#ff7f0e', '#1f77b4', '#17becf', '#7f7f7f'],
};

/**
 * Throughput and latency over time around the failure, one line per mode, kills marked: the figure the
 * Clonos paper draws for each experiment.
 */
export function timelineSpec(result: RecoveryBenchResult, title: string): TopLevelSpec {
  const rows: { mode: string; t: number; outRate: number; p99: number | null }[] = [];
  for (const [mode, figures] of Object.entries(result.modes)) {
    for (const point of figures!.timeline) rows.push({ mode, t: point.t / 1000, outRate: point.outRate, p99: point.p99 });
  }
  const kills = result.killAtMs.map((t) => ({ t: t / 1000 }));
  const x = { field: 't', type: 'quantitative' as const, title: 'time (s)' };
  const color = { field: 'mode', type: 'nominal' as const, scale: MODE_COLORS, title: 'mode' };
  const killRule = { data: { values: kills }, mark: { type: 'rule' as const, strokeDash: [4, 3], color: '#555' }, encoding: { x: { field: 't', type: 'quantitative' as const } } };
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title,
    vconcat: [
      {
        width: 640,
        height: 180,
        layer: [
          {
            data: { values: rows },
            mark: { type: 'line', strokeWidth: 1.5, interpolate: 'step-after' },
            encoding: { x, y: { field: 'outRate', type: 'quantitative', title: 'sink output (records/s)' }, color },
          },
          killRule,
        ],
      },
      {
        width: 640,
        height: 180,
        layer: [
          {
            data: { values: rows.filter((r) => r.p99 !== null) },
            mark: { type: 'line', strokeWidth: 1.5 },
            encoding: { x, y: { field: 'p99', type: 'quantitative', title: 'p99 latency (ms, log)', scale: { type: 'log' } }, color },
          },
          killRule,
        ],
      },
    ],
  };
}

/** Failure-free throughput of each mode relative to `none`, grouped by query. */
export function overheadSpec(rows: readonly { query: string; mode: string; ratio: number }[]): TopLevelSpec {
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: 'Failure-free throughput relative to no fault tolerance',
    data: { values: [...rows] },
    width: { step: 14 },
    height: 200,
    mark: 'bar',
    encoding: {
      x: { field: 'query', type: 'nominal', title: null },
      xOffset: { field: 'mode', type: 'nominal', sort: MODE_COLORS.domain },
      y: { field: 'ratio', type: 'quantitative', title: 'throughput / none' },
      color: { field: 'mode', type: 'nominal', scale: MODE_COLORS, sort: MODE_COLORS.domain },
    },
  };
}

/** A sweep: one line per series over a numeric parameter. */
export function sweepSpec(options: {
  title: string;
  rows: readonly { x: number; y: number | null; series: string }[];
  xTitle: string;
  yTitle: string;
  logX?: boolean;
  logY?: boolean;
}): TopLevelSpec {
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: options.title,
    data: { values: options.rows.filter((r) => r.y !== null) },
    width: 360,
    height: 200,
    mark: { type: 'line', point: true },
    encoding: {
      x: { field: 'x', type: 'quantitative', title: options.xTitle, ...(options.logX ? { scale: { type: 'log' } } : {}) },
      y: { field: 'y', type: 'quantitative', title: options.yTitle, ...(options.logY ? { scale: { type: 'log' } } : {}) },
      color: { field: 'series', type: 'nominal', title: null, scale: MODE_COLORS },
    },
  };
}
