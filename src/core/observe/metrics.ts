/**
 * A small Prometheus registry: counters, gauges and histograms with labels, and their
 * exposition in the text format 0.0.4. Hand-written, because what `/metrics` needs is a few
 * dozen lines, and a client library would load at every start for a feature that is off by
 * default.
 *
 * A series is looked up once by its label values ({@linkcode Family.with}) and kept by the
 * caller, so that counting on a hot path is one addition.
 * @module
 */

/** The content type of the exposition format. */
export const EXPOSITION_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

const NON_ASCII = /[\u0080-\uffff]/;

/** The length of `text` in UTF-8, in bytes, without encoding it. */
export function utf8Length(text: string): number {
  // Most texts are ASCII, one byte a unit: a native scan tells, faster than the loop below.
  if (!NON_ASCII.test(text)) return text.length;
  let bytes = text.length;
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    if (unit < 0x80) continue;
    if (unit < 0x800) {
      bytes += 1;
      continue;
    }
    // A surrogate pair is four bytes; anything else here three (a lone surrogate is U+FFFD).
    if (unit >= 0xd800 && unit <= 0xdbff) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) i++;
    }
    bytes += 2;
  }
  return bytes;
}

/** A value that only goes up. */
export class Counter {
  /** The count so far. */
  value = 0;

  /** Adds `n` (default 1). */
  inc(n = 1): void {
    this.value += n;
  }
}

/** A value that goes up and down. */
export class Gauge {
  /** The current value. */
  value = 0;

  /** Adds `n` (default 1). */
  inc(n = 1): void {
    this.value += n;
  }

  /** Subtracts `n` (default 1). */
  dec(n = 1): void {
    this.value -= n;
  }
}

/** Observations counted into buckets by upper bound, with their sum and count. */
export class Histogram {
  /** The upper bounds of the buckets, ascending (`+Inf` is implied). */
  readonly bounds: readonly number[];
  /** Observations per bucket, not cumulative: the last one is above every bound. */
  readonly counts: number[];
  /** The sum of the observations. */
  sum = 0;
  /** How many observations there were. */
  count = 0;

  /** A histogram with buckets up to each of `bounds`. */
  constructor(bounds: readonly number[]) {
    this.bounds = bounds;
    this.counts = new Array(bounds.length + 1).fill(0);
  }

  /** Counts one observation of `value`. */
  observe(value: number): void {
    const bounds = this.bounds;
    let i = 0;
    while (i < bounds.length && value > bounds[i]) i++;
    this.counts[i]++;
    this.sum += value;
    this.count++;
  }
}

/** The kinds of metric the registry exposes. */
export type MetricType = "counter" | "gauge" | "histogram";

/** One labelled series: its label values, in the order of the family's names, and its value. */
export interface Series<T> {
  /** Its label values, in the order of the family's label names. */
  readonly values: readonly string[];
  /** Its counter, gauge or histogram. */
  readonly metric: T;
}

/** A metric and all its series, one per set of label values. */
export class Family<T extends Counter | Gauge | Histogram> {
  /** The metric's name, `mcp_proxy_…`, its unit last. */
  readonly name: string;
  /** What it measures, for `# HELP`. */
  readonly help: string;
  /** Its kind, for `# TYPE`. */
  readonly type: MetricType;
  /** The names of its labels, in the order {@linkcode with} takes their values. */
  readonly labelNames: readonly string[];
  readonly #series = new Map<string, Series<T>>();
  readonly #create: () => T;

  /** A family named `name`; `create` makes the metric of a new series. */
  constructor(
    name: string,
    help: string,
    type: MetricType,
    labelNames: readonly string[],
    create: () => T,
  ) {
    this.name = name;
    this.help = help;
    this.type = type;
    this.labelNames = labelNames;
    this.#create = create;
  }

  /** The series of the label `values` (in the order of the label names), made on first use. */
  with(...values: string[]): T {
    const key = values.length === 1 ? values[0] : values.join("\u0000");
    let series = this.#series.get(key);
    if (!series) {
      series = { values, metric: this.#create() };
      this.#series.set(key, series);
    }
    return series.metric;
  }

  /** Every series, for the exposition. */
  series(): Iterable<Series<T>> {
    return this.#series.values();
  }
}

/** A metric whose series are read when it is scraped, from state kept elsewhere. */
export interface Sampled {
  /** Its name (`mcp_proxy_…`). */
  readonly name: string;
  /** Its `# HELP` text. */
  readonly help: string;
  /** Its `# TYPE`. */
  readonly type: "counter" | "gauge";
  /** Its label names, in the order of each series' values. */
  readonly labelNames: readonly string[];
  /** Each series' label values and value, now. */
  readonly sample: () => Iterable<readonly [readonly string[], number]>;
}

/** The metrics of a process and their exposition. */
export class Registry {
  readonly #families: (Family<Counter | Gauge | Histogram> | Sampled)[] = [];

  /** Registers a counter family. */
  counter(name: string, help: string, labelNames: readonly string[] = []): Family<Counter> {
    return this.#add(new Family(name, help, "counter", labelNames, () => new Counter()));
  }

  /** Registers a gauge family. */
  gauge(name: string, help: string, labelNames: readonly string[] = []): Family<Gauge> {
    return this.#add(new Family(name, help, "gauge", labelNames, () => new Gauge()));
  }

  /** Registers a histogram family whose buckets end at `bounds` (ascending) and `+Inf`. */
  histogram(
    name: string,
    help: string,
    labelNames: readonly string[],
    bounds: readonly number[],
  ): Family<Histogram> {
    return this.#add(new Family(name, help, "histogram", labelNames, () => new Histogram(bounds)));
  }

  /** Registers a counter or gauge read by `sample` at each scrape. */
  sampled(metric: Sampled): void {
    this.#families.push(metric);
  }

  /** Every metric in the text exposition format 0.0.4, in the order they were registered. */
  expose(): string {
    let text = "";
    for (const family of this.#families) {
      text += `# HELP ${family.name} ${
        escapeHelp(family.help)
      }\n# TYPE ${family.name} ${family.type}\n`;
      if (family instanceof Family) {
        for (const { values, metric } of family.series()) {
          text += metric instanceof Histogram
            ? histogramLines(family.name, family.labelNames, values, metric)
            : sampleLine(family.name, labelText(family.labelNames, values), metric.value);
        }
      } else {
        for (const [values, value] of family.sample()) {
          text += sampleLine(family.name, labelText(family.labelNames, values), value);
        }
      }
    }
    return text;
  }

  #add<T extends Family<Counter | Gauge | Histogram>>(family: T): T {
    this.#families.push(family);
    return family;
  }
}

function histogramLines(
  name: string,
  labelNames: readonly string[],
  values: readonly string[],
  histogram: Histogram,
): string {
  let text = "";
  let cumulative = 0;
  const names = [...labelNames, "le"];
  histogram.bounds.forEach((bound, i) => {
    cumulative += histogram.counts[i];
    text += sampleLine(`${name}_bucket`, labelText(names, [...values, String(bound)]), cumulative);
  });
  text += sampleLine(`${name}_bucket`, labelText(names, [...values, "+Inf"]), histogram.count);
  const labels = labelText(labelNames, values);
  return text + sampleLine(`${name}_sum`, labels, histogram.sum) +
    sampleLine(`${name}_count`, labels, histogram.count);
}

function sampleLine(name: string, labels: string, value: number): string {
  return `${name}${labels} ${formatValue(value)}\n`;
}

/** `{name="value",...}`; a label whose value is empty is left out, as Prometheus reads it. */
function labelText(names: readonly string[], values: readonly string[]): string {
  const pairs: string[] = [];
  names.forEach((name, i) => {
    if (values[i]) pairs.push(`${name}="${escapeLabelValue(values[i])}"`);
  });
  return pairs.length === 0 ? "" : `{${pairs.join(",")}}`;
}

function formatValue(value: number): string {
  if (Number.isNaN(value)) return "NaN";
  if (value === Infinity) return "+Inf";
  if (value === -Infinity) return "-Inf";
  return String(value);
}

/** A label value as the format quotes it: backslash, double quote and line feed escaped. */
export function escapeLabelValue(value: string): string {
  return value.replaceAll("\\", "\\\\").replaceAll('"', '\\"').replaceAll("\n", "\\n");
}

function escapeHelp(help: string): string {
  return help.replaceAll("\\", "\\\\").replaceAll("\n", "\\n");
}
