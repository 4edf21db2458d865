/** Render a Vega-Lite spec to an SVG string in plain Node (no browser, no canvas). */
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';

/**
 * A Vega/Vega-Lite logger that keeps warnings in `sink` instead of printing them: the CLI's stderr
 * belongs to the user, and tests assert the report's specs compile without any.
 */
function collectingLogger(sink: string[] | undefined): vega.LoggerInterface {
  let level = vega.Warn;
  const keep = (...args: readonly unknown[]): void => {
    sink?.push(args.map(String).join(' '));
  };
  const logger = {
    level(l?: number) {
      if (l === undefined) return level;
      level = l;
      return logger;
    },
    error(...args: readonly unknown[]) {
      keep(...args);
      return logger;
    },
    warn(...args: readonly unknown[]) {
      keep(...args);
      return logger;
    },
    info() {
      return logger;
    },
    debug() {
      return logger;
    },
  };
  return logger as unknown as vega.LoggerInterface;
}

/**
 * The SVG of one spec, ready to inline in HTML. Namespace declarations are removed: inline SVG in
 * HTML5 needs none, and it keeps the page free of any URL (the report must open offline).
 * Compiler and runtime warnings go to `warnings` when given, and nowhere otherwise.
 */
export async function renderSvg(spec: TopLevelSpec, warnings?: string[]): Promise<string> {
  const { $schema: _schema, ...rest } = spec as TopLevelSpec & { $schema?: string };
  const logger = collectingLogger(warnings);
  const compiled = compile(rest as TopLevelSpec, { logger }).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none', logger });
  try {
    const svg = await view.toSVG();
    return svg.replace(/\s+xmlns(:xlink)?="[^"]*"/g, '');
  } finally {
    view.finalize();
  }
}
