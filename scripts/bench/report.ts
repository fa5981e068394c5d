/** The printed report of `npm run bench`: a table, the absolute numbers, and what could not be measured. */

/** One line of the table. */
export interface Row {
  work: string;
  appreg: string;
  baseline: string;
  /** appreg ÷ baseline, when there is a baseline. */
  ratio?: number;
  goal: string;
  /** Whether the goal is met; absent when there is no goal. */
  met?: boolean;
}

/** Renders the report as text. */
export function formatReport(r: { title: string; rows: Row[]; details: string[]; failures: Array<{ part: string; error: string }> }): string {
  const head = ['work', 'appreg', 'baseline', 'ratio', 'goal', 'met?'];
  const cells = r.rows.map((row) => [
    row.work,
    row.appreg,
    row.baseline,
    row.ratio === undefined ? '-' : row.ratio.toFixed(2),
    row.goal,
    row.met === undefined ? '-' : row.met ? 'yes' : 'NO',
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  // Text columns left, numbers right.
  const line = (c: string[]): string =>
    `| ${c.map((x, i) => (i === 0 || i === 5 ? x.padEnd(widths[i]!) : x.padStart(widths[i]!))).join(' | ')} |`;
  const out = [
    r.title,
    '',
    line(head),
    `|${widths.map((w, i) => (i === 0 || i === 5 ? `${'-'.repeat(w + 1)}-` : `-${'-'.repeat(w)}:`)).join('|')}|`,
    ...cells.map(line),
    '',
    ...r.details.map((d) => `- ${d}`),
  ];
  if (r.failures.length > 0) {
    out.push('', 'Not measured:');
    for (const f of r.failures) out.push(`- ${f.part}: ${f.error.split('\n').slice(0, 12).join('\n    ')}`);
  }
  return `${out.join('\n')}\n`;
}
