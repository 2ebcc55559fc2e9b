/** A small parser of the Prometheus text exposition format, strict enough to catch a bad line. */

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface ParsedMetrics {
  types: Map<string, string>;
  samples: Sample[];
  /** The value of one series, or undefined when it is absent. */
  value(name: string, labels?: Record<string, string>): number | undefined;
}

const sampleLine = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)(\s+\d+)?$/;
const labelPair = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*,?\s*/gy;

export function parsePrometheus(text: string): ParsedMetrics {
  const types = new Map<string, string>();
  const samples: Sample[] = [];
  text.split('\n').forEach((line, i) => {
    if (line.trim() === '') return;
    if (line.startsWith('# TYPE ')) {
      const [name, type] = line.slice(7).split(' ');
      types.set(name!, type!);
      return;
    }
    if (line.startsWith('#')) return;
    const match = sampleLine.exec(line);
    if (!match) throw new Error(`line ${i + 1} is not Prometheus text: ${line}`);
    const labels: Record<string, string> = {};
    const body = match[3] ?? '';
    labelPair.lastIndex = 0;
    let consumed = 0;
    for (let m = labelPair.exec(body); m; m = labelPair.exec(body)) {
      labels[m[1]!] = m[2]!.replace(/\\n/g, '\n').replace(/\\"/g, '"').replace(/\\\\/g, '\\');
      consumed = labelPair.lastIndex;
    }
    if (consumed !== body.length) throw new Error(`line ${i + 1} has malformed labels: ${line}`);
    const raw = match[4]!;
    // Go's ParseFloat, which Prometheus uses, takes NaN and Inf in any case (prom-client writes `Nan`).
    const value =
      raw === '+Inf' ? Number.POSITIVE_INFINITY : raw === '-Inf' ? Number.NEGATIVE_INFINITY : Number(raw);
    if (Number.isNaN(value) && raw.toLowerCase() !== 'nan')
      throw new Error(`line ${i + 1} has a bad value: ${line}`);
    samples.push({ name: match[1]!, labels, value });
  });
  return {
    types,
    samples,
    value(name, labels = {}) {
      const hit = samples.find(
        (s) =>
          s.name === name &&
          Object.keys(labels).length === Object.keys(s.labels).length &&
          Object.entries(labels).every(([k, v]) => s.labels[k] === v),
      );
      return hit?.value;
    },
  };
}
