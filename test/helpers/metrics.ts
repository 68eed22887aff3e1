/** GET /metrics over real HTTP, and the Prometheus text format read back into samples. */

export interface Scrape {
  /** The response body as sent. */
  readonly text: string;
  /** `# TYPE` of each metric family. */
  readonly types: ReadonlyMap<string, string>;
  /** The sample `name` with exactly these labels; 0 when the series is absent (a counter not yet moved). */
  value(name: string, labels?: Record<string, string>): number;
  /** The sum over every series of `name` whose labels include `labels`. */
  sum(name: string, labels?: Record<string, string>): number;
}

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

/** Parses the text format; throws on a line that is neither a comment nor a sample. */
export function parseMetrics(text: string): Scrape {
  const samples: Sample[] = [];
  const types = new Map<string, string>();
  for (const line of text.split('\n')) {
    if (line === '') continue;
    if (line.startsWith('# TYPE ')) {
      const [name, type] = line.slice('# TYPE '.length).split(' ');
      types.set(name!, type!);
      continue;
    }
    if (line.startsWith('#')) continue;
    const match = SAMPLE.exec(line);
    if (match === null) throw new Error(`not a sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const [, key, value] of (match[2] ?? '').matchAll(LABEL)) labels[key!] = JSON.parse(`"${value!}"`) as string;
    samples.push({ name: match[1]!, labels, value: Number(match[3]) });
  }
  const includes = (have: Record<string, string>, want: Record<string, string>): boolean =>
    Object.entries(want).every(([key, value]) => have[key] === value);
  const exactly = (have: Record<string, string>, want: Record<string, string>): boolean =>
    Object.keys(have).length === Object.keys(want).length && includes(have, want);
  return {
    text,
    types,
    value: (name, labels = {}) => {
      const found = samples.filter((sample) => sample.name === name && exactly(sample.labels, labels));
      if (found.length > 1) throw new Error(`${name} ${JSON.stringify(labels)}: ${found.length} series`);
      return found[0]?.value ?? 0;
    },
    sum: (name, labels = {}) =>
      samples
        .filter((sample) => sample.name === name && includes(sample.labels, labels))
        .reduce((total, sample) => total + sample.value, 0),
  };
}

/** GET http://127.0.0.1:<port>/metrics, checked for status and content type. */
export async function scrape(port: number): Promise<Scrape> {
  const response = await fetch(`http://127.0.0.1:${port}/metrics`);
  if (response.status !== 200) throw new Error(`GET /metrics: ${response.status} ${await response.text()}`);
  const type = response.headers.get('content-type') ?? '';
  if (!type.startsWith('text/plain; version=0.0.4')) throw new Error(`GET /metrics: content type ${type}`);
  return parseMetrics(await response.text());
}
