import { readFileSync } from 'node:fs';
import { FlowsFileError } from '../errors';

/** Reads and parses a flows file; every failure is a FlowsFileError naming the file and the cause. */
export function readFlowsFile(file: string): unknown {
  let source: string;
  try {
    source = readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a directory' : code === 'EACCES' ? 'permission denied' : (err as Error).message;
    throw new FlowsFileError(`cannot read ${file}: ${why}`);
  }
  try {
    return JSON.parse(source);
  } catch (err) {
    throw new FlowsFileError(`${file} is not JSON: ${(err as Error).message}`);
  }
}
