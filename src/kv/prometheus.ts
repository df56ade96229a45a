/** Writes metrics in the Prometheus text exposition format (version 0.0.4). */

export type Labels = Readonly<Record<string, string>>;
export type Samples = number | readonly (readonly [Labels, number])[];

export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

export class PrometheusText {
  readonly #lines: string[] = [];

  gauge(name: string, help: string, samples: Samples): this {
    return this.#metric(name, 'gauge', help, samples);
  }

  /** A counter's name ends in `_total`, by convention. */
  counter(name: string, help: string, samples: Samples): this {
    return this.#metric(name, 'counter', help, samples);
  }

  toString(): string {
    return `${this.#lines.join('\n')}\n`;
  }

  #metric(name: string, type: 'gauge' | 'counter', help: string, samples: Samples): this {
    this.#lines.push(
      `# HELP ${name} ${help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')}`,
      `# TYPE ${name} ${type}`,
    );
    if (typeof samples === 'number') this.#lines.push(`${name} ${formatValue(samples)}`);
    else
      for (const [labels, value] of samples)
        this.#lines.push(`${name}${formatLabels(labels)} ${formatValue(value)}`);
    return this;
  }
}

function formatLabels(labels: Labels): string {
  const pairs = Object.entries(labels).map(([label, value]) => `${label}="${escapeLabelValue(value)}"`);
  return pairs.length === 0 ? '' : `{${pairs.join(',')}}`;
}

function escapeLabelValue(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

function formatValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Number.POSITIVE_INFINITY) return '+Inf';
  if (value === Number.NEGATIVE_INFINITY) return '-Inf';
  return String(value);
}
