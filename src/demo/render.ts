/**
 * Terminal rendering for the demo: columns side by side, wrapped to the width, with plain
 * ANSI colours when the output is a terminal.
 */
export interface Style {
  bold(text: string): string;
  dim(text: string): string;
  green(text: string): string;
  red(text: string): string;
  cyan(text: string): string;
  yellow(text: string): string;
}

const code = (open: number, close: number) => (text: string) => `\u001b[${open}m${text}\u001b[${close}m`;
export const COLOURS: Style = { bold: code(1, 22), dim: code(2, 22), green: code(32, 39), red: code(31, 39), cyan: code(36, 39), yellow: code(33, 39) };
export const PLAIN: Style = { bold: (t) => t, dim: (t) => t, green: (t) => t, red: (t) => t, cyan: (t) => t, yellow: (t) => t };

// eslint-disable-next-line no-control-regex
const ANSI = /\u001b\[[0-9;]*m/g;
export const visibleLength = (text: string) => text.replace(ANSI, '').length;

/** Wraps plain text to a width, breaking at spaces where it can. */
export function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let rest = text;
  while (rest.length > width) {
    let cut = rest.lastIndexOf(' ', width);
    if (cut <= width / 3) cut = width;
    lines.push(rest.slice(0, cut));
    rest = rest.slice(cut).trimStart();
  }
  lines.push(rest);
  return lines;
}

export interface Cell {
  readonly text: string;
  /** Shown highlighted: new since the previous step. */
  readonly changed?: boolean;
  readonly tone?: 'dim' | 'red' | 'plain';
}

/** Columns of cells, each wrapped to its width, laid side by side. */
export function columns(headers: string[], cells: Cell[][], width: number, style: Style): string[] {
  const gap = 2;
  const colWidth = Math.max(12, Math.floor((width - gap * (headers.length - 1)) / headers.length));
  // A hanging indent: the first line carries the marker, the ones it wraps onto line up after it.
  const render = (cell: Cell): string[] =>
    wrap(cell.text, colWidth - 2).map((text, i) => {
      const line = `${i === 0 && cell.changed ? '+ ' : '  '}${text}`;
      if (cell.tone === 'red') return style.red(line);
      if (cell.tone === 'dim') return style.dim(line);
      return cell.changed ? style.green(line) : line;
    });
  const blocks = cells.map((column) => column.flatMap(render));
  const height = Math.max(...blocks.map((b) => b.length));
  const pad = (line: string) => line + ' '.repeat(Math.max(0, colWidth - visibleLength(line)));
  const out = [headers.map((h) => style.bold(pad(h.slice(0, colWidth)))).join(' '.repeat(gap)), headers.map(() => style.dim('─'.repeat(colWidth))).join(' '.repeat(gap))];
  for (let i = 0; i < height; i++)
    out.push(
      blocks
        .map((b) => pad(b[i] ?? ''))
        .join(' '.repeat(gap))
        .trimEnd(),
    );
  return out;
}

/** A plain table with a header row. */
export function table(headers: string[], rows: string[][], style: Style): string[] {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  return [style.bold(line(headers)), style.dim(widths.map((w) => '─'.repeat(w)).join('  ')), ...rows.map(line)];
}
