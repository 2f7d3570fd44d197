// `npm run bench [section ...]`: runs the benchmark sections in order, prints each table as it
// completes and, when every section ran, writes BENCHMARKS.md (machine, date, load, all tables).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { contextBench } from './context';
import { httpBench } from './http';
import { BenchSection, machine, renderSection } from './lib/report';
import { ensureTemplate } from './lib/setup';
import { linkBench } from './link';
import { overheadBench } from './overhead';

const SECTIONS: Array<{ name: string; run: () => Promise<BenchSection[]> }> = [
  { name: 'link', run: linkBench },
  { name: 'http', run: httpBench },
  { name: 'context', run: contextBench },
  { name: 'overhead', run: overheadBench },
];
const OUTPUT = path.join(__dirname, '..', 'BENCHMARKS.md');

const load = () => os.loadavg().map((l) => l.toFixed(2)).join(', ');

async function main(): Promise<void> {
  const names = process.argv.slice(2);
  const unknown = names.filter((n) => !SECTIONS.some((s) => s.name === n));
  if (unknown.length) {
    throw new Error(`unknown bench section ${unknown.map((n) => JSON.stringify(n)).join(', ')}: choose from ${SECTIONS.map((s) => s.name).join(', ')}`);
  }
  const chosen = names.length ? SECTIONS.filter((s) => names.includes(s.name)) : SECTIONS;
  const started = new Date();
  const loadBefore = load();
  console.log(`node-red-ha benchmarks: ${chosen.map((s) => s.name).join(', ')}\nMachine: ${machine()}\nLoad average at start: ${loadBefore}\n`);
  ensureTemplate();
  const rendered: string[] = [];
  for (const section of chosen) {
    const begin = Date.now();
    console.log(`running ${section.name} ...`);
    for (const result of await section.run()) {
      const text = renderSection(result);
      rendered.push(text);
      console.log(`\n${text}\n`);
    }
    console.log(`(${section.name}: ${((Date.now() - begin) / 1000).toFixed(0)} s)\n`);
  }
  const minutes = ((Date.now() - started.getTime()) / 60_000).toFixed(1);
  if (chosen.length !== SECTIONS.length || process.env.BENCH_QUICK === '1') {
    console.log(`BENCHMARKS.md not written: ${process.env.BENCH_QUICK === '1' ? 'BENCH_QUICK=1 shortens the runs' : 'only part of the sections ran'} (${minutes} min). Run \`npm run bench\` for the full set.`);
    return;
  }
  fs.writeFileSync(OUTPUT, [
    '# Benchmarks',
    '',
    `Written by \`npm run bench\` (bench/run.ts) on ${started.toISOString().replace(/\.\d+Z$/, 'Z')} in ${minutes} min; ` +
    'every figure in a table comes from this one run, its configurations measured side by side.',
    '',
    `Machine: ${machine()}. Load average (1, 5, 15 min) at start: ${loadBefore}; at the end: ${load()}.`,
    '',
    ...rendered.flatMap((text) => [text, '']),
  ].join('\n'));
  console.log(`wrote ${path.relative(process.cwd(), OUTPUT)} (${minutes} min)`);
}

main().then(() => process.exit(0), (err) => {
  console.error(err);
  process.exit(1);
});
